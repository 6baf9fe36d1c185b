//! `rgan eval train-classifier`: trains rgan's MNIST classifier (the network behind the MNIST
//! score and Fréchet distances) and writes its weights, by default to the file the library
//! builds in (`assets/mnist_classifier.bpk`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rgan::data::{Mnist, Split};
use rgan::eval::mnist_classifier::{MnistClassifierTrainConfig, train_mnist_classifier};

/// Arguments of `rgan eval train-classifier`.
#[derive(Args, Debug, Clone)]
pub struct TrainClassifierArgs {
    /// Folder holding the four MNIST IDX files [default: $RGAN_DATA_DIR, else <repo>/../shared/datasets/mnist].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Passes over the 60000 training images.
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Adam's learning rate in the first epoch.
    #[arg(long, default_value_t = 1e-3)]
    pub learning_rate: f64,
    /// The factor the learning rate is multiplied by after each epoch.
    #[arg(long, default_value_t = 0.7)]
    pub learning_rate_decay: f64,
    /// Seed of the initial weights and the batch order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where the weights go (burnpack), written atomically.
    #[arg(long, default_value = "assets/mnist_classifier.bpk")]
    pub out: PathBuf,
    /// Use only the first N training images (quick trials).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Compute device: cpu, or cuda / wgpu in builds with those features.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Trains the classifier, printing the test accuracy after every epoch, and writes the weights
/// to `--out`.
pub fn run(args: TrainClassifierArgs) -> Result<()> {
    let dir = crate::data_dir(args.data_dir.as_deref(), "mnist");
    let mut train = Mnist::load(&dir, Split::Train)?;
    if let Some(limit) = args.limit {
        train = train.truncated(limit);
    }
    let test = Mnist::load(&dir, Split::Test)?;
    let device = rgan::device::device_by_name(&args.device)?;
    let config = MnistClassifierTrainConfig::new()
        .with_epochs(args.epochs)
        .with_batch_size(args.batch_size)
        .with_learning_rate(args.learning_rate)
        .with_learning_rate_decay(args.learning_rate_decay)
        .with_seed(args.seed);
    println!(
        "training the MNIST classifier on {} images ({} test images) for {} epochs, seed {}",
        train.len(),
        test.len(),
        args.epochs,
        args.seed
    );
    let (classifier, report) = train_mnist_classifier(&config, &train, &test, &device, |e| {
        println!(
            "epoch {:>3}  lr {:.2e}  train loss {:.4}  test accuracy {:.2}%  ({:.0} s)",
            e.epoch,
            e.learning_rate,
            e.train_loss,
            100.0 * e.test_accuracy,
            e.seconds
        );
    })?;
    classifier.save(&args.out).with_context(|| format!("writing {}", args.out.display()))?;
    let size = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    println!(
        "test accuracy {:.2}%; weights ({} bytes) written to {}",
        100.0 * report.test_accuracy(),
        size,
        args.out.display()
    );
    Ok(())
}
