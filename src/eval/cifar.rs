//! CIFAR-10 evaluation: the FID of a generator's images against the statistics of CIFAR-10's
//! training set, with the FID Inception network ([`FidInceptionV3`]).
//!
//! - Real images go through pytorch-fid's pipeline exactly: the 8-bit pixels (as the files or
//!   binary records hold them) scaled to `[0, 1]`, resized bilinearly to 299×299, mapped to
//!   `[-1, 1]` ([`preprocess`] with [`InputRange::ZeroTo255`]). Their statistics are what
//!   pytorch-fid computes on the same images, so a `.npz` written here compares with its own.
//! - Generated images in `[-1, 1]` go through the same resize without quantization to 8 bits (as
//!   TF-GAN feeds float images to its Inception network).
//! - The protocol of TTUR and most papers: 10,000 generated images ([`CIFAR_FID_SAMPLES`]) against
//!   all 50,000 training images; the conditional model's labels cycle through the classes, so
//!   every class is drawn equally often.

use burn::prelude::*;

use super::fid_statistics::FidStatistics;
use super::frechet::ActivationMoments;
use super::inception::{FidInceptionV3, InputRange, preprocess};
use crate::data::Cifar10;
use crate::error::{Result, RganError};
use crate::model::{BatchNormMode, GanGenerator, NoiseInputs};
use crate::rng::Rng;

/// Generated images of a CIFAR-10 FID: 10,000, as TTUR's and most papers' protocol.
pub const CIFAR_FID_SAMPLES: usize = 10_000;

/// The FID statistics of every image of `data` (`batch` at a time); `progress` is called with
/// the number of images done after each batch.
pub fn cifar_statistics(
    net: &FidInceptionV3,
    data: &Cifar10,
    batch: usize,
    device: &Device,
    mut progress: impl FnMut(usize),
) -> Result<FidStatistics> {
    if batch == 0 {
        return Err(RganError::invalid("batch_size", "must be at least 1"));
    }
    let mut moments = ActivationMoments::new();
    let image_bytes = 3 * 32 * 32;
    for start in (0..data.len()).step_by(batch) {
        let count = batch.min(data.len() - start);
        let bytes = &data.pixels[start * image_bytes..(start + count) * image_bytes];
        let values: Vec<f32> = bytes.iter().map(|&b| b as f32).collect();
        let images = Tensor::<4>::from_data(TensorData::new(values, [count, 3, 32, 32]), device);
        moments.update(&net.features(preprocess(images, InputRange::ZeroTo255)?)?)?;
        progress(start + count);
    }
    FidStatistics::from_moments(&moments)
}

/// The FID statistics of `count` images of `generator` (inputs drawn by `inputs` from `seed`;
/// labels, for a conditional generator, cycling through the classes), `batch` at a time, with
/// the batch norm in `mode`; `progress` is called with the images done after each batch.
/// Errors on NaN or infinite pixels, naming the batch.
#[allow(clippy::too_many_arguments)]
pub fn generator_statistics<G: GanGenerator>(
    net: &FidInceptionV3,
    generator: &G,
    inputs: &NoiseInputs,
    count: usize,
    batch: usize,
    mode: BatchNormMode,
    seed: u64,
    device: &Device,
    mut progress: impl FnMut(usize),
) -> Result<FidStatistics> {
    if batch == 0 || count < 2 {
        return Err(RganError::invalid(
            if batch == 0 { "batch_size" } else { "num" },
            "must be at least 1 (batch) and 2 (images: a covariance needs two)",
        ));
    }
    let mut rng = Rng::seed_from_u64(seed);
    let mut moments = ActivationMoments::new();
    for start in (0..count).step_by(batch) {
        let n = batch.min(count - start);
        let images = generator.generate_with(&inputs.random(n, start, &mut rng, device), mode)?;
        if !crate::model::all_finite(&images) {
            return Err(RganError::invalid(
                "generator",
                format!("made NaN or infinite pixels in images {start}..{}: its weights diverged", start + n),
            ));
        }
        moments.update(&net.features(preprocess(images, InputRange::MinusOneToOne)?)?)?;
        progress(start + n);
    }
    FidStatistics::from_moments(&moments)
}
