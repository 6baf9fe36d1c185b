//! `rgan bench`: time rgan's hot paths on this machine (see `rgan::bench` and
//! `docs/BENCHMARKS.md`).
//!
//! ```text
//! rgan bench mnist-step [--iters 20] [--warmup 3] [--json]
//! rgan bench wgan-gp-step [--iters 20] [--warmup 3] [--json]
//! rgan bench cifar-step [--iters 20] [--warmup 3] [--batch-size 32] [--json] [--write-check DIR]
//! rgan bench pix2pix-step|cyclegan-step|stargan-step|compression-step [--iters 5] [--batch-size N] [--json]
//! rgan bench fid-features [--batch-size 16] [--inception-weights FILE] [--json]
//! rgan bench fid-stats [--iters 3] [--warmup 1] [--json] [--write-inputs DIR]
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::tensor::{DType, TensorData};
use rgan::bench::{
    BenchConfig, BenchReport, CIFAR_CHECK_STEPS, FID_STATS_DIMS, FID_STATS_SAMPLES, cifar_step, cifar_step_check,
    compression_step, cyclegan_step, fid_features, fid_stats, fid_stats_inputs, mnist_step, pix2pix_step, stargan_step,
    wgan_gp_step,
};
use rgan::eval::HostMatrix;
use rgan::eval::inception::inception_weights_path;

/// What to benchmark.
#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// One iteration of TF-GAN's MNIST GAN: a discriminator step, then a generator step.
    MnistStep(StepBenchArgs),
    /// The same iteration as a WGAN-GP: critic without batch norm, exact gradient penalty λ = 10.
    WganGpStep(StepBenchArgs),
    /// One step of TF-GAN's CIFAR-10 DCGAN as `rgan train cifar` runs it: a generator update,
    /// then a discriminator update with Wasserstein losses and the exact gradient penalty.
    CifarStep(CifarStepArgs),
    /// One step of `rgan train pix2pix` at its defaults: 256×256 RGB pairs, batch 1.
    Pix2pixStep(ImageStepArgs),
    /// One step of `rgan train cyclegan` at TF-GAN's patch size: 64×64, batch 1.
    CycleganStep(ImageStepArgs),
    /// One step of `rgan train stargan` at TF-GAN's size: 128×128, 5 domains, batch 6 (a generator
    /// update, then 5 critic updates with the exact penalty).
    StarganStep(ImageStepArgs),
    /// One step of `rgan train compression`: 32×32 patches, 1230 bits, batch 32.
    CompressionStep(ImageStepArgs),
    /// FID Inception-v3 pool3 features of 299×299 images.
    FidFeatures(FidBenchArgs),
    /// The Fréchet distance of two sets of 5000 activations of 2048 features: both means and
    /// covariances, then the distance (f64, multi-threaded), as `rgan eval fid` on two .npy files.
    FidStats(FidStatsArgs),
}

/// Options shared by the benchmarks.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Timed iterations (the report gives their median).
    #[arg(long, default_value_t = 20)]
    pub iters: usize,
    /// Untimed iterations first.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Seed of the weights and inputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object: ms_per_iter (median), iters, gflops, images_per_sec, peak_rss_mb.
    #[arg(long)]
    pub json: bool,
    /// Compute device: cpu, cuda or wgpu (the GPU ones need rgan built with that feature).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Options of `rgan bench mnist-step`, `wgan-gp-step` and `cifar-step`.
#[derive(clap::Args, Debug)]
pub struct StepBenchArgs {
    #[command(flatten)]
    pub common: BenchArgs,
    /// Images per step (real and generated alike).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
}

/// Options of the image-to-image step benchmarks.
#[derive(clap::Args, Debug)]
pub struct ImageStepArgs {
    #[command(flatten)]
    pub common: BenchArgs,
    /// Examples per step [default: the example's: pix2pix and CycleGAN 1, StarGAN 6,
    /// compression 32].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: Option<u32>,
}

/// Options of `rgan bench cifar-step`.
#[derive(clap::Args, Debug)]
pub struct CifarStepArgs {
    #[command(flatten)]
    pub step: StepBenchArgs,
    /// Only write what the references need to check their losses against rgan's to
    /// DIR/cifar_step_check.npz (the initial weights, the inputs and the losses of the first two
    /// steps at --batch-size and --seed; see `rgan::bench::cifar_step_check`), for
    /// bench/reference/{torch,tf}_cifar_step.py --check; times nothing.
    #[arg(long, value_name = "DIR")]
    pub write_check: Option<PathBuf>,
}

/// Options of `rgan bench fid-features`.
#[derive(clap::Args, Debug)]
pub struct FidBenchArgs {
    #[command(flatten)]
    pub common: BenchArgs,
    /// Images per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// The weights fid_inception_v3.safetensors (default: $RGAN_INCEPTION_WEIGHTS, else
    /// $XDG_CACHE_HOME/rgan/ or ~/.cache/rgan/fid_inception_v3.safetensors).
    #[arg(long)]
    pub inception_weights: Option<PathBuf>,
}

/// Options of `rgan bench fid-stats`.
#[derive(clap::Args, Debug)]
pub struct FidStatsArgs {
    /// Timed iterations (the report gives their median).
    #[arg(long, default_value_t = 3)]
    pub iters: usize,
    /// Untimed iterations first.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Seed of the activations.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Activations per set.
    #[arg(long, default_value_t = FID_STATS_SAMPLES)]
    pub samples: usize,
    /// Features per activation.
    #[arg(long, default_value_t = FID_STATS_DIMS)]
    pub dims: usize,
    /// Print one JSON object: ms_per_iter (median), iters, gflops, images_per_sec, peak_rss_mb,
    /// fid, and the medians of its two steps stats_ms (means and covariances) and frechet_ms.
    #[arg(long)]
    pub json: bool,
    /// Only write the two activation sets to DIR/activations1.npy and DIR/activations2.npy
    /// (float64 [samples, dims]), for the reference bench/reference/torch_fid_stats.py; times
    /// nothing.
    #[arg(long, value_name = "DIR")]
    pub write_inputs: Option<PathBuf>,
}

/// Writes `m` as a float64 .npy matrix.
fn write_npy(m: &HostMatrix, path: &Path) -> Result<()> {
    let array = ndarray::Array2::from_shape_vec((m.rows, m.cols), m.data.clone())?;
    ndarray_npy::write_npy(path, &array).with_context(|| format!("--write-inputs: cannot write {}", path.display()))
}

/// The file `rgan bench cifar-step --write-check DIR` writes in DIR.
pub const CIFAR_CHECK_FILE: &str = "cifar_step_check.npz";

/// Writes named arrays (float32 or float64) as one .npz file.
fn write_npz(arrays: &[(String, TensorData)], path: &Path) -> Result<()> {
    let context = || format!("--write-check: cannot write {}", path.display());
    let file = std::fs::File::create(path).with_context(context)?;
    let mut npz = ndarray_npy::NpzWriter::new(file);
    for (name, data) in arrays {
        let shape = ndarray::IxDyn(data.shape().as_slice());
        if data.dtype() == DType::F64 {
            let array = ndarray::ArrayD::from_shape_vec(shape, data.try_to_vec::<f64>().map_err(data_error)?)?;
            npz.add_array(name.as_str(), &array).with_context(context)?;
        } else {
            let values = data.clone().convert::<f32>().try_to_vec::<f32>().map_err(data_error)?;
            npz.add_array(name.as_str(), &ndarray::ArrayD::from_shape_vec(shape, values)?).with_context(context)?;
        }
    }
    npz.finish().with_context(context)?;
    Ok(())
}

fn data_error(e: burn::tensor::DataError) -> anyhow::Error {
    anyhow::anyhow!("--write-check: {e:?}")
}

fn config(args: &BenchArgs, batch_size: usize) -> BenchConfig {
    BenchConfig { warmup: args.warmup, iters: args.iters, batch_size, seed: args.seed }
}

fn print(report: &BenchReport, json: bool) -> Result<()> {
    if json {
        let mut value = serde_json::to_value(report)?;
        if let Some(object) = value.as_object_mut() {
            object.remove("times_ms");
        }
        println!("{value}");
    } else {
        let fastest = report.times_ms.iter().cloned().fold(f64::INFINITY, f64::min);
        println!(
            "{}: {:.1} ms/iter (median of {}, fastest {:.1}), {:.1} GFLOP/s, {:.1} images/s, peak RSS {}{}",
            report.bench,
            report.ms_per_iter,
            report.iters,
            fastest,
            report.gflops,
            report.images_per_sec,
            report.peak_rss_mb.map_or("n/a".to_string(), |mb| format!("{mb:.0} MiB")),
            report.fid.map_or(String::new(), |fid| format!(
                ", FID {fid:.10} (means and covariances {:.1} ms, distance {:.1} ms)",
                report.stats_ms.unwrap_or(f64::NAN),
                report.frechet_ms.unwrap_or(f64::NAN)
            )),
        );
    }
    Ok(())
}

fn image_step(
    bench: fn(&BenchConfig, &burn::prelude::Device) -> rgan::Result<BenchReport>,
    args: &BenchArgs,
    batch_size: usize,
) -> Result<()> {
    let device = rgan::device::device_by_name(&args.device)?;
    print(&bench(&config(args, batch_size), &device)?, args.json)
}

/// Runs `rgan bench …`.
pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::MnistStep(args) => {
            let device = rgan::device::device_by_name(&args.common.device)?;
            print(&mnist_step(&config(&args.common, args.batch_size as usize), &device)?, args.common.json)
        }
        BenchCommand::WganGpStep(args) => {
            let device = rgan::device::device_by_name(&args.common.device)?;
            print(&wgan_gp_step(&config(&args.common, args.batch_size as usize), &device)?, args.common.json)
        }
        BenchCommand::CifarStep(args) => {
            let device = rgan::device::device_by_name(&args.step.common.device)?;
            let config = config(&args.step.common, args.step.batch_size as usize);
            if let Some(dir) = &args.write_check {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("--write-check: cannot create {}", dir.display()))?;
                let arrays = cifar_step_check(&config, CIFAR_CHECK_STEPS, &device)?;
                return write_npz(&arrays, &dir.join(CIFAR_CHECK_FILE));
            }
            print(&cifar_step(&config, &device)?, args.step.common.json)
        }
        BenchCommand::Pix2pixStep(args) => {
            image_step(pix2pix_step, &args.common, args.batch_size.map_or(1, |b| b as usize))
        }
        BenchCommand::CycleganStep(args) => {
            image_step(cyclegan_step, &args.common, args.batch_size.map_or(1, |b| b as usize))
        }
        BenchCommand::StarganStep(args) => {
            image_step(stargan_step, &args.common, args.batch_size.map_or(6, |b| b as usize))
        }
        BenchCommand::CompressionStep(args) => {
            image_step(compression_step, &args.common, args.batch_size.map_or(32, |b| b as usize))
        }
        BenchCommand::FidFeatures(args) => {
            let device = rgan::device::device_by_name(&args.common.device)?;
            let weights = inception_weights_path(args.inception_weights.as_deref())
                .context("the FID benchmark needs the Inception weights")?;
            print(&fid_features(&config(&args.common, args.batch_size), &weights, &device)?, args.common.json)
        }
        BenchCommand::FidStats(args) => {
            let inputs = fid_stats_inputs(args.samples, args.dims, args.seed)?;
            if let Some(dir) = &args.write_inputs {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("--write-inputs: cannot create {}", dir.display()))?;
                for (m, name) in inputs.iter().zip(["activations1.npy", "activations2.npy"]) {
                    write_npy(m, &dir.join(name))?;
                }
                return Ok(());
            }
            let config = BenchConfig { warmup: args.warmup, iters: args.iters, batch_size: 1, seed: args.seed };
            print(&fid_stats(&config, &inputs)?, args.json)
        }
    }
}
