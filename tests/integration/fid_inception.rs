//! The FID Inception-v3 network against pytorch-fid's outputs
//! (`shared/reference/fid-inception/reference_features.npz`).
//!
//! Needs the weights `fid_inception_v3.safetensors`: from `RGAN_INCEPTION_WEIGHTS`, else
//! `../shared/models/` next to the crate. Without them (or without the reference file) the test
//! says so and passes, except under `CI=true`, where it fails.

use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::*;
use burn::tensor::TensorData;
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::NpzReader;
use rgan::eval::inception::{FidInceptionV3, InputRange, preprocess};

/// The README's tolerance for a correct float32 port on a CPU: about 1e-4 absolute (pool3
/// values lie in [0, 5.7]; the FID quirks move them by 1 to 2).
const TOLERANCE: f32 = 1e-4;

fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("shared")
}

/// The file at `path`, or `None` (with a message) when it is absent outside CI.
fn required(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path);
    }
    let message = format!("{what} not found at {}", path.display());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message} (required when CI=true)");
    }
    eprintln!("skipping the FID Inception reference test: {message}");
    None
}

fn weights() -> Option<PathBuf> {
    let path = std::env::var_os("RGAN_INCEPTION_WEIGHTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| shared_dir().join("models").join("fid_inception_v3.safetensors"));
    required(path, "FID Inception weights (RGAN_INCEPTION_WEIGHTS)")
}

fn tensor<const D: usize>(array: ArrayD<f32>, device: &Device) -> Tensor<D> {
    let shape = array.shape().to_vec();
    let values = array.as_standard_layout().iter().copied().collect::<Vec<_>>();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Max absolute and max relative (to the largest reference magnitude) difference.
fn compare<const D: usize>(name: &str, got: Tensor<D>, expected: &ArrayD<f32>) -> (f32, f32) {
    assert_eq!(got.dims().to_vec(), expected.shape().to_vec(), "{name}: shape");
    let got = got.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
    let expected: Vec<f32> = expected.as_standard_layout().iter().copied().collect();
    let max_abs = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    let scale = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    println!("{name}: max |Δ| = {max_abs:.3e}, max |Δ| / max |ref| = {:.3e} (max |ref| = {scale})", max_abs / scale);
    (max_abs, max_abs / scale)
}

#[test]
fn fid_inception_matches_pytorch_fid() {
    let Some(weights) = weights() else { return };
    let reference = shared_dir().join("reference").join("fid-inception").join("reference_features.npz");
    let Some(reference) = required(reference, "reference_features.npz") else { return };
    let mut npz = NpzReader::new(std::fs::File::open(&reference).unwrap()).unwrap();
    let mut read = |name: &str| -> ArrayD<f32> { npz.by_name::<_, IxDyn>(name).unwrap() };
    let (images, pool3) = (read("images"), read("pool3"));
    let (block0, block1, block2) = (read("block0_mean"), read("block1_mean"), read("block2_mean"));
    let (images_small, pool3_small) = (read("images_small"), read("pool3_small"));
    let pool3_f64: ArrayD<f64> = npz.by_name::<_, IxDyn>("pool3_f64").unwrap();

    let device = Device::default();
    let start = Instant::now();
    let net = FidInceptionV3::load(&weights, &device).unwrap();
    println!("loading the weights: {:.2?}", start.elapsed());

    // The network alone on the 299×299 inputs, with its intermediate blocks (spatial means).
    let start = Instant::now();
    let blocks = net.blocks(tensor(images, &device)).unwrap();
    let spatial_mean = |x: Tensor<4>| {
        let [n, c, h, w] = x.dims();
        x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c])
    };
    // Against pytorch-fid's float64 run (the float32 reference is itself 2.9e-6 from it).
    let pool3_f64 = pool3_f64.mapv(|v| v as f32);
    let (abs, _) = compare("pool3 vs pool3_f64", blocks.pool3.clone(), &pool3_f64);
    assert!(abs <= TOLERANCE, "pool3 vs pool3_f64: max |Δ| {abs} > {TOLERANCE}");
    let mut worst_abs = 0.0f32;
    for (name, got, expected) in [
        ("block0_mean", spatial_mean(blocks.block0), &block0),
        ("block1_mean", spatial_mean(blocks.block1), &block1),
        ("block2_mean", spatial_mean(blocks.block2), &block2),
        ("pool3", blocks.pool3, &pool3),
    ] {
        let (abs, _) = compare(name, got, expected);
        assert!(abs <= TOLERANCE, "{name}: max |Δ| {abs} > {TOLERANCE}");
        worst_abs = worst_abs.max(abs);
    }
    println!("2 images at 299×299: {:.2?}", start.elapsed());

    // pytorch-fid's default path: [0, 1] inputs of 64×64, bilinear resize, 2x − 1, the network.
    let start = Instant::now();
    let x = preprocess(tensor(images_small, &device), InputRange::ZeroToOne).unwrap();
    let (abs, _) = compare("pool3_small", net.features(x).unwrap(), &pool3_small);
    assert!(abs <= TOLERANCE, "pool3_small: max |Δ| {abs} > {TOLERANCE}");
    println!("3 images at 64×64 through preprocess: {:.2?}", start.elapsed());
    println!("worst max |Δ| over the 299×299 checks: {worst_abs:.3e}");
}

/// `eval::cifar`: the statistics of CIFAR-10 bytes are those of the same images through the
/// network's own preprocessing, a generator's statistics are finite and repeatable from the seed,
/// and a set is at distance 0 from itself. (`bench/reference/cifar_fid_stats_crosscheck.py`
/// checks the reference statistics against pytorch-fid's own pipeline.)
#[test]
fn cifar_fid_statistics_follow_pytorch_fids_preprocessing() {
    use rgan::data::Cifar10;
    use rgan::eval::cifar::{cifar_statistics, generator_statistics};
    use rgan::eval::inception::{FidInceptionV3, InputRange, preprocess};
    use rgan::eval::{ActivationMoments, FidStatistics};
    use rgan::model::BatchNormMode;
    use rgan::recipes::cifar::CifarRecipe;

    let Some(weights) = weights() else { return };
    let device = Device::default();
    let net = FidInceptionV3::load(&weights, &device).unwrap();
    let pixels: Vec<u8> = (0..3 * 3072).map(|i| ((i * 37 + i / 1024 * 11) % 256) as u8).collect();
    let data = Cifar10 { pixels: pixels.clone(), labels: vec![0, 1, 2] };
    let mut done = Vec::new();
    let stats = cifar_statistics(&net, &data, 2, &device, |n| done.push(n)).unwrap();
    assert_eq!((done, stats.count, stats.dims()), (vec![2, 3], 3, 2048));
    let values: Vec<f32> = pixels.iter().map(|&b| b as f32).collect();
    let images = Tensor::<4>::from_data(TensorData::new(values, [3, 3, 32, 32]), &device);
    let features = net.features(preprocess(images, InputRange::ZeroTo255).unwrap()).unwrap();
    let mut moments = ActivationMoments::new();
    moments.update(&features).unwrap();
    let direct = FidStatistics::from_moments(&moments).unwrap();
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-4 * (1.0 + y.abs()));
    assert!(close(&stats.mu, &direct.mu) && close(&stats.sigma, &direct.sigma));

    let recipe = CifarRecipe::new();
    let model = recipe.init(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    let draw = |seed| {
        let mode = BatchNormMode::BatchStatistics;
        generator_statistics(&net, &model.generator, &recipe.noise_inputs(), 3, 2, mode, seed, &device, |_| {})
    };
    let (a, b) = (draw(5).unwrap(), draw(5).unwrap());
    assert_eq!(a, b);
    assert!(a.mu.iter().chain(&a.sigma).all(|v| v.is_finite()));
    assert!(a.frechet_distance(&a).unwrap().abs() < 1e-6);
    assert!(a.frechet_distance(&stats).unwrap() > 0.0);
}

/// The classifier of `tests/fixtures/pytorch_fid/gen_inception_classifier.py`, by its formula.
fn formula_classifier() -> (Vec<f32>, Vec<f32>) {
    let weight = (0..1008u64)
        .flat_map(|i| (0..2048u64).map(move |j| (((7919 * i + 104729 * j) % 2003) as f64 / 2003.0 - 0.5) * 0.5))
        .map(|v| v as f32)
        .collect();
    let bias = (0..1008u64).map(|i| ((((31 * i) % 17) as f64 / 17.0 - 0.5) * 0.1) as f32).collect();
    (weight, bias)
}

/// The shared safetensors weights with the formula classifier added, as a temporary file.
fn weights_with_classifier(weights: &std::path::Path, dir: &std::path::Path) -> PathBuf {
    use safetensors::tensor::TensorView;
    let bytes = std::fs::read(weights).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (weight, bias) = formula_classifier();
    let as_bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let (weight, bias) = (as_bytes(&weight), as_bytes(&bias));
    let mut views: Vec<(String, TensorView)> = file.tensors();
    views.push(("fc.weight".into(), TensorView::new(safetensors::Dtype::F32, vec![1008, 2048], &weight).unwrap()));
    views.push(("fc.bias".into(), TensorView::new(safetensors::Dtype::F32, vec![1008], &bias).unwrap()));
    let path = dir.join("with_fc.safetensors");
    safetensors::serialize_to_file(views, None, &path).unwrap();
    path
}

/// The Inception Score's classifier path against pytorch-fid's own `fid_inception_v3()` given
/// the same weights and a formula classifier (`tests/fixtures/pytorch_fid/`), and the clear
/// error of weights without a classifier.
#[test]
fn inception_classifier_matches_pytorch_fid() {
    use rgan::eval::inception_score_splits;
    let Some(weights) = weights() else { return };
    let device = Device::default();
    let plain = FidInceptionV3::load(&weights, &device).unwrap();
    assert!(!plain.has_classifier());
    let features = Tensor::<2>::zeros([1, 2048], &device);
    let err = plain.inception_score_logits(features).unwrap_err().to_string();
    assert!(err.contains("no 1008-way classifier") && err.contains("pt_inception-2015-12-05-6726825d.pth"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let net = FidInceptionV3::load(&weights_with_classifier(&weights, dir.path()), &device).unwrap();
    assert!(net.has_classifier());
    check_classifier_fixture(&net, &device);
    // One split over the three images: the fixture's float64 score of the same logits.
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch_fid/inception_classifier.npz");
    let mut npz = NpzReader::new(std::fs::File::open(&fixture).unwrap()).unwrap();
    let images: ArrayD<f32> = npz.by_name::<_, IxDyn>("images").unwrap();
    let expected: ArrayD<f64> = npz.by_name::<_, IxDyn>("inception_score").unwrap();
    let pool3 = net.features(preprocess(tensor(images, &device), InputRange::MinusOneToOne).unwrap()).unwrap();
    let (score, _) = inception_score_splits(&net.inception_score_logits(pool3).unwrap(), 1).unwrap();
    let expected = *expected.iter().next().unwrap();
    println!("Inception Score of the 3 images: rgan {score:.10}, pytorch-fid model {expected:.10}");
    assert!((score - expected).abs() < 1e-5 * expected, "{score} vs {expected}");
}

/// rgan's logits (with and without the bias) on the fixture's images against pytorch-fid's.
fn check_classifier_fixture(net: &FidInceptionV3, device: &Device) {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch_fid/inception_classifier.npz");
    let mut npz = NpzReader::new(std::fs::File::open(&fixture).unwrap()).unwrap();
    let mut read = |name: &str| -> ArrayD<f32> { npz.by_name::<_, IxDyn>(name).unwrap() };
    let (images, logits, unbiased) = (read("images"), read("logits"), read("logits_unbiased"));
    let pool3 = net.features(preprocess(tensor(images, device), InputRange::MinusOneToOne).unwrap()).unwrap();
    for (name, got, expected) in [
        ("logits", net.logits(pool3.clone()).unwrap(), &logits),
        ("logits_unbiased", net.inception_score_logits(pool3).unwrap(), &unbiased),
    ] {
        // Measured: 1.5e-5 (1.6e-6 of the largest logit), on the file and on the .pth alike.
        let (abs, _) = compare(name, got, expected);
        assert!(abs <= 2e-4, "{name}: max |Δ| {abs}");
    }
}

/// pytorch-fid's whole network with the classifier as a legacy-format `.pth` laid out like the
/// original `pt_inception-2015-12-05-6726825d.pth` (kernels as strided HWIO views, the int64
/// `num_batches_tracked` counters), written by
/// `gen_inception_classifier.py --full-pth PATH` (95 MB, so not in the repository): set
/// `RGAN_INCEPTION_PTH=PATH` to run; skipped otherwise.
#[test]
fn inception_pth_loads_like_pytorch_fid() {
    let Some(path) = std::env::var_os("RGAN_INCEPTION_PTH").map(PathBuf::from) else {
        eprintln!("skipping: RGAN_INCEPTION_PTH is not set");
        return;
    };
    let device = Device::default();
    let start = Instant::now();
    let net = FidInceptionV3::load(&path, &device).unwrap();
    println!("loading {}: {:.2?}", path.display(), start.elapsed());
    assert!(net.has_classifier());
    check_classifier_fixture(&net, &device);
}

/// `eval::cifar::CifarScorer`: its classifier score and Inception Score are those of the same
/// images computed directly, real pixels reach the classifier as `(x − 128) / 128`, and the
/// evaluation hook of `rgan train cifar --eval-every` writes its rows during training.
#[test]
fn cifar_scores_and_the_training_evaluation_hook() {
    use rgan::data::Cifar10;
    use rgan::eval::cifar::{CifarEvalHook, CifarScorer, score_cifar_images};
    use rgan::eval::cifar_classifier::CifarClassifierConfig;
    use rgan::eval::{classifier_score_from_logits, inception_score_splits};
    use rgan::recipes::cifar::CifarRecipe;

    let Some(weights) = weights() else { return };
    let device = Device::default();
    let dir = tempfile::tempdir().unwrap();
    let net = FidInceptionV3::load(&weights_with_classifier(&weights, dir.path()), &device).unwrap();
    let classifier = CifarClassifierConfig::new().init(&mut rgan::rng::Rng::seed_from_u64(3), &device).unwrap();
    let pixels: Vec<u8> = (0..4 * 3072).map(|i| ((i * 37 + i / 3072 * 11) % 256) as u8).collect();
    let data = Cifar10 { pixels: pixels.clone(), labels: vec![0, 1, 2, 3] };
    let scorer = CifarScorer::new(&net, Some(&classifier), Some(2)).unwrap();
    let scores = score_cifar_images(scorer, &data, 3, &device, |_| {}).unwrap();

    let values: Vec<f32> = pixels.iter().map(|&b| (b as f32 - 128.0) / 128.0).collect();
    let images = Tensor::<4>::from_data(TensorData::new(values, [4, 3, 32, 32]), &device);
    let expected = classifier_score_from_logits(&classifier.logits(images).unwrap()).unwrap();
    let got = scores.classifier_score.unwrap();
    assert!((got - expected).abs() <= 1e-9 * expected, "classifier score {got} vs {expected}");
    // The Inception network takes the 8-bit values as pytorch-fid does (x / 255, then 2x − 1).
    let raw: Vec<f32> = pixels.iter().map(|&b| b as f32).collect();
    let raw = Tensor::<4>::from_data(TensorData::new(raw, [4, 3, 32, 32]), &device);
    let pool3 = net.features(preprocess(raw, InputRange::ZeroTo255).unwrap()).unwrap();
    let (mean, std) = inception_score_splits(&net.inception_score_logits(pool3).unwrap(), 2).unwrap();
    let (got_mean, got_std) = scores.inception_score.unwrap();
    assert!((got_mean - mean).abs() < 1e-4 * mean && (got_std - std).abs() < 1e-4, "{got_mean} ± {got_std}");
    // Without the Inception classifier, asking for the score fails before any image is scored.
    let plain = FidInceptionV3::load(&weights, &device).unwrap();
    let err = CifarScorer::new(&plain, None, Some(10)).err().unwrap().to_string();
    assert!(err.contains("no 1008-way classifier"), "{err}");

    let recipe = CifarRecipe::new();
    let config = recipe.train_config().with_batch_size(2).with_steps(2).with_sample_every(0).with_checkpoint_every(0);
    let logdir = dir.path().join("run");
    let data = Cifar10 { pixels: (0..4 * 3072).map(|i| (i % 256) as u8).collect(), labels: vec![0, 1, 2, 3] };
    let mut trainer = recipe.trainer(config, &data, &logdir, false, &device.clone().autodiff()).unwrap();
    let mut hook = CifarEvalHook::new(net, scores.statistics.clone(), classifier, &logdir, 1, &device);
    hook.num_samples = 3;
    hook.splits = 1;
    trainer.run_with_hooks(&mut [&mut hook]).unwrap();
    let csv = std::fs::read_to_string(logdir.join("eval.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "step,fid,classifier_score,inception_score,inception_score_std");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[2].starts_with("2,"), "{csv}");
    let (step, values) = hook.last.unwrap();
    assert_eq!(step, 2);
    assert!(values.iter().all(|v| v.is_finite()) && values[0] > 0.0, "{values:?}");
}

/// `score_translations` with the targets' statistics cached from an earlier call gives the same
/// FID as computing them again, without passing the targets through the network; statistics of
/// another network's width are an error that names them.
#[test]
fn translation_fid_with_cached_target_statistics_is_the_same() {
    use rgan::data::{Cifar10, DerivedPairs, PairInput};
    use rgan::eval::FidStatistics;
    use rgan::eval::translation::score_translations;
    let Some(weights) = weights() else { return };
    let device = Device::default();
    let net = FidInceptionV3::load(&weights, &device).unwrap();
    let data = Cifar10 { pixels: (0..4 * 3072).map(|i| ((i * 37) % 256) as u8).collect(), labels: vec![0, 1, 2, 3] };
    let pairs = DerivedPairs::new(&data, PairInput::Grey).unwrap();
    let colourise =
        |x: &Tensor<4>| Ok(Tensor::cat(vec![x.clone(), x.clone().mul_scalar(0.5), x.clone().neg()], 1).tanh());
    let fresh = score_translations(colourise, &pairs, Some(&net), None, &device, |_, _, _, _| Ok(()), |_| {}).unwrap();
    let stats = fresh.target_statistics.clone().expect("computed targets' statistics are returned");
    assert_eq!((stats.count, stats.dims()), (4, 2048));
    let cached =
        score_translations(colourise, &pairs, Some(&net), Some(&stats), &device, |_, _, _, _| Ok(()), |_| {}).unwrap();
    assert!(fresh.fid.unwrap() > 0.0, "{fresh:?}");
    assert_eq!(cached.fid, fresh.fid);
    assert_eq!((cached.l1, cached.psnr), (fresh.l1, fresh.psnr));
    assert!(cached.target_statistics.is_none(), "given statistics are not returned again");
    let narrow = FidStatistics { mu: vec![0.0; 3], sigma: vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], count: 0 };
    let err = score_translations(colourise, &pairs, Some(&net), Some(&narrow), &device, |_, _, _, _| Ok(()), |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("target_statistics") && err.contains("2048"), "{err}");
    let err = score_translations(colourise, &pairs, None, Some(&stats), &device, |_, _, _, _| Ok(()), |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("target_statistics"), "{err}");
}
