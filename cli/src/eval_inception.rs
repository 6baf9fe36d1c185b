//! `rgan eval inception-features`: the FID Inception-v3 pool3 features of images in a `.npy`
//! file.
//!
//! ```text
//! rgan eval inception-features --images images.npy --out features.npy
//!     [--inception-weights fid_inception_v3.safetensors] [--batch-size 16] [--device cpu|cuda|wgpu]
//! ```
//!
//! The images are float32 `[N, 3, 299, 299]` (NCHW, RGB) in [-1, 1], i.e. already through
//! pytorch-fid's preprocessing (`rgan::eval::inception::preprocess`); the output is float32
//! `[N, 2048]`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use burn::tensor::TensorData;
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array2, ArrayD};
use rgan::eval::inception::{FidInceptionV3, INCEPTION_FEATURES, INCEPTION_INPUT_SIZE, inception_weights_path};

/// Arguments of `rgan eval inception-features`.
#[derive(clap::Args, Debug)]
pub struct InceptionFeaturesArgs {
    /// Images as float32 .npy, shape [N, 3, 299, 299] (NCHW, RGB), values in [-1, 1].
    #[arg(long)]
    pub images: PathBuf,
    /// Where to write the pool3 features: float32 .npy, shape [N, 2048].
    #[arg(long)]
    pub out: PathBuf,
    /// The weights fid_inception_v3.safetensors (default: $RGAN_INCEPTION_WEIGHTS, else
    /// $XDG_CACHE_HOME/rgan/ or ~/.cache/rgan/fid_inception_v3.safetensors).
    #[arg(long)]
    pub inception_weights: Option<PathBuf>,
    /// Images per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Compute device: cpu, cuda or wgpu (the GPU ones need rgan built with that feature).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Runs `rgan eval inception-features`.
pub fn run(args: InceptionFeaturesArgs) -> Result<()> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let device = rgan::device::device_by_name(&args.device)?;
    let images: ArrayD<f32> = ndarray_npy::read_npy(&args.images)
        .with_context(|| format!("{}: cannot read a float32 .npy array", args.images.display()))?;
    let shape = images.shape().to_vec();
    let size = INCEPTION_INPUT_SIZE;
    if shape.len() != 4 || shape[1] != 3 || shape[2] != size || shape[3] != size || shape[0] == 0 {
        bail!(
            "{}: images have shape {shape:?}, expected [N, 3, {size}, {size}] (N ≥ 1, NCHW RGB in [-1, 1])",
            args.images.display()
        );
    }
    let (lo, hi) = images.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if !(lo >= -1.001 && hi <= 1.001) {
        bail!(
            "{}: values lie in [{lo}, {hi}], expected [-1, 1] (map [0, 1] images with 2x − 1, \
             [0, 255] ones with x / 127.5 − 1; NaN is not allowed)",
            args.images.display()
        );
    }
    let weights = inception_weights_path(args.inception_weights.as_deref())?;
    let net = FidInceptionV3::load(&weights, &device)?;

    let n = shape[0];
    let per_image = 3 * size * size;
    let values = images.as_standard_layout();
    let values = values.as_slice().context("images are not contiguous")?;
    let progress = ProgressBar::new(n as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} images, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut features = Vec::with_capacity(n * INCEPTION_FEATURES);
    for start in (0..n).step_by(args.batch_size) {
        let count = args.batch_size.min(n - start);
        let batch = values[start * per_image..(start + count) * per_image].to_vec();
        let batch = Tensor::<4>::from_data(TensorData::new(batch, [count, 3, size, size]), &device);
        let pool3 = net.features(batch)?.into_data().convert::<f32>();
        features.extend(pool3.try_into_vec::<f32>().map_err(|e| anyhow::anyhow!("reading features: {e:?}"))?);
        progress.inc(count as u64);
    }
    progress.finish_and_clear();
    let features = Array2::from_shape_vec((n, INCEPTION_FEATURES), features)?;
    ndarray_npy::write_npy(&args.out, &features).with_context(|| format!("{}: cannot write", args.out.display()))?;
    println!("wrote {n} × {INCEPTION_FEATURES} pool3 features to {}", args.out.display());
    Ok(())
}
