//! `rgan vanilla`: the original GAN (Goodfellow et al. 2014) on MNIST, with the flags of the
//! popular vanilla-GAN scripts:
//!
//! ```text
//! rgan vanilla --outdir DIR --encoding_dims 100 [--epochs 50] [--batch_size 128]
//!              [--learning_rate 2e-4] [--beta_1 0.5]
//! ```
//!
//! Kebab-case spellings (`--batch-size`, `--learning-rate`, `--beta-1`, `--encoding-dims`) are
//! accepted too. MNIST is read from `$RGAN_DATA_DIR`, else `<repo>/../shared/datasets/mnist`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rgan::data::{Mnist, Split};
use rgan::recipes::vanilla::{VanillaGanConfig, VanillaStep, train_vanilla_on};

/// The vanilla GAN's command-line arguments.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct VanillaArgs {
    /// Passes over MNIST's 60000 training images.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Images per step (the last incomplete batch of an epoch is dropped).
    #[arg(long = "batch_size", alias = "batch-size", default_value_t = 128)]
    pub batch_size: usize,
    /// Output folder: epoch_NNN.png grids, training.gif, generator_loss.png,
    /// discriminator_loss.png, losses.csv and checkpoints/.
    #[arg(long)]
    pub outdir: PathBuf,
    /// Adam's learning rate (both networks).
    #[arg(long = "learning_rate", alias = "learning-rate", default_value = "2e-4")]
    pub learning_rate: f64,
    /// Adam's beta_1 (both networks).
    #[arg(long = "beta_1", alias = "beta-1", default_value = "0.5")]
    pub beta_1: f64,
    /// Size of the generator's noise vector z (e.g. 100).
    #[arg(long = "encoding_dims", alias = "encoding-dims")]
    pub encoding_dims: usize,
    /// MNIST folder (default: $RGAN_DATA_DIR, else <repo>/../shared/datasets/mnist).
    #[arg(long, hide = true)]
    pub data_dir: Option<PathBuf>,
    /// Train on the first N images only.
    #[arg(long, hide = true)]
    pub limit: Option<usize>,
    /// Seed of every random draw.
    #[arg(long, hide = true, default_value_t = 0)]
    pub seed: u64,
    /// Compute device: cpu, cuda or wgpu.
    #[arg(long, hide = true, default_value = "cpu")]
    pub device: String,
}

impl VanillaArgs {
    /// The library configuration these flags describe.
    pub fn config(&self) -> VanillaGanConfig {
        VanillaGanConfig::new()
            .with_epochs(self.epochs)
            .with_batch_size(self.batch_size)
            .with_learning_rate(self.learning_rate)
            .with_beta_1(self.beta_1)
            .with_encoding_dims(self.encoding_dims)
            .with_seed(self.seed)
    }
}

/// Trains the vanilla GAN with a progress bar and prints where its outputs are.
pub fn run(args: VanillaArgs) -> Result<()> {
    let config = args.config();
    config.check()?;
    let dir = crate::data_dir(args.data_dir.as_deref(), "mnist");
    let mut data = Mnist::load(&dir, Split::Train).with_context(|| format!("loading MNIST from {}", dir.display()))?;
    if let Some(limit) = args.limit {
        data = data.truncated(limit);
    }
    let device = rgan::device::device_by_name(&args.device)?;
    let steps_per_epoch = data.len() / config.batch_size.max(1);
    eprintln!(
        "training a vanilla GAN on {} MNIST images from {} ({} epochs of {} steps, batch {}, z {}, Adam lr {} beta_1 {}), \
         outputs in {}",
        data.len(),
        dir.display(),
        config.epochs,
        steps_per_epoch,
        config.batch_size,
        config.encoding_dims,
        config.learning_rate,
        config.beta_1,
        args.outdir.display()
    );
    let bar = ProgressBar::new((config.epochs * steps_per_epoch) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed_precise} < {eta_precise}]")
            .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    let (mut d_sum, mut g_sum) = (0.0, 0.0);
    let summary = train_vanilla_on(&config, &data, &args.outdir, &device, |s: &VanillaStep| {
        bar.set_position(s.step as u64);
        bar.set_message(format!(
            "epoch {}/{} step {}/{} d_loss {:.4} g_loss {:.4}",
            s.epoch, s.epochs, s.step_in_epoch, s.steps_per_epoch, s.discriminator_loss, s.generator_loss
        ));
        d_sum += s.discriminator_loss;
        g_sum += s.generator_loss;
        if s.step_in_epoch == s.steps_per_epoch {
            let n = s.steps_per_epoch as f64;
            let line =
                format!("epoch {}/{}: mean d_loss {:.4}, mean g_loss {:.4}", s.epoch, s.epochs, d_sum / n, g_sum / n);
            // A hidden bar (stderr is not a terminal) would drop its println.
            if bar.is_hidden() {
                eprintln!("{line}")
            } else {
                bar.println(line)
            }
            (d_sum, g_sum) = (0.0, 0.0);
        }
    })
    .inspect_err(|_| bar.abandon())?;
    bar.finish();
    let secs = summary.wall.as_secs_f64();
    println!(
        "trained {} epochs ({} steps) in {:.1} s ({:.1} s per epoch)",
        summary.epochs,
        summary.steps,
        secs,
        secs / summary.epochs.max(1) as f64
    );
    if let Some(last) = summary.grids.last() {
        println!("samples:    {} … {}", args.outdir.join("epoch_001.png").display(), last.display());
    }
    println!("animation:  {}", summary.gif.display());
    println!("losses:     {}, {}", summary.generator_loss_plot.display(), summary.discriminator_loss_plot.display());
    println!("per step:   {}", summary.losses_csv.display());
    println!("checkpoint: {}", summary.checkpoint.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Wrapper {
        #[command(flatten)]
        args: VanillaArgs,
    }

    fn parse(flags: &[&str]) -> Result<VanillaArgs, clap::Error> {
        Wrapper::try_parse_from(std::iter::once("rgan-vanilla").chain(flags.iter().copied())).map(|w| w.args)
    }

    #[test]
    fn defaults_match_the_script() {
        let args = parse(&["--outdir", "out", "--encoding_dims", "100"]).unwrap();
        assert_eq!((args.epochs, args.batch_size, args.encoding_dims), (50, 128, 100));
        assert_eq!((args.learning_rate, args.beta_1, args.seed), (2e-4, 0.5, 0));
        assert_eq!(args.outdir, PathBuf::from("out"));
        let config = args.config();
        assert_eq!((config.beta_2, config.epsilon, config.hidden_units), (0.999, 1e-8, 128));
    }

    #[test]
    fn underscore_flags_and_kebab_aliases_parse_alike() {
        let snake = parse(&[
            "--epochs",
            "3",
            "--batch_size",
            "64",
            "--outdir",
            "d",
            "--learning_rate",
            "1e-3",
            "--beta_1",
            "0.9",
            "--encoding_dims",
            "32",
        ])
        .unwrap();
        let kebab = parse(&[
            "--epochs",
            "3",
            "--batch-size",
            "64",
            "--outdir",
            "d",
            "--learning-rate",
            "1e-3",
            "--beta-1",
            "0.9",
            "--encoding-dims",
            "32",
        ])
        .unwrap();
        assert_eq!(snake, kebab);
        assert_eq!((snake.epochs, snake.batch_size, snake.encoding_dims), (3, 64, 32));
        assert_eq!((snake.learning_rate, snake.beta_1), (1e-3, 0.9));
        let hidden = parse(&["--outdir", "d", "--encoding_dims", "8", "--limit", "512", "--seed", "4"]).unwrap();
        assert_eq!((hidden.limit, hidden.seed), (Some(512), 4));
    }

    #[test]
    fn outdir_and_encoding_dims_are_required() {
        for flags in [&["--encoding_dims", "100"][..], &["--outdir", "out"]] {
            let e = parse(flags).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument, "{flags:?}");
        }
        let e = parse(&["--outdir", "o", "--encoding_dims", "x"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn help_shows_the_script_flags_only() {
        use clap::CommandFactory;
        let help = Wrapper::command().render_long_help().to_string();
        for flag in ["--epochs", "--batch_size", "--outdir", "--learning_rate", "--beta_1", "--encoding_dims"] {
            assert!(help.contains(flag), "{flag} missing from\n{help}");
        }
        assert!(help.contains("2e-4"), "{help}");
        for hidden in ["--data-dir", "--limit", "--seed", "--device"] {
            assert!(!help.contains(hidden), "{hidden} shown in\n{help}");
        }
    }
}
