//! `rgan eval cifar`: the FID of a CIFAR-10 checkpoint's generator, 10,000 images against the
//! statistics of CIFAR-10's training set (computed once with the FID Inception network and
//! cached in pytorch-fid's `.npz` layout), the CIFAR-10 classifier score, and the Inception
//! Score when the Inception weights have their classifier; with `--real`, the same figures of
//! CIFAR-10's test set beside them.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rgan::data::{Cifar10, Split};
use rgan::eval::FidStatistics;
use rgan::eval::cifar::{
    CIFAR_FID_SAMPLES, CifarScorer, CifarScores, GeneratorDraw, INCEPTION_SCORE_SPLITS, cifar_statistics,
    score_cifar_images, score_generator,
};
use rgan::eval::cifar_classifier::CifarClassifier;
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
    /// The FID Inception weights [default: $RGAN_INCEPTION_WEIGHTS, else ~/.cache/rgan/]. With
    /// the 1008-way classifier (pytorch-fid's pt_inception-2015-12-05-6726825d.pth, or
    /// safetensors with fc.weight / fc.bias) the Inception Score is reported too.
    #[arg(long)]
    pub inception_weights: Option<PathBuf>,
    /// The Inception Score's splits.
    #[arg(long, default_value_t = INCEPTION_SCORE_SPLITS)]
    pub splits: usize,
    /// The CIFAR-10 classifier of the classifier score (burnpack from `rgan eval
    /// train-classifier --dataset cifar10`) [default: the one built into rgan].
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Also score CIFAR-10's 10,000 test images the same way (FID against the training set,
    /// classifier score, Inception Score): the real data's own figures.
    #[arg(long)]
    pub real: bool,
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

/// What the cached statistics depend on besides the data folder and the weights file: bump it
/// when the pixels or the features of the same files change. 2: JPEG decoded by libjpeg-turbo
/// as PIL does (`rgan::data::open_image`).
const STATISTICS_VERSION: u32 = 2;

/// The default cache file of a data folder's training-set statistics: named by a hash of the
/// folder, the weights file (its path, size and modification time) and [`STATISTICS_VERSION`],
/// so that other weights or another decoding never reuse stale statistics.
fn default_reference(data_dir: &Path, weights: &Path) -> Result<PathBuf> {
    let canonical = data_dir.canonicalize().with_context(|| format!("--data-dir {}", data_dir.display()))?;
    let weights_canonical =
        weights.canonicalize().with_context(|| format!("the Inception weights {}", weights.display()))?;
    let meta = std::fs::metadata(&weights_canonical).with_context(|| format!("{}", weights.display()))?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (canonical, weights_canonical, meta.len(), meta.modified().ok(), STATISTICS_VERSION).hash(&mut hasher);
    let dir = inception_cache_path()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .context("no cache folder (neither XDG_CACHE_HOME nor HOME is set): pass --reference-stats")?;
    Ok(dir.join(format!("cifar10-train-fid-{:016x}.npz", hasher.finish())))
}

/// The FID statistics of CIFAR-10's training set in `data_dir` by `net` (loaded from `weights`):
/// read from `explicit` (or the default cache file) when it exists, else computed (`batch`
/// images at a time) and written there. Returns them, their file, and whether they were
/// computed now.
pub fn reference_statistics(
    net: &FidInceptionV3,
    weights: &Path,
    data_dir: &Path,
    explicit: Option<&Path>,
    batch: usize,
    device: &burn::prelude::Device,
) -> Result<(FidStatistics, PathBuf, bool)> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => default_reference(data_dir, weights)?,
    };
    if path.is_file() {
        return Ok((FidStatistics::read_npz(&path)?, path, false));
    }
    let data = Cifar10::load(data_dir, Split::Train)
        .with_context(|| format!("loading CIFAR-10 from {}", data_dir.display()))?;
    eprintln!(
        "computing the FID statistics of CIFAR-10's {} training images (once; cached in {})",
        data.len(),
        path.display()
    );
    let bar = indicatif::ProgressBar::new(data.len() as u64);
    let stats = cifar_statistics(net, &data, batch, device, |done| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    write_statistics(&stats, &path)?;
    Ok((stats, path, true))
}

/// Writes FID statistics to a cache file (pytorch-fid's `.npz` layout), creating its folder.
pub(crate) fn write_statistics(stats: &FidStatistics, path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(stats.write_npz(path)?)
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
    let (reference, reference_path, computed) =
        reference_statistics(&net, &weights, &data_dir, args.reference_stats.as_deref(), args.batch_size, &device)?;
    let classifier = match &args.classifier {
        Some(path) => CifarClassifier::load(path, &device)?,
        None => CifarClassifier::pretrained(&device)?,
    };
    let splits = net.has_classifier().then_some(args.splits);
    if splits.is_none() {
        eprintln!(
            "no Inception Score: {} has no 1008-way classifier layer (pytorch-fid's \
             pt_inception-2015-12-05-6726825d.pth has it)",
            weights.display()
        );
    }
    let scorer = || CifarScorer::new(&net, Some(&classifier), splits);
    let mode = if args.moving_averages { BatchNormMode::MovingAverages } else { BatchNormMode::BatchStatistics };
    let bar = indicatif::ProgressBar::new(args.num as u64);
    let draw = GeneratorDraw { count: args.num, batch: args.batch_size, mode, seed: args.seed };
    let generated =
        score_generator(scorer()?, &generator, &inputs, draw, &device, |done| bar.set_position(done as u64))
            .with_context(|| format!("generating from {}", args.checkpoint.display()))?;
    bar.finish_and_clear();
    let real = if args.real {
        let test = Cifar10::load(&data_dir, Split::Test)
            .with_context(|| format!("loading CIFAR-10's test set from {}", data_dir.display()))?;
        let bar = indicatif::ProgressBar::new(test.len() as u64);
        let scores =
            score_cifar_images(scorer()?, &test, args.batch_size, &device, |done| bar.set_position(done as u64))?;
        bar.finish_and_clear();
        Some((test.len(), scores))
    } else {
        None
    };
    let json = |scores: &CifarScores| -> Result<serde_json::Value> {
        Ok(serde_json::json!({
            "fid": scores.statistics.frechet_distance(&reference).context("computing the Fréchet distance")?,
            "classifier_score": scores.classifier_score,
            "inception_score": scores.inception_score.map(|(mean, _)| mean),
            "inception_score_std": scores.inception_score.map(|(_, std)| std),
        }))
    };
    let ours = json(&generated)?;
    let step = checkpoint.step();
    if args.json {
        let mut out = serde_json::json!({
            "model": recipe.name(),
            "step": step,
            "num": args.num,
            "reference": reference_path,
            "reference_computed": computed,
            "batch_norm": if args.moving_averages { "moving averages" } else { "batch statistics" },
            "ema": args.ema,
            "inception_score_splits": splits,
        });
        merge(&mut out, ours);
        if let Some((count, scores)) = &real {
            let mut test = serde_json::json!({ "num": count });
            merge(&mut test, json(scores)?);
            out["real_test"] = test;
        }
        println!("{out}");
    } else {
        println!("{} at step {step}, {} generated images: {}", recipe.name(), args.num, describe(&ours));
        if let Some((count, scores)) = &real {
            println!("CIFAR-10's {count} test images: {}", describe(&json(scores)?));
        }
        println!("(FID against the statistics in {})", reference_path.display());
    }
    Ok(())
}

/// Adds the fields of `extra` (an object) to `out` (an object).
fn merge(out: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(out), serde_json::Value::Object(extra)) = (out.as_object_mut(), extra) {
        out.extend(extra);
    }
}

/// "FID 31.2, classifier score 6.1, Inception Score 5.9 ± 0.1" from [`run`]'s JSON fields.
fn describe(scores: &serde_json::Value) -> String {
    let number = |key: &str| scores[key].as_f64();
    let mut parts = vec![format!("FID {:.4}", number("fid").unwrap_or(f64::NAN))];
    if let Some(score) = number("classifier_score") {
        parts.push(format!("classifier score {score:.4}"));
    }
    if let (Some(mean), Some(std)) = (number("inception_score"), number("inception_score_std")) {
        parts.push(format!("Inception Score {mean:.4} ± {std:.4}"));
    }
    parts.join(", ")
}
