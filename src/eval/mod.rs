//! Evaluation of generated images: an MNIST classifier of rgan's own for TF-GAN's MNIST score and Fréchet distances.

pub mod mnist_classifier;
