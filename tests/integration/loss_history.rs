//! No number changes unnoticed: the first 50 steps' losses of TF-GAN's unconditional MNIST GAN
//! and of the zoo's WGAN-GP are the recording's bit for bit (`tests/fixtures/rgan/README.md`
//! says when and why each recording was made).
//!
//! Float results depend on the kernels the processor runs (AVX-512 or AVX2, for gemm and rgan's
//! own), so the fixture holds one recording per kind of processor. With
//! `RGAN_RECORD_LOSS_HISTORY=<commit>` the test records this processor's kind instead of
//! comparing (for a change that means to change the numbers; say why in the README).

use crate::common::mnist_dir;

use burn::prelude::*;
use rgan::data::{BatchSource, ImageBatches, Mnist, Split};
use rgan::recipes::mnist::MnistRecipe;
use rgan::recipes::zoo::ZooModel;
use rgan::train::{Seeds, StepReport, TrainConfig, TrainStep};

/// The kernels of this processor, as the fixture names its recordings (none for others).
fn kernels() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        let avx512 = std::arch::is_x86_feature_detected!("avx512f");
        match (avx512, rgan::ops::cpu_capability()) {
            (true, "avx512") => return Some("avx512"),
            (false, "avx2") => return Some("avx2"),
            _ => {}
        }
    }
    None
}

/// The reports of `steps` steps of `step`, fed from the start of `data` as a run of `config`.
fn reports<S: TrainStep<Report = StepReport, Batch = rgan::data::Batch>>(
    mut step: S,
    data: &Mnist,
    config: &TrainConfig,
    steps: usize,
) -> Vec<StepReport> {
    let mut source = ImageBatches::new(data, config.batch_size).unwrap();
    source.start(Seeds::new(config.seed).data).unwrap();
    let device = step.device();
    (0..steps)
        .map(|_| {
            let batches = (0..step.batches_per_step()).map(|_| source.next_batch(&device).unwrap()).collect();
            step.step(batches).unwrap()
        })
        .collect()
}

/// Asserts `reports` are the recording's, bit for bit (the fixture's `bits`: a JSON decimal
/// need not parse back to the same double).
fn assert_recorded(name: &str, recorded: &serde_json::Value, reports: &[StepReport]) {
    let steps = recorded["steps"].as_array().unwrap();
    assert_eq!(steps.len(), reports.len(), "{name}");
    let bits = |v: &serde_json::Value| v.as_str().map(|hex| u64::from_str_radix(hex, 16).unwrap());
    for (row, report) in steps.iter().zip(reports) {
        let step = row["step"].as_u64().unwrap() as usize;
        assert_eq!(report.step, step, "{name}");
        let fields = [
            ("discriminator_loss", Some(report.d_loss)),
            ("generator_loss", Some(report.g_loss)),
            ("gradient_penalty", report.gradient_penalty),
        ];
        for ((field, got), expected) in fields.into_iter().zip(row["bits"].as_array().unwrap()) {
            assert_eq!(
                got.map(f64::to_bits),
                bits(expected),
                "{name} step {step} {field}: {got:?} vs recorded {}",
                row[field]
            );
        }
    }
}

#[test]
fn the_first_50_steps_are_the_recorded_ones_bit_for_bit() {
    let Some(dir) = mnist_dir() else { return };
    let Some(kernels) = kernels() else {
        eprintln!("skipped: no recording for this processor's kernels ({})", rgan::ops::cpu_capability());
        return;
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rgan/loss_history.json");
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let recording = std::env::var("RGAN_RECORD_LOSS_HISTORY").ok();
    let recorded = &fixture["runs"][kernels];
    let data = Mnist::load(&dir, Split::Train).unwrap().truncated(2048);
    let device = Device::default().autodiff();

    let batch = |name: &str| recorded[name]["batch_size"].as_u64().unwrap() as usize;
    let recipe = MnistRecipe::default();
    let config = recipe.train_config().with_batch_size(batch("unconditional"));
    let step = recipe.step(&config, Seeds::new(config.seed), &device).unwrap();
    let unconditional = reports(step, &data, &config, 50);

    let model = ZooModel::WganGp;
    let wgan_config = model.train_config().with_batch_size(batch("wgan-gp"));
    let step = model.recipe().step(&wgan_config, Seeds::new(wgan_config.seed), &device).unwrap();
    let wgan_gp = reports(step, &data, &wgan_config, 50);

    if let Some(commit) = recording {
        let mut fixture = fixture;
        fixture["recorded_at_commit"][kernels] = serde_json::json!(commit);
        fixture["runs"][kernels] = serde_json::json!({
            "unconditional": recording_of(config.batch_size, &unconditional),
            "wgan-gp": recording_of(wgan_config.batch_size, &wgan_gp),
        });
        std::fs::write(&path, serde_json::to_string_pretty(&fixture).unwrap() + "\n").unwrap();
        eprintln!("recorded {kernels} at {commit} into {}", path.display());
        return;
    }
    assert_recorded("unconditional", &recorded["unconditional"], &unconditional);
    assert_recorded("wgan-gp", &recorded["wgan-gp"], &wgan_gp);
}

/// The fixture's form of one run: its batch size and each step's losses, as decimals to read and
/// as f64 bits to compare.
fn recording_of(batch_size: usize, reports: &[StepReport]) -> serde_json::Value {
    let hex = |v: Option<f64>| v.map(|v| format!("{:016x}", v.to_bits()));
    let steps: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            serde_json::json!({
                "step": r.step,
                "discriminator_loss": r.d_loss,
                "generator_loss": r.g_loss,
                "gradient_penalty": r.gradient_penalty,
                "bits": [hex(Some(r.d_loss)), hex(Some(r.g_loss)), hex(r.gradient_penalty)],
            })
        })
        .collect();
    serde_json::json!({ "batch_size": batch_size, "steps": steps })
}
