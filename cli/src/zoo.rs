//! `rgan train zoo --model NAME`: the classic GAN zoo on MNIST ([`rgan::recipes::zoo`]).

use std::path::PathBuf;

use anyhow::{Context, Result};
use rgan::data::{Mnist, Split};
use rgan::eval::mnist::{MNIST_EVAL_SAMPLES, MnistEvalHook, dataset_images};
use rgan::recipes::zoo::ZooModel;
use rgan::train::{Resume, TrainHook};

use crate::{DeviceKind, data_dir, describe, device, run_with_progress};

fn parse_model(name: &str) -> std::result::Result<ZooModel, String> {
    name.parse().map_err(|e: rgan::RganError| e.to_string())
}

#[derive(clap::Args, Debug)]
pub(crate) struct ZooArgs {
    /// The model: dcgan, cgan-mlp, cgan-conv, cgan-classifier, wgan-mlp, wgan-conv,
    /// wgan-classifier, wgan-gp, infogan-shared or infogan-separate (--list describes them).
    #[arg(long, value_parser = parse_model, required_unless_present = "list")]
    model: Option<ZooModel>,
    /// List the zoo's models and their training recipes, then exit.
    #[arg(long)]
    list: bool,
    /// Number of GAN steps (one generator update each) to train to. Re-running with the same
    /// --logdir resumes from its newest checkpoint.
    #[arg(long, default_value_t = 5000)]
    steps: usize,
    /// Real and generated images per update.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Seed of initialization, noise and shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write a sample grid every N steps (and at the end).
    #[arg(long, default_value_t = 500)]
    sample_every: usize,
    /// Write a checkpoint every N steps (and every --checkpoint-secs, and at the end).
    #[arg(long, default_value_t = 200)]
    checkpoint_every: usize,
    /// Write a checkpoint when this many seconds passed since the last one (0: off).
    #[arg(long, default_value_t = 120)]
    checkpoint_secs: u64,
    /// Every N steps, score 1000 generated digits with rgan's MNIST classifier into TensorBoard
    /// and eval.csv [default: 0, off].
    #[arg(long, default_value_t = 0)]
    eval_every: usize,
    /// Where samples, scalars, TensorBoard events and checkpoints go [default: logs/zoo-<model>].
    #[arg(long)]
    logdir: Option<PathBuf>,
    /// Folder holding MNIST's four IDX files [default: $RGAN_DATA_DIR, else <repo>/../shared/datasets/mnist].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Use only the first N training images (quick trials).
    #[arg(long)]
    limit: Option<usize>,
    /// Start afresh even if --logdir holds checkpoints (they are replaced as the run goes).
    #[arg(long)]
    pub(crate) restart: bool,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    device: DeviceKind,
}

/// The `--list` table.
fn list() {
    println!("{:<18} recipe (batch 64; `rgan train zoo --model NAME`)", "model");
    for model in ZooModel::ALL {
        println!("{:<18} {}", model.name(), model.description());
    }
}

/// Runs `rgan train zoo`.
pub(crate) fn run(args: ZooArgs, resume: Resume) -> Result<()> {
    if args.list {
        list();
        return Ok(());
    }
    let model = args.model.context("--model NAME is required (rgan train zoo --list names them)")?;
    let logdir = args.logdir.clone().unwrap_or_else(|| PathBuf::from("logs").join(format!("zoo-{model}")));
    let dir = data_dir(args.data_dir.as_deref(), "mnist");
    let mut data = Mnist::load(&dir, Split::Train).with_context(|| format!("loading MNIST from {}", dir.display()))?;
    if let Some(limit) = args.limit {
        data = data.truncated(limit);
    }
    let device = device(args.device)?.autodiff();
    let config = model
        .train_config()
        .with_steps(args.steps)
        .with_batch_size(args.batch_size)
        .with_seed(args.seed)
        .with_sample_every(args.sample_every)
        .with_checkpoint_every(args.checkpoint_every)
        .with_checkpoint_secs(args.checkpoint_secs);
    let trainer = model.recipe().trainer(config, &data, &logdir, resume, &device)?;
    let what =
        format!("the zoo's {model} ({}) on {} MNIST images from {}", model.description(), data.len(), dir.display());
    describe(&trainer, trainer.step().config(), &what);
    let mut eval_hook = None;
    if args.eval_every > 0 {
        let test = Mnist::load(&dir, Split::Test)
            .with_context(|| format!("loading MNIST's test set from {}", dir.display()))?;
        let real = dataset_images(&test, 0, MNIST_EVAL_SAMPLES, &device)?;
        eval_hook = Some(MnistEvalHook::new(real, &logdir, args.eval_every, &device)?);
    }
    run_with_progress(trainer, eval_hook.as_mut().map(|h| h as &mut dyn TrainHook<_>))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Wrapper {
        #[command(flatten)]
        args: ZooArgs,
    }

    fn parse(flags: &[&str]) -> std::result::Result<ZooArgs, clap::Error> {
        Wrapper::try_parse_from(std::iter::once("rgan-train-zoo").chain(flags.iter().copied())).map(|w| w.args)
    }

    #[test]
    fn every_model_name_parses_with_the_documented_defaults() {
        for model in ZooModel::ALL {
            let args = parse(&["--model", model.name()]).unwrap();
            assert_eq!(args.model, Some(model));
            assert_eq!((args.steps, args.batch_size, args.seed, args.eval_every), (5000, 64, 0, 0));
        }
        assert!(parse(&["--list"]).unwrap().list);
    }

    #[test]
    fn a_missing_or_unknown_model_is_a_clear_error() {
        let missing = parse(&[]).unwrap_err().to_string();
        assert!(missing.contains("--model"), "{missing}");
        let unknown = parse(&["--model", "wgan"]).unwrap_err().to_string();
        assert!(unknown.contains("`wgan`") && unknown.contains("wgan-gp") && unknown.contains("dcgan"), "{unknown}");
    }
}
