//! The vanilla GAN recipe on a slice of real MNIST: every promised output file exists and is
//! valid.

use crate::common;
use common::mnist_dir;

use std::path::{Path, PathBuf};

use burn::prelude::*;
use rgan::data::{Mnist, Split};
use rgan::model::{GanGenerator, GeneratorInputs};
use rgan::recipes::vanilla::{VanillaCheckpoint, VanillaGanConfig, train_vanilla};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rgan-vanilla-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    dir
}

fn gif_frames(path: &Path) -> (u16, u16, usize) {
    let file = std::fs::File::open(path).unwrap();
    let mut decoder = gif::DecodeOptions::new().read_info(file).unwrap();
    let (w, h) = (decoder.width(), decoder.height());
    let mut frames = 0;
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        assert_eq!((frame.width, frame.height), (w, h));
        frames += 1;
    }
    (w, h, frames)
}

#[test]
fn one_and_two_epochs_write_every_promised_file() {
    let Some(dir) = mnist_dir() else { return };
    let data = Mnist::load(&dir, Split::Train).unwrap().truncated(512);
    let config = VanillaGanConfig::new().with_epochs(1).with_batch_size(128);

    // One epoch: 512 images, batch 128 → 4 steps.
    let out = fresh_dir("one");
    let mut steps = Vec::new();
    let summary = train_vanilla(&config, &data, &out, |s| steps.push(*s)).unwrap();
    assert_eq!((summary.steps, summary.steps_per_epoch, steps.len()), (4, 4, 4));
    assert!(steps.iter().all(|s| s.discriminator_loss.is_finite() && s.generator_loss.is_finite()));
    assert_eq!(summary.grids, vec![out.join("epoch_001.png")]);
    let grid = image::open(out.join("epoch_001.png")).unwrap();
    assert_eq!((grid.width(), grid.height()), (224, 224));
    assert!(!out.join("epoch_002.png").exists());
    assert_eq!(gif_frames(&out.join("training.gif")), (224, 224, 1));
    for plot in ["generator_loss.png", "discriminator_loss.png"] {
        let png = image::open(out.join(plot)).unwrap();
        assert_eq!((png.width(), png.height()), (800, 500), "{plot}");
    }
    let csv = std::fs::read_to_string(out.join("losses.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "epoch,step,discriminator_loss,generator_loss");
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[4].starts_with("1,4,"), "{csv}");
    for (line, step) in lines[1..].iter().zip(&steps) {
        let fields: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
        assert_eq!(fields, [1.0, step.step as f64, step.discriminator_loss, step.generator_loss]);
    }

    // The checkpoint loads back: same generator, same optimizer state.
    let device = Device::default();
    let checkpoint = VanillaCheckpoint::load(&out, &device).unwrap();
    assert_eq!((checkpoint.epoch, checkpoint.step, checkpoint.config.encoding_dims), (1, 4, 100));
    let noise = GeneratorInputs::noise(rgan::rng::Rng::seed_from_u64(9).normal([64, 100], 0.0, 1.0, &device));
    let images = checkpoint.generator.generate(&noise).unwrap();
    rgan::summary::save_image_grid(images.clone(), 8, out.join("reloaded.png")).unwrap();
    assert_eq!(checkpoint.discriminator.forward(images).unwrap().dims(), [64, 1]);
    // Adam keeps two moments for each of the 4 parameters (2 kernels, 2 biases) of each network.
    for (optimizer, file) in [
        (&checkpoint.generator_optimizer, "generator_optimizer.bpk"),
        (&checkpoint.discriminator_optimizer, "discriminator_optimizer.bpk"),
    ] {
        assert!(out.join("checkpoints/step-000004").join(file).is_file(), "{file}");
        assert_eq!(optimizer.to_record().len(), 8, "{file}");
    }

    // Two epochs: a second grid and a two-frame animation.
    let out2 = fresh_dir("two");
    let summary = train_vanilla(&config.clone().with_epochs(2), &data, &out2, |_| {}).unwrap();
    assert_eq!((summary.steps, summary.epoch_losses.len()), (8, 2));
    assert_eq!(image::open(out2.join("epoch_002.png")).unwrap().width(), 224);
    assert_eq!(gif_frames(&out2.join("training.gif")), (224, 224, 2));
    assert_eq!(std::fs::read_to_string(out2.join("losses.csv")).unwrap().lines().count(), 9);
    assert_eq!(VanillaCheckpoint::load(out2.join("checkpoints/step-000008"), &device).unwrap().epoch, 2);
    // The first epoch of both runs is the same (seed 0).
    let first = std::fs::read(out.join("epoch_001.png")).unwrap();
    assert_eq!(std::fs::read(out2.join("epoch_001.png")).unwrap(), first);

    std::fs::remove_dir_all(&out).ok();
    std::fs::remove_dir_all(&out2).ok();
}
