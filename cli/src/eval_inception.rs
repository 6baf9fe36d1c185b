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

/// Runs `rgan eval inception-features`: the images are read, checked and run `--batch-size` at
/// a time, and the features written as they come, so the memory stays that of one batch
/// whatever the number of images.
pub fn run(args: InceptionFeaturesArgs) -> Result<()> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let device = rgan::device::device_by_name(&args.device)?;
    let path = &args.images;
    let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file))
        .with_context(|| format!("{}: not a .npy file", path.display()))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let size = INCEPTION_INPUT_SIZE;
    if shape.len() != 4 || shape[1] != 3 || shape[2] != size || shape[3] != size || shape[0] == 0 {
        bail!(
            "{}: images have shape {shape:?}, expected [N, 3, {size}, {size}] (N ≥ 1, NCHW RGB in [-1, 1])",
            path.display()
        );
    }
    if npy.order() != npyz::Order::C {
        bail!("{}: the array is in Fortran order; write it in C order (numpy's default)", path.display());
    }
    let mut values =
        npy.data::<f32>().map_err(|e| anyhow::anyhow!("{}: expected float32 images ({e})", path.display()))?;
    // Loaded after the first batch passed its checks: a bad file fails without the weights.
    let mut net: Option<FidInceptionV3> = None;

    let n = shape[0];
    let per_image = 3 * size * size;
    let out = &args.out;
    let tmp = out.with_file_name(format!(
        ".{}.tmp-{}",
        out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| -> Result<()> {
        let writer = std::io::BufWriter::new(
            std::fs::File::create(&tmp).with_context(|| format!("{}: cannot write", out.display()))?,
        );
        use npyz::WriterBuilder;
        let mut features = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&[n as u64, INCEPTION_FEATURES as u64])
            .writer(writer)
            .begin_nd()?;
        let progress = ProgressBar::new(n as u64).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} images, {per_sec}, eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let mut batch = Vec::with_capacity(args.batch_size * per_image);
        for start in (0..n).step_by(args.batch_size) {
            let count = args.batch_size.min(n - start);
            batch.clear();
            for _ in 0..count * per_image {
                batch.push(values.next().context("the file ends before its last image")??);
            }
            check_range(&batch, start, per_image).with_context(|| path.display().to_string())?;
            if net.is_none() {
                net = Some(FidInceptionV3::load(&inception_weights_path(args.inception_weights.as_deref())?, &device)?);
            }
            let net = net.as_ref().expect("loaded above");
            let x = Tensor::<4>::from_data(TensorData::new(batch.clone(), [count, 3, size, size]), &device);
            let pool3 = net.features(x)?.into_data().convert::<f32>();
            features.extend(pool3.try_into_vec::<f32>().map_err(|e| anyhow::anyhow!("reading features: {e:?}"))?)?;
            progress.inc(count as u64);
        }
        features.finish()?;
        progress.finish_and_clear();
        std::fs::rename(&tmp, out).with_context(|| format!("{}: cannot be replaced", out.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    println!("wrote {n} × {INCEPTION_FEATURES} pool3 features to {}", out.display());
    Ok(())
}

/// Fails on the first value of a batch (images `first..`) that is NaN, infinite or outside
/// [-1, 1], naming the image, channel and pixel.
fn check_range(batch: &[f32], first: usize, per_image: usize) -> Result<()> {
    let size = INCEPTION_INPUT_SIZE;
    if let Some(i) = batch.iter().position(|v| !(-1.001..=1.001).contains(v)) {
        let (image, within) = (first + i / per_image, i % per_image);
        let (channel, pixel) = (within / (size * size), within % (size * size));
        bail!(
            "image {image}, channel {channel}, pixel ({}, {}) is {}: expected values in [-1, 1] (map [0, 1] images \
             with 2x − 1, [0, 255] ones with x / 127.5 − 1; NaN and infinite values are not allowed)",
            pixel / size,
            pixel % size,
            batch[i]
        );
    }
    Ok(())
}
