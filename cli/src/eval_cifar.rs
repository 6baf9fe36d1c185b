//! `rgan eval cifar`: the FID of a CIFAR-10 checkpoint's generator, 10,000 images against the
//! statistics of CIFAR-10's training set (computed once with the FID Inception network and
//! cached in pytorch-fid's `.npz` layout).

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rgan::data::{Cifar10, Split};
use rgan::eval::FidStatistics;
use rgan::eval::cifar::{CIFAR_FID_SAMPLES, cifar_statistics, generator_statistics};
use rgan::eval::inception::{FidInceptionV3, inception_cache_path, inception_weights_path};
use rgan::model::BatchNormMode;
use rgan::recipes::{Recipe, load_noise_generator};
use rgan::train::Checkpoint;

#[derive(clap::Args, Debug)]
pub struct CifarEvalArgs {
    /// A checkpoint folder of `rgan train cifar`, or its log folder (the newest checkpoint).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Generated images (the usual protocol: 10000).
    #[arg(long, default_value_t = CIFAR_FID_SAMPLES)]
    pub num: usize,
    /// Images per Inception forward pass.
    #[arg(long, default_value_t = 50)]
    pub batch_size: usize,
    /// CIFAR-10 (binary files or train/<class>/ folders) for the reference statistics
    /// [default: $RGAN_DATA_DIR, else <repo>/../shared/datasets/cifar10].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The reference statistics (.npz, pytorch-fid's layout): read if the file exists, else
    /// computed from the training set and written there [default: a file per data folder in
    /// ~/.cache/rgan/].
    #[arg(long)]
    pub reference_stats: Option<PathBuf>,
    /// The FID Inception weights [default: $RGAN_INCEPTION_WEIGHTS, else ~/.cache/rgan/].
    #[arg(long)]
    pub inception_weights: Option<PathBuf>,
    /// Evaluate the generator's moving average (runs trained with --ema-decay).
    #[arg(long)]
    pub ema: bool,
    /// Batch norm with the moving averages (TF-GAN's is_training=False) instead of each batch's
    /// statistics (what `rgan sample` does by default).
    #[arg(long)]
    pub moving_averages: bool,
    /// Seed of the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compute device: cpu, cuda or wgpu.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The default cache file of a data folder's training-set statistics.
fn default_reference(data_dir: &Path) -> Result<PathBuf> {
    let canonical = data_dir.canonicalize().with_context(|| format!("--data-dir {}", data_dir.display()))?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    canonical.hash(&mut hasher);
    let dir = inception_cache_path()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .context("no cache folder (neither XDG_CACHE_HOME nor HOME is set): pass --reference-stats")?;
    Ok(dir.join(format!("cifar10-train-fid-{:016x}.npz", hasher.finish())))
}

pub fn run(args: CifarEvalArgs) -> Result<()> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    if args.num < 2 {
        bail!("--num must be at least 2 (a covariance needs two images)");
    }
    let device = rgan::device::device_by_name(&args.device)?;
    let checkpoint = Checkpoint::open(&args.checkpoint)?;
    let (generator, inputs, recipe) = load_noise_generator(&args.checkpoint, args.ema, &device)?;
    if !matches!(recipe, Recipe::Cifar(_)) {
        bail!(
            "--checkpoint {}: holds a {}; `rgan eval cifar` evaluates runs of `rgan train cifar`",
            args.checkpoint.display(),
            recipe.name()
        );
    }
    let weights = inception_weights_path(args.inception_weights.as_deref())?;
    let net = FidInceptionV3::load(&weights, &device)?;
    let data_dir = crate::data_dir(args.data_dir.as_deref(), "cifar10");
    let reference_path = match &args.reference_stats {
        Some(path) => path.clone(),
        None => default_reference(&data_dir)?,
    };
    let (reference, computed) = if reference_path.is_file() {
        (FidStatistics::read_npz(&reference_path)?, false)
    } else {
        let data = Cifar10::load(&data_dir, Split::Train)
            .with_context(|| format!("loading CIFAR-10 from {}", data_dir.display()))?;
        eprintln!(
            "computing the FID statistics of CIFAR-10's {} training images (once; cached in {})",
            data.len(),
            reference_path.display()
        );
        let bar = indicatif::ProgressBar::new(data.len() as u64);
        let stats = cifar_statistics(&net, &data, args.batch_size, &device, |done| bar.set_position(done as u64))?;
        bar.finish_and_clear();
        if let Some(parent) = reference_path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        stats.write_npz(&reference_path)?;
        (stats, true)
    };
    let mode = if args.moving_averages { BatchNormMode::MovingAverages } else { BatchNormMode::BatchStatistics };
    let bar = indicatif::ProgressBar::new(args.num as u64);
    let generated =
        generator_statistics(&net, &generator, &inputs, args.num, args.batch_size, mode, args.seed, &device, |done| {
            bar.set_position(done as u64)
        })
        .with_context(|| format!("generating from {}", args.checkpoint.display()))?;
    bar.finish_and_clear();
    let fid = generated.frechet_distance(&reference).context("computing the Fréchet distance")?;
    let step = checkpoint.step();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "model": recipe.name(),
                "step": step,
                "fid": fid,
                "num": args.num,
                "reference": reference_path,
                "reference_computed": computed,
                "batch_norm": if args.moving_averages { "moving averages" } else { "batch statistics" },
                "ema": args.ema,
            })
        );
    } else {
        println!(
            "{} at step {step}: FID {fid:.4} ({} generated images against the statistics in {})",
            recipe.name(),
            args.num,
            reference_path.display()
        );
    }
    Ok(())
}
