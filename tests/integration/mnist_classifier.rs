//! rgan's MNIST classifier: the built-in weights, shapes, errors, saving and reproducible
//! training.

use crate::common;
use common::mnist_dir;

use std::path::{Path, PathBuf};

use burn::prelude::*;
use rgan::RganError;
use rgan::data::{IdxImages, Mnist, Split};
use rgan::eval::mnist_classifier::{
    MnistClassifier, MnistClassifierConfig, MnistClassifierTrainConfig, TrainReport, TrainingFolder,
    train_mnist_classifier,
};
use rgan::rng::Rng;

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rgan-classifier-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn built_in_weights_are_small_and_load() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist_classifier.bpk");
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size < 500_000, "{size} bytes");
    let classifier = MnistClassifier::pretrained(&Device::default()).unwrap();
    assert_eq!(classifier.num_params(), MnistClassifierConfig::new().num_params());
    // The file on disk is the one built in.
    let loaded = MnistClassifier::load(&file, &Device::default()).unwrap();
    let images = Rng::seed_from_u64(0).uniform([2, 1, 28, 28], -1.0, 1.0, &Device::default());
    assert_eq!(values(classifier.logits(images.clone()).unwrap()), values(loaded.logits(images).unwrap()));
}

#[test]
fn built_in_weights_classify_the_first_2000_test_digits() {
    let Some(dir) = mnist_dir() else { return };
    let test = Mnist::load(dir, Split::Test).unwrap().truncated(2000);
    let accuracy = MnistClassifier::pretrained(&Device::default()).unwrap().accuracy(&test).unwrap();
    assert!(accuracy >= 0.985, "accuracy {accuracy}");
}

#[test]
fn shapes_of_logits_features_and_predictions() {
    let device = Device::default();
    let classifier =
        MnistClassifierConfig::new().with_feature_dims(7).init(&mut Rng::seed_from_u64(1), &device).unwrap();
    let images = Rng::seed_from_u64(2).uniform([5, 1, 28, 28], -1.0, 1.0, &device);
    let (logits, features) = classifier.logits_and_features(images.clone()).unwrap();
    assert_eq!((logits.dims(), features.dims()), ([5, 10], [5, 7]));
    assert_eq!(values(classifier.logits(images.clone()).unwrap()), values(logits.clone()));
    assert_eq!(values(classifier.features(images.clone()).unwrap()), values(features));
    let predicted: Vec<i64> = classifier.predict(images).unwrap().into_data().convert::<i64>().iter::<i64>().collect();
    let logits = values(logits);
    for (row, p) in logits.chunks(10).zip(predicted) {
        let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(row[p as usize], max);
    }
}

#[test]
fn wrong_image_shapes_are_errors_naming_the_argument_and_shape() {
    let device = Device::default();
    let classifier = MnistClassifier::pretrained(&device).unwrap();
    for dims in [[2, 1, 32, 32], [2, 3, 28, 28], [0, 1, 28, 28]] {
        let images = Tensor::<4>::zeros(dims, &device);
        for err in [
            classifier.logits(images.clone()).unwrap_err(),
            classifier.features(images.clone()).unwrap_err(),
            classifier.predict(images.clone()).unwrap_err(),
        ] {
            match err {
                RganError::ShapeMismatch { ref argument, ref shape, .. } => {
                    assert_eq!((argument.as_str(), shape.as_slice()), ("images", &dims[..]));
                }
                other => panic!("unexpected error {other}"),
            }
        }
    }
    let large = Mnist { images: IdxImages { count: 1, rows: 32, cols: 32, pixels: vec![0; 1024] }, labels: vec![0] };
    assert!(classifier.accuracy(&large).unwrap_err().to_string().contains("[1, 32, 32]"));
    let empty = Mnist { images: IdxImages { count: 0, rows: 28, cols: 28, pixels: vec![] }, labels: vec![] };
    assert!(classifier.accuracy(&empty).unwrap_err().to_string().contains("data"));
}

#[test]
fn corrupted_or_foreign_weight_files_are_errors_naming_the_file() {
    let device = Device::default();
    let dir = temp_dir("corrupt");
    let good = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist_classifier.bpk")).unwrap();
    let truncated = dir.join("truncated.bpk");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let err = MnistClassifier::load(&truncated, &device).unwrap_err();
    assert!(matches!(&err, RganError::File { path, .. } if path == &truncated), "{err}");
    let garbage = dir.join("garbage.bpk");
    std::fs::write(&garbage, b"not a burnpack file").unwrap();
    let err = MnistClassifier::load(&garbage, &device).unwrap_err();
    assert!(matches!(&err, RganError::File { path, .. } if path == &garbage), "{err}");
    let missing = dir.join("missing.bpk");
    assert!(MnistClassifier::load(&missing, &device).unwrap_err().to_string().contains("missing.bpk"));
    // Weights of another architecture: an error, unless loaded with that architecture.
    let other = dir.join("other.bpk");
    let config = MnistClassifierConfig::new().with_feature_dims(8);
    config.init(&mut Rng::seed_from_u64(0), &device).unwrap().save(&other).unwrap();
    let err = MnistClassifier::load(&other, &device).unwrap_err();
    assert!(matches!(&err, RganError::File { path, .. } if path == &other), "{err}");
    assert!(MnistClassifier::load_with_config(&other, &config, &device).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn saved_weights_round_trip() {
    let device = Device::default();
    let dir = temp_dir("round-trip");
    let path = dir.join("classifier.bpk");
    let classifier = MnistClassifierConfig::new().init(&mut Rng::seed_from_u64(3), &device).unwrap();
    classifier.save(&path).unwrap();
    let loaded = MnistClassifier::load(&path, &device).unwrap();
    let images = Rng::seed_from_u64(4).uniform([2, 1, 28, 28], -1.0, 1.0, &device);
    assert_eq!(values(classifier.logits(images.clone()).unwrap()), values(loaded.logits(images).unwrap()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn training_learns_and_is_reproducible_from_the_seed() {
    // 64 images of two classes that differ in brightness: a few steps separate them.
    let pixels = (0..64 * 784).map(|i| if (i / 784) % 2 == 0 { 20 } else { 230 }).collect();
    let labels = (0..64).map(|i| (i % 2) as u8).collect();
    let data = Mnist { images: IdxImages { count: 64, rows: 28, cols: 28, pixels }, labels };
    let config =
        MnistClassifierTrainConfig::new().with_epochs(2).with_batch_size(16).with_learning_rate(3e-3).with_seed(5);
    let device = Device::default();
    let mut seen = Vec::new();
    let (a, report_a) =
        train_mnist_classifier(&config, &data, &data, &device, &TrainingFolder::default(), |e| seen.push(e.epoch))
            .unwrap();
    let (b, report_b) =
        train_mnist_classifier(&config, &data, &data, &device, &TrainingFolder::default(), |_| {}).unwrap();
    assert_eq!(seen, vec![1, 2]);
    assert_eq!(report_a.test_accuracy(), 1.0);
    let losses =
        |r: &rgan::eval::mnist_classifier::TrainReport| r.epochs.iter().map(|e| e.train_loss).collect::<Vec<_>>();
    assert_eq!(losses(&report_a), losses(&report_b));
    assert!(report_a.epochs[1].learning_rate < report_a.epochs[0].learning_rate);
    let images = Tensor::<4>::zeros([1, 1, 28, 28], &device);
    assert_eq!(values(a.logits(images.clone()).unwrap()), values(b.logits(images).unwrap()));
    // Another seed, other weights.
    let (c, _) =
        train_mnist_classifier(&config.clone().with_seed(6), &data, &data, &device, &TrainingFolder::default(), |_| {})
            .unwrap();
    let images = Tensor::<4>::zeros([1, 1, 28, 28], &device);
    assert_ne!(values(a.logits(images.clone()).unwrap()), values(c.logits(images).unwrap()));
}

/// A training in a log folder, stopped by its stop flag within epoch 2 and run again, ends with
/// the weights of a training that was never stopped (and of one without a folder), bit for bit.
#[test]
fn training_in_a_folder_resumes_exactly_after_a_stop() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let pixels = (0..64 * 784).map(|i| ((i * 37 + i / 784 * 101) % 256) as u8).collect();
    let labels = (0..64).map(|i| (i % 3) as u8).collect();
    let data = Mnist { images: IdxImages { count: 64, rows: 28, cols: 28, pixels }, labels };
    let config =
        MnistClassifierTrainConfig::new().with_epochs(3).with_batch_size(16).with_learning_rate(3e-3).with_seed(9);
    let device = Device::default();
    let in_memory = TrainingFolder::default();
    let (plain, plain_report) = train_mnist_classifier(&config, &data, &data, &device, &in_memory, |_| {}).unwrap();
    let whole_dir = common::temp_dir("classifier-whole");
    let whole = TrainingFolder { logdir: Some(whole_dir.path().to_path_buf()), ..TrainingFolder::default() };
    let (uninterrupted, report) = train_mnist_classifier(&config, &data, &data, &device, &whole, |_| {}).unwrap();
    assert!(!report.interrupted);
    let images = Tensor::<4>::from_data(
        TensorData::new((0..2 * 784).map(|i| ((i % 29) as f32 - 14.0) / 14.0).collect::<Vec<f32>>(), [2, 1, 28, 28]),
        &device,
    );
    let logits = |c: &MnistClassifier| values(c.logits(images.clone()).unwrap());
    assert_eq!(logits(&uninterrupted), logits(&plain));
    let untimed = |r: &TrainReport| {
        r.epochs.iter().map(|e| (e.epoch, e.learning_rate, e.train_loss, e.test_accuracy)).collect::<Vec<_>>()
    };
    assert_eq!(untimed(&report), untimed(&plain_report));

    let dir = common::temp_dir("classifier-stopped");
    let stop = Arc::new(AtomicBool::new(false));
    let folder = TrainingFolder { logdir: Some(dir.path().to_path_buf()), stop: Some(stop.clone()), restart: false };
    let flag = stop.clone();
    let (_, first) =
        train_mnist_classifier(&config, &data, &data, &device, &folder, |_| flag.store(true, Ordering::SeqCst))
            .unwrap();
    assert!(first.interrupted);
    assert_eq!(first.epochs.len(), 1);
    stop.store(false, Ordering::SeqCst);
    let mut seen = Vec::new();
    let (resumed, second) =
        train_mnist_classifier(&config, &data, &data, &device, &folder, |e| seen.push(e.epoch)).unwrap();
    assert!(!second.interrupted);
    assert_eq!(seen, vec![1, 2, 3], "the earlier epoch is reported again from epochs.csv");
    assert_eq!(logits(&resumed), logits(&uninterrupted));
    let accuracies = |r: &TrainReport| r.epochs.iter().map(|e| e.test_accuracy).collect::<Vec<_>>();
    assert_eq!(accuracies(&second), accuracies(&report));
    // Epochs 1 and 3 saw all their batches in one process; epoch 2's loss is that of its later batches.
    assert_eq!(second.epochs[0].train_loss, report.epochs[0].train_loss);
    assert_eq!(second.epochs[2].train_loss, report.epochs[2].train_loss);
    let csv = std::fs::read_to_string(dir.path().join("epochs.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");

    // The folder holds this training: other settings are refused, naming the setting.
    let other = config.clone().with_learning_rate(1e-3);
    let err = train_mnist_classifier(&other, &data, &data, &device, &folder, |_| {}).unwrap_err().to_string();
    assert!(err.contains("learning_rate"), "{err}");
}

#[test]
fn bad_training_configurations_are_errors_naming_the_setting() {
    let data = Mnist {
        images: IdxImages { count: 4, rows: 28, cols: 28, pixels: vec![0; 4 * 784] },
        labels: vec![0, 1, 2, 3],
    };
    let device = Device::default();
    for (config, name) in [
        (MnistClassifierTrainConfig::new().with_epochs(0), "epochs"),
        (MnistClassifierTrainConfig::new().with_learning_rate(0.0), "learning_rate"),
        (MnistClassifierTrainConfig::new().with_learning_rate_decay(-1.0), "learning_rate_decay"),
        (MnistClassifierTrainConfig::new().with_batch_size(5), "batch_size"),
        (
            MnistClassifierTrainConfig::new().with_classifier(MnistClassifierConfig::new().with_kernel_size(4)),
            "kernel_size",
        ),
    ] {
        let err =
            train_mnist_classifier(&config, &data, &data, &device, &TrainingFolder::default(), |_| {}).unwrap_err();
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
}
