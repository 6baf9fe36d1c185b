//! Evaluating GANs: the FID Inception-v3 network and the metrics built on its features.

pub mod inception;
