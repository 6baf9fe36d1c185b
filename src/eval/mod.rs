//! Evaluating GANs (TF-GAN's `tfgan.eval`): the FID Inception-v3 network, rgan's own MNIST
//! classifier, and the metrics computed from their outputs.

pub mod inception;
pub mod mnist_classifier;
