//! rgan's event files, read back by TensorBoard's own reader (`EventAccumulator`).
//!
//! Needs a Python with the `tensorboard` package: `RGAN_TENSORBOARD_PYTHON` (CI installs one),
//! else `python3`. Without it the test is skipped locally, and fails under `CI=true`.

use std::process::Command;

use rgan::summary::EventWriter;

const READER: &str = r#"
import sys
from tensorboard.backend.event_processing import event_accumulator
ea = event_accumulator.EventAccumulator(sys.argv[1], size_guidance={"images": 0, "scalars": 0})
ea.Reload()
tags = ea.Tags()
for t in sorted(tags["scalars"]):
    for e in ea.Scalars(t):
        print("scalar", t, e.step, repr(e.value))
for t in sorted(tags["images"]):
    for e in ea.Images(t):
        print("image", t, e.step, e.width, e.height, len(e.encoded_image_string))
"#;

fn python() -> String {
    std::env::var("RGAN_TENSORBOARD_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The Python with TensorBoard, or `None` (the test is skipped; under `CI=true` it fails).
fn tensorboard_python() -> Option<String> {
    let py = python();
    let has_tensorboard =
        Command::new(&py).args(["-c", "import tensorboard"]).output().is_ok_and(|o| o.status.success());
    if !has_tensorboard {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must provide TensorBoard: set RGAN_TENSORBOARD_PYTHON to a Python with `tensorboard` ({py} has none)"
        );
        eprintln!("skipped: {py} has no `tensorboard` package (set RGAN_TENSORBOARD_PYTHON)");
        return None;
    }
    Some(py)
}

/// A training run's log folder opens in TensorBoard: losses, learning rates, steps/s and the
/// sample grids, at the steps they were written.
#[test]
fn tensorboard_reads_a_training_run() {
    let Some(py) = tensorboard_python() else { return };
    let dir = std::env::temp_dir().join(format!("rgan-tensorboard-run-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let mut rng = rgan::rng::Rng::seed_from_u64(1);
    let pixels = (0..8 * 784).map(|_| rng.below(256) as u8).collect();
    let data = rgan::data::Mnist {
        images: rgan::data::IdxImages { count: 8, rows: 28, cols: 28, pixels },
        labels: vec![0; 8],
    };
    let config = rgan::train::TrainConfig::new()
        .with_steps(2)
        .with_batch_size(4)
        .with_grid_size(2)
        .with_log_every(1)
        .with_sample_every(1);
    let device = burn::prelude::Device::default().autodiff();
    let recipe = rgan::recipes::mnist::MnistRecipe::default();
    let mut trainer = recipe.trainer(config, &data, &dir, false, &device).expect("trainer");
    trainer.run(|_: &rgan::train::StepReport| {}).expect("run");
    drop(trainer);
    let out = Command::new(&py).args(["-c", READER]).arg(&dir).output().expect("run python");
    assert!(out.status.success(), "TensorBoard's reader failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for tag in [
        "loss/discriminator",
        "loss/generator",
        "learning_rate/generator",
        "learning_rate/discriminator",
        "steps_per_sec",
    ] {
        for step in [1, 2] {
            let prefix = format!("scalar {tag} {step} ");
            assert!(text.lines().any(|l| l.starts_with(&prefix)), "no {prefix:?} in:\n{text}");
        }
    }
    assert!(text.lines().any(|l| l.starts_with("scalar learning_rate/generator 1 0.001")), "{text}");
    for step in [1, 2] {
        let prefix = format!("image generated {step} 56 56 ");
        assert!(text.lines().any(|l| l.starts_with(&prefix)), "no {prefix:?} in:\n{text}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tensorboard_reads_rgan_scalars_and_images() {
    let Some(py) = tensorboard_python() else { return };
    let dir = std::env::temp_dir().join(format!("rgan-tensorboard-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let mut png = Vec::new();
    let img = image::GrayImage::from_fn(5, 3, |x, y| image::Luma([(x * 40 + y * 10) as u8]));
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).expect("png");
    let png_len = png.len();
    {
        let mut w = EventWriter::create(&dir).expect("writer");
        for step in 0..3u64 {
            w.add_scalar("loss/discriminator", 1.0 + step as f64 * 0.25, step).expect("scalar");
            w.add_scalar("loss/generator", 0.5, step).expect("scalar");
        }
        w.add_png("samples", png, 5, 3, 1, 2).expect("image");
    }
    let out = Command::new(&py).args(["-c", READER]).arg(&dir).output().expect("run python");
    assert!(out.status.success(), "TensorBoard's reader failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let expected = vec![
        "scalar loss/discriminator 0 1.0".to_string(),
        "scalar loss/discriminator 1 1.25".to_string(),
        "scalar loss/discriminator 2 1.5".to_string(),
        "scalar loss/generator 0 0.5".to_string(),
        "scalar loss/generator 1 0.5".to_string(),
        "scalar loss/generator 2 0.5".to_string(),
        format!("image samples 2 5 3 {png_len}"),
    ];
    assert_eq!(lines, expected, "TensorBoard read:\n{text}");
    std::fs::remove_dir_all(&dir).ok();
}
