//! `rgan eval train-classifier`: trains one of rgan's own evaluation classifiers and writes its
//! weights, by default to the file the library builds in: the MNIST classifier (MNIST score and
//! Fréchet distances, `assets/mnist_classifier.bpk`) or the CIFAR-10 classifier (CIFAR-10
//! classifier score, `assets/cifar10_classifier.bpk.gz`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use rgan::data::{Cifar10, Mnist, Split};
use rgan::eval::cifar_classifier::{CifarClassifierTrainConfig, train_cifar_classifier};
use rgan::eval::classifier::{EpochReport, TrainReport, TrainingFolder};
use rgan::eval::mnist_classifier::{MnistClassifierTrainConfig, train_mnist_classifier};

/// The classifier to train.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassifierDataset {
    /// The MNIST classifier (defaults: 5 epochs, batch 64, lr 1e-3 × 0.7 per epoch).
    Mnist,
    /// The CIFAR-10 classifier (defaults: 15 epochs, batch 128, lr 1e-3, ÷10 after epochs 10 and
    /// 13, pad-crop-flip augmentation).
    Cifar10,
}

/// Arguments of `rgan eval train-classifier`.
#[derive(Args, Debug, Clone)]
pub struct TrainClassifierArgs {
    /// Which classifier.
    #[arg(long, value_enum, default_value = "mnist")]
    pub dataset: ClassifierDataset,
    /// The data set's folder [default: $RGAN_DATA_DIR, else <repo>/../shared/datasets/<mnist|cifar10>].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Passes over the training images [default: 5 for MNIST, 15 for CIFAR-10].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Images per step [default: 64 for MNIST, 128 for CIFAR-10].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Adam's learning rate in the first epoch.
    #[arg(long, default_value_t = 1e-3)]
    pub learning_rate: f64,
    /// MNIST: the factor the learning rate is multiplied by after each epoch.
    #[arg(long, default_value_t = 0.7)]
    pub learning_rate_decay: f64,
    /// CIFAR-10: the epochs after which the learning rate drops tenfold [default: 10,13].
    #[arg(long, value_delimiter = ',')]
    pub decay_epochs: Option<Vec<usize>>,
    /// Seed of the initial weights, the batch order and the augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where the weights go (burnpack; CIFAR-10: rounded to half precision and gzipped when the
    /// name ends in .gz), written atomically [default: assets/mnist_classifier.bpk or
    /// assets/cifar10_classifier.bpk.gz].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A log folder for the training: a checkpoint after every epoch and on Ctrl-C, and
    /// epochs.csv. The same command with the same folder resumes an interrupted training, which
    /// ends with the same weights, bit for bit [default: none, the training runs in memory].
    #[arg(long)]
    pub logdir: Option<PathBuf>,
    /// With --logdir: start afresh even when the folder holds checkpoints.
    #[arg(long)]
    pub restart: bool,
    /// Use only the first N training images (quick trials).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Compute device: cpu, or cuda / wgpu in builds with those features.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

fn print_epoch(e: &EpochReport) {
    println!(
        "epoch {:>3}  lr {:.2e}  train loss {:.4}  test accuracy {:.2}%  ({:.0} s)",
        e.epoch,
        e.learning_rate,
        e.train_loss,
        100.0 * e.test_accuracy,
        e.seconds
    );
}

/// Trains the classifier, printing the test accuracy after every epoch, and writes the weights
/// to `--out`.
pub fn run(args: TrainClassifierArgs) -> Result<()> {
    let decay_epochs = match args.decay_epochs.as_deref() {
        None => None,
        Some(&[first, second]) => Some([first, second]),
        Some(other) => bail!("--decay-epochs takes two epochs, as 10,13; got {other:?}"),
    };
    let device = rgan::device::device_by_name(&args.device)?;
    // Ctrl-C saves a checkpoint only where there is a log folder to save it in.
    let signals = match args.logdir {
        Some(_) => Some(crate::signals::StopSignals::install()?),
        None => None,
    };
    let folder = TrainingFolder {
        logdir: args.logdir.clone(),
        stop: signals.as_ref().map(|s| s.flag.clone()),
        restart: args.restart,
    };
    let (out, report) = match args.dataset {
        ClassifierDataset::Mnist => {
            let dir = crate::data_dir(args.data_dir.as_deref(), "mnist");
            let mut train = Mnist::load(&dir, Split::Train)?;
            if let Some(limit) = args.limit {
                train = train.truncated(limit);
            }
            let test = Mnist::load(&dir, Split::Test)?;
            let config = MnistClassifierTrainConfig::new()
                .with_epochs(args.epochs.unwrap_or(5))
                .with_batch_size(args.batch_size.unwrap_or(64))
                .with_learning_rate(args.learning_rate)
                .with_learning_rate_decay(args.learning_rate_decay)
                .with_seed(args.seed);
            println!(
                "training the MNIST classifier on {} images ({} test images) for {} epochs, seed {}",
                train.len(),
                test.len(),
                config.epochs,
                args.seed
            );
            let (classifier, report) = train_mnist_classifier(&config, &train, &test, &device, &folder, print_epoch)?;
            stop_if_interrupted(&report, &signals);
            let out = args.out.unwrap_or_else(|| PathBuf::from("assets/mnist_classifier.bpk"));
            classifier.save(&out).with_context(|| format!("writing {}", out.display()))?;
            (out, report)
        }
        ClassifierDataset::Cifar10 => {
            let dir = crate::data_dir(args.data_dir.as_deref(), "cifar10");
            let load =
                |split| Cifar10::load(&dir, split).with_context(|| format!("loading CIFAR-10 from {}", dir.display()));
            let mut train = load(Split::Train)?;
            if let Some(limit) = args.limit {
                train = train.truncated(limit);
            }
            let test = load(Split::Test)?;
            let mut config = CifarClassifierTrainConfig::new()
                .with_epochs(args.epochs.unwrap_or(15))
                .with_batch_size(args.batch_size.unwrap_or(128))
                .with_learning_rate(args.learning_rate)
                .with_seed(args.seed);
            if let Some(epochs) = decay_epochs {
                config = config.with_decay_epochs(epochs);
            }
            println!(
                "training the CIFAR-10 classifier on {} images ({} test images) for {} epochs (lr ÷10 after \
                 epochs {:?}), batch {}, seed {}",
                train.len(),
                test.len(),
                config.epochs,
                config.decay_epochs,
                config.batch_size,
                args.seed
            );
            let (classifier, report) = train_cifar_classifier(&config, &train, &test, &device, &folder, print_epoch)?;
            stop_if_interrupted(&report, &signals);
            let out = args.out.unwrap_or_else(|| PathBuf::from("assets/cifar10_classifier.bpk.gz"));
            classifier.save(&out).with_context(|| format!("writing {}", out.display()))?;
            if out.extension().is_some_and(|e| e == "gz") {
                let accuracy = classifier.half_precision().accuracy(&test)?;
                println!(
                    "weights rounded to half precision (the compact .gz form): test accuracy {:.2}%",
                    100.0 * accuracy
                );
            }
            (out, report)
        }
    };
    finish(&out, &report);
    Ok(())
}

/// After a stop signal (the checkpoint is written): says how to resume, and exits with 128 +
/// the signal's number without writing weights.
fn stop_if_interrupted(report: &TrainReport, signals: &Option<crate::signals::StopSignals>) {
    if report.interrupted {
        let epochs = report.epochs.len();
        println!("stopped with {epochs} epoch(s) done (checkpoint written); run the same command again to resume");
        std::process::exit(signals.as_ref().and_then(|s| s.exit_code()).unwrap_or(130));
    }
}

fn finish(out: &std::path::Path, report: &TrainReport) {
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "test accuracy {:.2}%; weights ({} bytes) written to {}",
        100.0 * report.test_accuracy(),
        size,
        out.display()
    );
}
