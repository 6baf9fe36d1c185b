//! `rgan bench`: time rgan's hot paths on this machine (see `rgan::bench` and
//! `docs/BENCHMARKS.md`).
//!
//! ```text
//! rgan bench mnist-step [--iters 20] [--warmup 3] [--json]
//! rgan bench wgan-gp-step [--iters 20] [--warmup 3] [--json]
//! rgan bench fid-features [--batch-size 16] [--inception-weights FILE] [--json]
//! ```

use std::path::PathBuf;

use anyhow::{Context, Result};
use rgan::bench::{BenchConfig, BenchReport, fid_features, mnist_step, wgan_gp_step};
use rgan::eval::inception::inception_weights_path;

/// What to benchmark.
#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// One iteration of TF-GAN's MNIST GAN: a discriminator step, then a generator step (batch 32).
    MnistStep(BenchArgs),
    /// The same iteration as a WGAN-GP: critic without batch norm, exact gradient penalty λ = 10.
    WganGpStep(BenchArgs),
    /// FID Inception-v3 pool3 features of 299×299 images.
    FidFeatures(FidBenchArgs),
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
            "{}: {:.1} ms/iter (median of {}, fastest {:.1}), {:.1} GFLOP/s, {:.1} images/s, peak RSS {}",
            report.bench,
            report.ms_per_iter,
            report.iters,
            fastest,
            report.gflops,
            report.images_per_sec,
            report.peak_rss_mb.map_or("n/a".to_string(), |mb| format!("{mb:.0} MiB")),
        );
    }
    Ok(())
}

/// Runs `rgan bench …`.
pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::MnistStep(args) => {
            let device = rgan::device::device_by_name(&args.device)?;
            print(&mnist_step(&config(&args, 32), &device)?, args.json)
        }
        BenchCommand::WganGpStep(args) => {
            let device = rgan::device::device_by_name(&args.device)?;
            print(&wgan_gp_step(&config(&args, 32), &device)?, args.json)
        }
        BenchCommand::FidFeatures(args) => {
            let device = rgan::device::device_by_name(&args.common.device)?;
            let weights = inception_weights_path(args.inception_weights.as_deref())
                .context("the FID benchmark needs the Inception weights")?;
            print(&fid_features(&config(&args.common, args.batch_size), &weights, &device)?, args.common.json)
        }
    }
}
