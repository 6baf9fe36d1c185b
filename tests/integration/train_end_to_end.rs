//! End-to-end checks of the trainer on a few synthetic 28×28 images: checkpoints round-trip
//! exactly, a resumed run equals an uninterrupted one bit for bit (networks, optimizers, moving
//! average, replay pool, random state, data position, scalars), corrupt checkpoint files give
//! errors naming the file, a diverging run stops and keeps its last good checkpoint, hooks and the
//! stop flag end a run with a checkpoint, every GAN kind trains, and the step ratio, optimizers
//! and weight clipping do what they say.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use rgan::data::{ImageBatches, Mnist};
use rgan::model::{BatchNormMode, GanGenerator, GeneratorInputs};
use rgan::recipes::mnist::{GanKind, MnistGeneratorConfig, MnistRecipe, MnistStep};
use rgan::rng::Rng;
use rgan::train::{
    Checkpoint, HookAction, OptimizerConfig, OptimizerKind, StepReport, TrainConfig, TrainHook, TrainStep, Trainer,
    resolve_checkpoint,
};

/// `n` random 28×28 images with labels `0, 1, …, 9, 0, …`.
pub(super) fn synthetic(n: usize) -> Mnist {
    common::synthetic_mnist(n, 17)
}

/// A fresh, empty log folder for one test.
pub(super) fn logdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rgan-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `config` made small and fast: batch 4, a 2×2 grid, samples only at the end, a scalar row
/// every step, no timed checkpoints.
pub(super) fn small(config: TrainConfig) -> TrainConfig {
    config.with_batch_size(4).with_grid_size(2).with_sample_every(0).with_log_every(1).with_checkpoint_secs(0)
}

fn device() -> Device {
    Device::default().autodiff()
}

/// A run of TF-GAN's MNIST networks (`recipe`) with `config` in `dir`: started, or resumed from
/// its newest checkpoint unless `restart`.
pub(super) fn mnist_run<'d>(
    recipe: &MnistRecipe,
    config: TrainConfig,
    data: &'d Mnist,
    dir: &Path,
    restart: bool,
) -> rgan::Result<Trainer<MnistStep, ImageBatches<'d, Mnist>>> {
    recipe.trainer(config, data, dir, restart, &device())
}

/// [`mnist_run`] of TF-GAN's unconditional MNIST GAN, started or resumed.
fn run<'d>(config: TrainConfig, data: &'d Mnist, dir: &Path) -> Trainer<MnistStep, ImageBatches<'d, Mnist>> {
    mnist_run(&MnistRecipe::default(), config, data, dir, false).unwrap()
}

/// The step of a checkpoint (any path `resolve_checkpoint` accepts).
fn saved_step(path: &Path) -> usize {
    Checkpoint::open(path).unwrap().step()
}

/// One float tensor of a module: where it is, its shape, its bits, whether it is trained.
#[derive(Debug, PartialEq)]
struct Tensor1 {
    path: String,
    shape: Vec<usize>,
    bits: Vec<u32>,
    trainable: bool,
}

/// Collects every float tensor of a module (parameters and buffers) in visiting order.
#[derive(Default)]
struct Collector {
    path: Vec<String>,
    tensors: Vec<Tensor1>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let trainable = value.is_require_grad();
        let shape = value.dims().to_vec();
        let values: Vec<f32> = value.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        self.tensors.push(Tensor1 {
            path: format!("{}#{}", self.path.join("."), self.tensors.len()),
            shape,
            bits: values.iter().map(|v| v.to_bits()).collect(),
            trainable,
        });
    }
}

fn tensors<M: Module>(module: &M) -> Vec<Tensor1> {
    let mut collector = Collector::default();
    module.visit(&mut collector);
    assert!(!collector.tensors.is_empty(), "the module has no float tensors");
    collector.tensors
}

/// Asserts two modules hold bit-identical float tensors (parameters and buffers), naming the
/// first tensor that differs.
pub(super) fn assert_same_tensors<M: Module>(a: &M, b: &M, what: &str) {
    let (a, b) = (tensors(a), tensors(b));
    assert_eq!(a.len(), b.len(), "{what}: different numbers of tensors");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((&x.path, &x.shape), (&y.path, &y.shape), "{what}: different structure");
        let differing = x.bits.iter().zip(&y.bits).filter(|(p, q)| p != q).count();
        assert!(differing == 0, "{what}: {} differs in {differing} of {} values", x.path, x.bits.len());
    }
}

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

/// The checkpoint files that hold tensors or optimizer state.
const BINARY_FILES: [&str; 4] =
    ["generator.bpk", "discriminator.bpk", "generator_optimizer.bpk", "discriminator_optimizer.bpk"];

/// A CBOR value, as much of CBOR as burnpack metadata uses.
#[derive(Clone, Debug, PartialEq)]
enum Cbor {
    Uint(u64),
    Neg(u64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Simple(u64),
}

impl Cbor {
    fn parse(bytes: &[u8], at: &mut usize) -> Cbor {
        let head = bytes[*at];
        *at += 1;
        let (major, info) = (head >> 5, head & 0x1f);
        let arg = |at: &mut usize| -> u64 {
            let n = match info {
                0..=23 => return info as u64,
                24 => 1,
                25 => 2,
                26 => 4,
                27 => 8,
                _ => panic!("unsupported CBOR argument {info} at byte {}", *at - 1),
            };
            let value = bytes[*at..*at + n].iter().fold(0u64, |v, b| (v << 8) | *b as u64);
            *at += n;
            value
        };
        match major {
            0 => Cbor::Uint(arg(at)),
            1 => Cbor::Neg(arg(at)),
            2 | 3 => {
                let n = arg(at) as usize;
                let data = bytes[*at..*at + n].to_vec();
                *at += n;
                if major == 2 { Cbor::Bytes(data) } else { Cbor::Text(String::from_utf8(data).unwrap()) }
            }
            4 => Cbor::Array((0..arg(at)).map(|_| Cbor::parse(bytes, at)).collect()),
            5 => Cbor::Map((0..arg(at)).map(|_| (Cbor::parse(bytes, at), Cbor::parse(bytes, at))).collect()),
            6 => {
                arg(at);
                Cbor::parse(bytes, at)
            }
            _ => Cbor::Simple(arg(at)),
        }
    }

    fn find(&self, key: &str) -> Option<&Cbor> {
        let Cbor::Map(entries) = self else { panic!("not a map: {self:?}") };
        entries.iter().find(|(k, _)| *k == Cbor::Text(key.into())).map(|(_, v)| v)
    }

    fn get(&self, key: &str) -> &Cbor {
        self.find(key).unwrap_or_else(|| panic!("no {key} in {self:?}"))
    }

    fn uint(&self) -> u64 {
        match self {
            Cbor::Uint(v) => *v,
            other => panic!("not an unsigned integer: {other:?}"),
        }
    }
}

/// One tensor of a burnpack file: dtype, shape, bytes.
type PackedTensor = (String, Vec<u64>, Vec<u8>);

/// The tensors of a burnpack file (burn's `.bpk`: a 10-byte header, CBOR metadata, 256-byte
/// aligned data) by name, with their parameter ids.
fn burnpack_tensors(path: &Path) -> BTreeMap<String, (PackedTensor, Option<u64>)> {
    let bytes = read(path);
    assert_eq!(&bytes[..4], b"NRUB", "{} is not a burnpack file", path.display());
    let metadata_len = u32::from_le_bytes(bytes[6..10].try_into().unwrap()) as usize;
    let mut at = 10;
    let metadata = Cbor::parse(&bytes, &mut at);
    assert_eq!(at, 10 + metadata_len, "{}: metadata length", path.display());
    let data_start = (10 + metadata_len).div_ceil(256) * 256;
    let Cbor::Map(tensors) = metadata.get("tensors") else { panic!("{}: no tensor map", path.display()) };
    tensors
        .iter()
        .map(|(name, descriptor)| {
            let Cbor::Text(name) = name else { panic!("tensor name {name:?}") };
            let Cbor::Array(offsets) = descriptor.get("data_offsets") else { panic!("data_offsets") };
            let (start, end) = (data_start + offsets[0].uint() as usize, data_start + offsets[1].uint() as usize);
            let Cbor::Array(shape) = descriptor.get("shape") else { panic!("shape") };
            let dtype = format!("{:?}", descriptor.get("dtype"));
            let id = descriptor.find("param_id").map(Cbor::uint);
            (name.clone(), ((dtype, shape.iter().map(Cbor::uint).collect(), bytes[start..end].to_vec()), id))
        })
        .collect()
}

/// The tensors of a checkpoint's `.bpk` file by name, comparable across runs: parameter ids are
/// random per run, so an optimizer's tensors, named `<param id>.<state>`, are renamed
/// `<parameter path>.<state>` through the network's file; the ids themselves are left out (burn
/// does not restore the ids of buffers such as batch-norm statistics when loading, so a resumed
/// run saves the same values under other buffer ids). Raw bytes are not comparable either: burn
/// writes an optimizer's tensors in hash-map order.
fn checkpoint_tensors(dir: &Path, file: &str) -> BTreeMap<String, PackedTensor> {
    let tensors = burnpack_tensors(&dir.join(file));
    assert!(!tensors.is_empty(), "{file} holds no tensors");
    let Some(network) = file.strip_suffix("_optimizer.bpk") else {
        return tensors.into_iter().map(|(name, (tensor, _))| (name, tensor)).collect();
    };
    let paths: BTreeMap<String, String> = burnpack_tensors(&dir.join(format!("{network}.bpk")))
        .into_iter()
        .filter_map(|(path, (_, id))| id.map(|id| (id.to_string(), path)))
        .collect();
    tensors
        .into_iter()
        .map(|(name, (tensor, _))| {
            let (id, state) = name.split_once('.').unwrap_or_else(|| panic!("{file}: tensor {name}"));
            let path = paths.get(id).unwrap_or_else(|| panic!("{file}: {name} is the state of no {network} parameter"));
            (format!("{path}.{state}"), tensor)
        })
        .collect()
}

/// Asserts two checkpoint folders hold the same files, the same tensors (values, shapes, names:
/// networks, optimizer state, moving average) and the same training state (step, configuration,
/// random state, data position, fixed noise, replay pool).
pub(super) fn assert_same_checkpoints(a: &Path, b: &Path) {
    let names = |dir: &Path| {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    assert_eq!(names(a), names(b), "{} and {} hold different files", a.display(), b.display());
    for file in names(a).iter().filter(|f| f.ends_with(".bpk")) {
        let (x, y) = (checkpoint_tensors(a, file), checkpoint_tensors(b, file));
        assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>(), "{file}: different tensor names");
        for (name, value) in &x {
            assert!(*value == y[name], "{file}: {name} differs between {} and {}", a.display(), b.display());
        }
    }
    // The state without the files' checksums (an optimizer's record lists its tensors in hash-map
    // order, so equal states can be written as different bytes).
    let state = |dir: &Path| {
        let mut value = serde_json::to_value(Checkpoint::open(dir).unwrap().state()).unwrap();
        value.as_object_mut().unwrap().remove("files");
        value
    };
    assert_eq!(state(a), state(b), "state.json differs between {} and {}", a.display(), b.display());
}

/// The rows of `scalars.csv` as `(step, columns by name)`, dropping the timing column.
pub(super) fn scalar_rows(logdir: &Path) -> Vec<(usize, Vec<(String, String)>)> {
    let csv = std::fs::read_to_string(logdir.join("scalars.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("scalars.csv has no header").split(',').collect();
    assert_eq!(header[0], "step");
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), header.len(), "row {line:?} of {csv}");
            let values = header[1..]
                .iter()
                .zip(&cells[1..])
                .filter(|(name, _)| **name != "steps_per_sec")
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect();
            (cells[0].parse().unwrap(), values)
        })
        .collect()
}

/// Stops the run after step `at`, recording the steps it saw.
struct StopAt {
    at: usize,
    seen: Vec<usize>,
}

impl<S: TrainStep<Report = StepReport>> TrainHook<S> for StopAt {
    fn after_step(&mut self, report: &StepReport, _: &S) -> rgan::Result<HookAction> {
        self.seen.push(report.step);
        Ok(if report.step == self.at { HookAction::Stop } else { HookAction::Continue })
    }
}

#[test]
fn a_checkpoint_round_trips_exactly() {
    let data = synthetic(12);
    let dir = logdir("roundtrip");
    let config = small(TrainConfig::new()).with_steps(2);
    let mut trainer = run(config.clone(), &data, &dir);
    let summary = trainer.run(|_: &StepReport| {}).unwrap();
    let checkpoint = summary.checkpoint.unwrap();
    assert_eq!(checkpoint, dir.join("checkpoints/step-000002"));
    assert_eq!(resolve_checkpoint(&dir).unwrap(), checkpoint);

    // The same log folder resumes (the checkpoint is copied first: saving the resumed run must
    // not overwrite it).
    let resumed_dir = dir.join("resumed");
    copy_checkpoint(&checkpoint, &resumed_dir.join("checkpoints/step-000002"));
    std::fs::write(resumed_dir.join("checkpoints/latest"), "step-000002").unwrap();
    let mut resumed = run(config.clone(), &data, &resumed_dir);
    assert_eq!((resumed.global_step(), resumed.resumed_from()), (2, Some(2)));
    assert_eq!(serde_json::to_value(resumed.step().config()).unwrap(), serde_json::to_value(&config).unwrap());
    assert_same_tensors(&trainer.step().model().generator, &resumed.step().model().generator, "generator");
    assert_same_tensors(&trainer.step().model().discriminator, &resumed.step().model().discriminator, "discriminator");

    // The same images from the same noise, in both batch-norm modes, and the same critic scores.
    let plain = Device::default();
    let noise = GeneratorInputs::noise(Rng::seed_from_u64(3).normal([5, 64], 0.0, 1.0, &plain));
    for mode in [BatchNormMode::MovingAverages, BatchNormMode::BatchStatistics] {
        let a = trainer.step().model().generator.valid().generate_with(&noise, mode).unwrap();
        let b = resumed.step().model().generator.valid().generate_with(&noise, mode).unwrap();
        assert_eq!(a.to_data(), b.to_data(), "{mode:?}");
    }
    let images = Rng::seed_from_u64(4).uniform([3, 1, 28, 28], -1.0, 1.0, &plain);
    let a = trainer.step().model().discriminator.valid().forward(images.clone()).unwrap();
    let b = resumed.step().model().discriminator.valid().forward(images).unwrap();
    assert_eq!(a.to_data(), b.to_data());

    // Saving the resumed trainer writes the same checkpoint: networks, optimizer state, and the
    // training state (step, configuration, random state, data position).
    let again = resumed.save_checkpoint().unwrap();
    assert_eq!(again, resumed_dir.join("checkpoints/step-000002"));
    assert_same_checkpoints(&checkpoint, &again);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Trains `config` to step 3 straight (run A) and in two runs (B: stopped after step 1, dropped,
/// resumed from its log folder), and asserts both end bit-identical.
fn resume_equals_straight_run(name: &str, recipe: MnistRecipe, config: TrainConfig, stop_by_steps: bool) {
    let data = synthetic(12);
    let config = small(config).with_steps(3).with_checkpoint_every(0);
    let (dir_a, dir_b) = (logdir(&format!("{name}-straight")), logdir(&format!("{name}-resumed")));

    let mut a = mnist_run(&recipe, config.clone(), &data, &dir_a, false).unwrap();
    let summary_a = a.run(|_: &StepReport| {}).unwrap();
    assert_eq!((summary_a.step, summary_a.interrupted), (3, false));

    {
        // Run B's first part: stopped after step 1 either by its step count (then resumed with a
        // new one) or by a hook, as an interrupted run.
        let first = if stop_by_steps { config.clone().with_steps(1) } else { config.clone() };
        let mut b = mnist_run(&recipe, first, &data, &dir_b, false).unwrap();
        let mut stop = StopAt { at: 1, seen: Vec::new() };
        let summary = b.run_with_hooks(&mut [&mut stop]).unwrap();
        assert_eq!(summary.step, 1);
        assert_eq!(stop.seen, vec![1]);
    }
    let mut b = mnist_run(&recipe, config.clone(), &data, &dir_b, false).unwrap();
    assert_eq!(b.global_step(), 1);
    let summary_b = b.run(|_: &StepReport| {}).unwrap();
    assert_eq!((summary_b.step, summary_b.interrupted), (3, false));

    let (sa, sb) = (a.step(), b.step());
    assert_same_tensors(&sa.model().generator, &sb.model().generator, &format!("{name}: generator"));
    assert_same_tensors(&sa.model().discriminator, &sb.model().discriminator, &format!("{name}: discriminator"));
    assert_eq!(sa.generator_ema().is_some(), config.generator_ema_decay.is_some());
    if let (Some(x), Some(y)) = (sa.generator_ema(), sb.generator_ema()) {
        assert_same_tensors(&x, &y, &format!("{name}: generator moving average"));
    }
    // The step-3 checkpoints: the same network, optimizer and moving-average tensors, the same
    // random state, data position and replay pool.
    let (checkpoint_a, checkpoint_b) = (summary_a.checkpoint.unwrap(), summary_b.checkpoint.unwrap());
    assert_eq!(checkpoint_a, dir_a.join("checkpoints/step-000003"));
    assert_eq!(checkpoint_b, dir_b.join("checkpoints/step-000003"));
    assert_same_checkpoints(&checkpoint_a, &checkpoint_b);
    for file in BINARY_FILES {
        assert!(checkpoint_b.join(file).is_file(), "{file}");
    }
    if config.generator_ema_decay.is_some() {
        assert!(checkpoint_b.join("generator_ema.bpk").is_file());
    }
    // The same sample grid.
    assert_eq!(sa.samples().unwrap()[0].images.to_data(), sb.samples().unwrap()[0].images.to_data());

    // One scalar row per step in the resumed run's CSV, with the straight run's values.
    let (rows_a, rows_b) = (scalar_rows(&dir_a), scalar_rows(&dir_b));
    assert_eq!(rows_b.iter().map(|(step, _)| *step).collect::<Vec<_>>(), vec![1, 2, 3], "{name}");
    assert_eq!(rows_a, rows_b, "{name}: the losses differ");
    std::fs::remove_dir_all(&dir_a).unwrap();
    std::fs::remove_dir_all(&dir_b).unwrap();
}

#[test]
fn resuming_equals_an_uninterrupted_run_bit_for_bit() {
    resume_equals_straight_run("default", MnistRecipe::default(), TrainConfig::new(), false);
}

#[test]
fn resuming_an_infogan_with_pool_ema_and_penalty_equals_an_uninterrupted_run() {
    let recipe = MnistRecipe::for_kind(GanKind::InfoGan);
    let mut config = recipe.train_config().with_replay_pool_size(3).with_generator_ema_decay(Some(0.9));
    config.loss.gradient_penalty_weight = Some(10.0);
    resume_equals_straight_run("infogan", recipe, config, true);
}

#[test]
fn resuming_with_rmsprop_and_momentum_sgd_sequentially_equals_an_uninterrupted_run() {
    let mut config = TrainConfig::new()
        .with_schedule(rgan::train::TrainSchedule::Sequential)
        .with_discriminator_train_steps(2)
        .with_weight_clip(Some(0.05));
    config.discriminator_optimizer = OptimizerConfig::new(1e-4).with_kind(OptimizerKind::RmsProp).with_momentum(0.5);
    config.generator_optimizer = OptimizerConfig::new(1e-3).with_kind(OptimizerKind::Sgd).with_momentum(0.9);
    resume_equals_straight_run("rmsprop-sgd", MnistRecipe::default(), config, false);
}

/// Copies a checkpoint folder's files into a fresh folder (as hard links where possible: replace a
/// file, never write into it).
fn copy_checkpoint(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if std::fs::hard_link(entry.path(), &target).is_err() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A log folder holding a copy of `checkpoint` as its newest.
fn logdir_with(checkpoint: &Path, dir: &Path) -> PathBuf {
    let name = checkpoint.file_name().unwrap().to_string_lossy().into_owned();
    copy_checkpoint(checkpoint, &dir.join("checkpoints").join(&name));
    std::fs::write(dir.join("checkpoints/latest"), &name).unwrap();
    dir.join("checkpoints").join(name)
}

#[test]
fn corrupt_checkpoint_files_give_errors_naming_them() {
    let data = synthetic(8);
    let dir = logdir("corrupt");
    let config = small(TrainConfig::new()).with_steps(1);
    let good = run(config.clone(), &data, &dir).run(|_: &StepReport| {}).unwrap().checkpoint.unwrap();
    let resume_error = |logdir: &Path| match mnist_run(&MnistRecipe::default(), config.clone(), &data, logdir, false) {
        Ok(_) => panic!("{} resumed", logdir.display()),
        Err(e) => e.to_string(),
    };
    let assert_names = |err: &str, needles: &[&str]| {
        for needle in needles {
            assert!(err.contains(needle), "{needle:?} missing from: {err}");
        }
    };

    // No checkpoint at all.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = resolve_checkpoint(&empty).unwrap_err().to_string();
    assert_names(&err, &[empty.to_str().unwrap(), "is not a checkpoint", "checkpoints/latest"]);

    // `latest` names a folder that does not exist.
    let dangling = dir.join("dangling");
    std::fs::create_dir_all(dangling.join("checkpoints")).unwrap();
    std::fs::write(dangling.join("checkpoints/latest"), "step-000099\n").unwrap();
    let err = resolve_checkpoint(&dangling).unwrap_err().to_string();
    assert_names(&err, &["checkpoints/latest", "step-000099", "no state.json"]);

    // Damaged files of a checkpoint folder, each in its own copy: the checksum recorded in
    // state.json catches them; with the checksum rewritten to match, the record itself is refused.
    let half = |bytes: Vec<u8>| bytes[..bytes.len() / 2].to_vec();
    let garbage = |bytes: Vec<u8>| bytes.iter().enumerate().map(|(i, _)| (i * 37 % 251) as u8).collect::<Vec<_>>();
    let flip = |mut bytes: Vec<u8>| {
        let at = bytes.len() - 5;
        bytes[at] ^= 0x10;
        bytes
    };
    let state_json = |edit: fn(&mut serde_json::Value)| {
        move |bytes: Vec<u8>| {
            let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            edit(&mut value);
            serde_json::to_vec(&value).unwrap()
        }
    };
    let check = |case: &str,
                 file: &str,
                 damage: &dyn Fn(Vec<u8>) -> Vec<u8>,
                 matching_checksum: bool,
                 reasons: &[&str]| {
        let copy = logdir_with(&good, &dir.join(case));
        let damaged = damage(read(copy.join(file)));
        std::fs::remove_file(copy.join(file)).unwrap();
        std::fs::write(copy.join(file), &damaged).unwrap();
        if matching_checksum {
            let mut state: serde_json::Value = serde_json::from_slice(&read(copy.join("state.json"))).unwrap();
            state["files"][file] = serde_json::json!(crc32c::crc32c(&damaged));
            // Replace the file, never write into it: it may be a hard link to the good one.
            std::fs::remove_file(copy.join("state.json")).unwrap();
            std::fs::write(copy.join("state.json"), serde_json::to_vec(&state).unwrap()).unwrap();
        }
        let err = resume_error(&dir.join(case));
        assert!(err.contains(&copy.join(file).display().to_string()), "{case}: the path of {file} missing from: {err}");
        assert_names(&err, reasons);
    };
    check("truncated-generator", "generator.bpk", &half, false, &["is corrupt", "checksum"]);
    check("flipped-bit-discriminator", "discriminator.bpk", &flip, false, &["is corrupt", "checksum"]);
    check("truncated-generator-record", "generator.bpk", &half, true, &["checkpoint record error"]);
    check("garbage-discriminator", "discriminator.bpk", &garbage, true, &["checkpoint record error"]);
    check("empty-discriminator", "discriminator.bpk", &|_| Vec::new(), true, &["checkpoint record error"]);
    check("truncated-generator-optimizer", "generator_optimizer.bpk", &half, true, &["optimizer record error"]);
    check(
        "garbage-discriminator-optimizer",
        "discriminator_optimizer.bpk",
        &garbage,
        true,
        &["optimizer record error"],
    );
    check("not-json", "state.json", &|_| b"{ this is not json".to_vec(), false, &["is not a valid checkpoint state"]);
    check(
        "wrong-type",
        "state.json",
        &state_json(|v| v["step"] = serde_json::json!("two")),
        false,
        &["is not a valid checkpoint state", "invalid type"],
    );
    check(
        "missing-entry",
        "state.json",
        &state_json(|v| {
            v["step_state"].as_object_mut().unwrap().remove("rng");
        }),
        false,
        &["has no `rng` entry"],
    );
    check(
        "old-format",
        "state.json",
        &state_json(|v| {
            v.as_object_mut().unwrap().remove("format");
        }),
        false,
        &["earlier rgan", "format 1"],
    );

    // A missing optimizer file.
    let copy = logdir_with(&good, &dir.join("missing-optimizer"));
    std::fs::remove_file(copy.join("discriminator_optimizer.bpk")).unwrap();
    assert_names(&resume_error(&dir.join("missing-optimizer")), &["discriminator_optimizer.bpk", "cannot read"]);

    // The good checkpoint still resumes.
    logdir_with(&good, &dir.join("good"));
    assert_eq!(run(config, &data, &dir.join("good")).resumed_from(), Some(1));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The step named in a divergence error: `... at step N: ...`.
fn error_step(err: &str) -> usize {
    let rest = &err[err.find("at step ").unwrap_or_else(|| panic!("no step in: {err}")) + 8..];
    rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap()].parse().unwrap()
}

#[test]
fn a_diverging_run_stops_and_keeps_its_last_good_checkpoint() {
    let data = synthetic(12);
    let dir = logdir("diverge");

    // Two good steps of SGD, then the run resumed with an absurd learning rate: the next
    // step's losses are finite, but its update blows the weights up, so that step (whose
    // generator makes NaN images) or a later one (whose loss is not finite) stops the run.
    let mut config = small(TrainConfig::new()).with_steps(2).with_checkpoint_every(1).with_keep_checkpoints(0);
    config.generator_optimizer = OptimizerConfig::new(1e-3).with_kind(OptimizerKind::Sgd);
    config.discriminator_optimizer = OptimizerConfig::new(1e-3).with_kind(OptimizerKind::Sgd);
    run(config.clone(), &data, &dir).run(|_: &StepReport| {}).unwrap();
    let mut absurd = config.clone().with_steps(20);
    absurd.generator_optimizer.learning_rate = 1e30;
    absurd.discriminator_optimizer.learning_rate = 1e30;
    let mut trainer = run(absurd.clone(), &data, &dir);
    let mut steps = Vec::new();
    let err = trainer.run(|r: &StepReport| steps.push(r.step)).unwrap_err().to_string();
    let bad = error_step(&err);
    assert!(bad >= 3 && bad < 20, "{err}");
    assert_eq!(steps.first(), Some(&3));
    let kept = dir.join(format!("checkpoints/step-{:06}", bad - 1));
    assert!(
        err.contains("training diverged") && err.contains(&format!("the last good checkpoint, {}", kept.display())),
        "{err}"
    );
    assert!(err.contains("NaN") || err.contains("inf"), "{err}");
    assert!(!dir.join(format!("checkpoints/step-{bad:06}")).exists());
    assert_eq!(resolve_checkpoint(&dir).unwrap(), kept);
    drop(trainer); // releases the log folder
    assert_eq!(run(absurd, &data, &dir).resumed_from(), Some(bad - 1));

    // A run started afresh in the same folder that diverges at once writes no checkpoint and
    // leaves the earlier run's checkpoints alone.
    let latest = read(dir.join("checkpoints/latest"));
    let kept_bytes: Vec<Vec<u8>> = BINARY_FILES.iter().map(|f| read(kept.join(f))).collect();
    let poisoned = MnistRecipe::new().with_generator(MnistGeneratorConfig::new().with_weight_decay(f64::INFINITY));
    let config = small(TrainConfig::new()).with_steps(3).with_checkpoint_every(1);
    let mut trainer = mnist_run(&poisoned, config, &data, &dir, true).unwrap();
    let err = trainer.run(|_: &StepReport| {}).unwrap_err().to_string();
    assert_eq!(error_step(&err), 1, "{err}");
    assert!(err.contains("generator_loss") && err.contains("no checkpoint"), "{err}");
    assert_eq!(read(dir.join("checkpoints/latest")), latest);
    assert_eq!(BINARY_FILES.iter().map(|f| read(kept.join(f))).collect::<Vec<_>>(), kept_bytes);
    assert_eq!(saved_step(&dir), bad - 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_hook_or_the_stop_flag_ends_the_run_with_a_checkpoint() {
    let data = synthetic(12);
    let dir = logdir("hooks");
    let config = small(TrainConfig::new()).with_steps(5).with_checkpoint_every(0);

    let mut trainer = run(config.clone(), &data, &dir);
    let mut stop = StopAt { at: 2, seen: Vec::new() };
    let summary = trainer.run_with_hooks(&mut [&mut stop]).unwrap();
    assert!(summary.interrupted);
    assert_eq!((summary.step, trainer.global_step()), (2, 2));
    assert_eq!(stop.seen, vec![1, 2]);
    assert_eq!(summary.checkpoint, Some(dir.join("checkpoints/step-000002")));
    assert_eq!(saved_step(&dir), 2);
    assert!(summary.samples.unwrap().is_file() && summary.loss_curves.unwrap().is_file());

    // A hook's error ends the run with that error.
    struct Fails;
    impl<S: TrainStep> TrainHook<S> for Fails {
        fn after_step(&mut self, _: &S::Report, _: &S) -> rgan::Result<HookAction> {
            Err(rgan::RganError::invalid("hook", "refuses"))
        }
    }
    let err = run(config.clone(), &data, &dir.join("failing")).run(Fails).unwrap_err();
    assert!(err.to_string().contains("refuses"), "{err}");

    // A stop flag already set: one step, then a checkpoint.
    let flagged = dir.join("flag");
    let mut trainer = run(config, &data, &flagged);
    trainer.set_stop_flag(Arc::new(AtomicBool::new(true)));
    let summary = trainer.run(|_: &StepReport| {}).unwrap();
    assert!(summary.interrupted);
    assert_eq!(summary.step, 1);
    assert_eq!(summary.checkpoint, Some(flagged.join("checkpoints/step-000001")));
    assert_eq!(saved_step(&flagged), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_gan_kind_trains_a_step_and_samples_its_grid() {
    let data = synthetic(12);
    let dir = logdir("kinds");
    for (kind, rows) in
        [(GanKind::Unconditional, 2), (GanKind::Conditional, 10), (GanKind::InfoGan, 10), (GanKind::AcGan, 10)]
    {
        let recipe = MnistRecipe::for_kind(kind);
        let config = small(recipe.train_config()).with_steps(1);
        let logdir = dir.join(format!("{kind:?}"));
        let mut trainer = mnist_run(&recipe, config, &data, &logdir, false).unwrap();
        let report = trainer.train_step().unwrap();
        assert_eq!(report.step, 1);
        assert!(report.d_loss.is_finite() && report.g_loss.is_finite(), "{kind:?}: {report:?}");
        assert_eq!(report.mutual_information_penalty.is_some(), kind == GanKind::InfoGan, "{kind:?}");
        assert!(report.mutual_information_penalty.is_none_or(f64::is_finite), "{kind:?}: {report:?}");
        assert_eq!(trainer.step().samples().unwrap()[0].images.dims(), [rows * 2, 1, 28, 28], "{kind:?}");
        let png = trainer.write_samples().unwrap().unwrap();
        let grid = image::open(&png).unwrap();
        assert_eq!((grid.width(), grid.height()), (56, 28 * rows as u32), "{kind:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_discriminator_step_ratio_draws_one_batch_per_update() {
    let data = synthetic(40);
    let dir = logdir("ratio");
    for (schedule, g, d, batches) in [
        (rgan::train::TrainSchedule::Joint, 1, 3, 3),
        (rgan::train::TrainSchedule::Joint, 2, 1, 2),
        (rgan::train::TrainSchedule::Sequential, 1, 3, 4),
        (rgan::train::TrainSchedule::Alternating, 2, 3, 3),
    ] {
        let config = small(TrainConfig::new())
            .with_schedule(schedule)
            .with_generator_train_steps(g)
            .with_discriminator_train_steps(d);
        let logdir = dir.join(format!("{schedule:?}-{g}-{d}"));
        let mut trainer = run(config, &data, &logdir);
        let report = trainer.train_step().unwrap();
        assert!(report.d_loss.is_finite() && report.g_loss.is_finite(), "{report:?}");
        // A fresh batch source starts at example 0 of epoch 0; each update drew one batch of 4
        // (the alternating schedule's generator updates reuse the last).
        let saved = Checkpoint::open(trainer.save_checkpoint().unwrap()).unwrap();
        let position = &saved.state().data["batcher"];
        assert_eq!(
            (position["epoch"].as_u64(), position["index"].as_u64()),
            (Some(0), Some(4 * batches as u64)),
            "{schedule:?} {g}:{d}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rmsprop_and_sgd_train_and_weight_clipping_bounds_the_discriminator() {
    let data = synthetic(12);
    let dir = logdir("optimizers");
    for kind in [OptimizerKind::RmsProp, OptimizerKind::Sgd] {
        let mut config = small(TrainConfig::new());
        config.discriminator_optimizer = OptimizerConfig::new(1e-3).with_kind(kind);
        config.generator_optimizer = OptimizerConfig::new(1e-3).with_kind(kind);
        let mut trainer = run(config, &data, &dir.join(format!("{kind:?}")));
        let model = trainer.step().model();
        let (g0, d0) = (tensors(&model.generator), tensors(&model.discriminator));
        let report = trainer.train_step().unwrap();
        assert!(report.d_loss.is_finite() && report.g_loss.is_finite(), "{kind:?}: {report:?}");
        // Both networks' trained tensors moved (nearly all: a bias before a batch norm gets no
        // gradient).
        let model = trainer.step().model();
        for (before, after) in [(g0, tensors(&model.generator)), (d0, tensors(&model.discriminator))] {
            let trained: Vec<_> = before.iter().zip(&after).filter(|(x, _)| x.trainable).collect();
            let still: Vec<&str> =
                trained.iter().filter(|(x, y)| x.bits == y.bits).map(|(x, _)| x.path.as_str()).collect();
            assert!(!trained.is_empty() && still.len() * 2 < trained.len(), "{kind:?}: {still:?} did not move");
        }
    }

    // Weight clipping: every trained discriminator tensor in [-c, c] after a step (buffers such
    // as batch-norm statistics and spectral-norm vectors are not clipped), and clipping bites.
    let c = 0.01f32;
    let config = small(TrainConfig::new()).with_weight_clip(Some(c as f64));
    let mut trainer = run(config, &data, &dir.join("clip"));
    let before = tensors(&trainer.step().model().discriminator);
    let over = |t: &Tensor1| t.bits.iter().map(|b| f32::from_bits(*b).abs()).fold(0.0f32, f32::max);
    assert!(before.iter().any(|t| t.trainable && over(t) > c), "nothing to clip");
    trainer.train_step().unwrap();
    let after = tensors(&trainer.step().model().discriminator);
    let trained: Vec<&Tensor1> = after.iter().filter(|t| t.trainable).collect();
    assert!(!trained.is_empty());
    for t in &trained {
        assert!(over(t) <= c, "{} reaches {} > {c}", t.path, over(t));
    }
    assert!(trained.iter().any(|t| over(t) == c), "no tensor was clipped");
    // The generator is not clipped.
    assert!(tensors(&trainer.step().model().generator).iter().any(|t| t.trainable && over(t) > c));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// TF-GAN's MNIST networks take 28 × 28 grey images: other data is refused, naming its shape.
#[test]
fn the_mnist_recipe_refuses_other_image_shapes() {
    let data =
        Mnist { images: rgan::data::IdxImages { count: 4, rows: 2, cols: 2, pixels: vec![0; 16] }, labels: vec![0; 4] };
    let err = mnist_run(&MnistRecipe::default(), small(TrainConfig::new()), &data, &logdir("shape"), false)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("[1, 2, 2]"), "{err}");
}
