//! The core trains image-to-image models with the same loop as the noise-driven ones: a pix2pix
//! model on paired folders (images in, images out, L1 + adversarial via
//! `combine_adversarial_loss`), a CycleGAN on two unpaired folders and a StarGAN on a labelled
//! folder. Each trains a few steps, checkpoints, resumes bit for bit, and refuses mismatched
//! shapes with an error naming both.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use rgan::data::{Augmentation, DecodedImage, ImageFolder, PairedImageFolder, RandomPatches};
use rgan::recipes::compression::{CompressedImage, CompressionRecipe, load_codec};
use rgan::recipes::image_to_image::{CycleGanRecipe, Pix2PixRecipe, StarGanRecipe};
use rgan::recipes::{Recipe, Translation, Translator, load_translator};
use rgan::train::{StepReport, TrainConfig, TrainStep};

use super::train_end_to_end::{assert_same_checkpoints, assert_same_tensors, logdir, scalar_rows};

/// Writes `count` 16 × 16 images of `channels` channels into `dir`, a pattern varying with `seed`.
fn write_images(dir: &Path, count: u32, channels: usize, seed: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..count {
        let value = |x: u32, y: u32, c: u32| ((x * 13 + y * 7 + c * 50 + i * 31 + seed * 17) % 256) as u8;
        let path = dir.join(format!("{i:03}.png"));
        if channels == 1 {
            image::GrayImage::from_fn(16, 16, |x, y| image::Luma([value(x, y, 0)])).save(path).unwrap();
        } else {
            image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([value(x, y, 0), value(x, y, 1), value(x, y, 2)]))
                .save(path)
                .unwrap();
        }
    }
}

fn device() -> Device {
    Device::default().autodiff()
}

/// Small, quick runs: a 2-wide sample grid, a scalar row every step, checkpoints at the end only.
fn quick(config: TrainConfig, steps: usize) -> TrainConfig {
    config
        .with_steps(steps)
        .with_grid_size(2)
        .with_sample_every(0)
        .with_log_every(1)
        .with_checkpoint_every(0)
        .with_checkpoint_secs(0)
}

/// Both runs' log folders: `straight` trained to 3 in one go, `resumed` to 1, then on to 3.
fn dirs(name: &str) -> (PathBuf, PathBuf) {
    (logdir(&format!("{name}-straight")), logdir(&format!("{name}-resumed")))
}

fn pix2pix() -> Pix2PixRecipe {
    let mut recipe = Pix2PixRecipe::for_images(1, 3, 16);
    recipe.generator.base_filters = 4;
    recipe.discriminator.base_filters = 4;
    recipe.discriminator.layers = 2;
    recipe
}

#[test]
fn a_pix2pix_model_trains_resumes_bit_for_bit_and_refuses_other_shapes() {
    let root = logdir("pix2pix-data");
    write_images(&root.join("grey"), 6, 1, 1);
    write_images(&root.join("colour"), 6, 3, 2);
    let pairs = PairedImageFolder::load(root.join("grey"), root.join("colour"), 16, [1, 3]).unwrap();
    let config = quick(Pix2PixRecipe::train_config(100.0).with_batch_size(2), 3);
    let augment = Augmentation::new().with_flip(true);
    let recipe = pix2pix();
    let (a, b) = dirs("pix2pix");

    let mut straight = recipe.trainer(config.clone(), &pairs, augment.clone(), &a, false, &device()).unwrap();
    let mut reports = Vec::new();
    let summary_a = straight.run(|r: &StepReport| reports.push(r.clone())).unwrap();
    assert_eq!(summary_a.step, 3);
    // The generator's loss is the L1 pixel loss plus 1/100 of the adversarial loss.
    for r in &reports {
        let pixel = r.pixel_loss.expect("an L1 term");
        assert!(pixel > 0.0 && r.g_loss.is_finite() && r.g_loss != pixel, "{r:?}");
    }
    // The sample grid shows input | generated | target for 2 pairs: 3 × 2 images of 16 × 16.
    let grid = image::open(summary_a.samples.unwrap()).unwrap();
    assert_eq!((grid.width(), grid.height()), (48, 32));

    recipe
        .trainer(quick(config.clone(), 1), &pairs, augment.clone(), &b, false, &device())
        .unwrap()
        .run(|_: &StepReport| {})
        .unwrap();
    let mut resumed = recipe.trainer(config.clone(), &pairs, augment.clone(), &b, false, &device()).unwrap();
    assert_eq!(resumed.resumed_from(), Some(1));
    let summary_b = resumed.run(|_: &StepReport| {}).unwrap();
    let (x, y) = (straight.step().model(), resumed.step().model());
    assert_same_tensors(&x.generator, &y.generator, "pix2pix generator");
    assert_same_tensors(&x.discriminator, &y.discriminator, "pix2pix discriminator");
    assert_same_checkpoints(&summary_a.checkpoint.unwrap(), &summary_b.checkpoint.unwrap());
    assert_eq!(scalar_rows(&a), scalar_rows(&b));

    // `rgan translate`'s loader rebuilds the trained U-Net from the log folder, and translates
    // images of any size (mirrored up to a multiple of 16, cropped back).
    let plain = Device::default();
    let (translator, loaded) = load_translator(&a, Translation::Forward, &plain).unwrap();
    assert_eq!(loaded, Recipe::Pix2Pix(recipe.clone()));
    let Translator::Pix2Pix(unet) = &translator else { panic!("{translator:?}") };
    assert_same_tensors(&x.generator, unet, "the translator's U-Net");
    let (out, shape) = translator.translate_pixels(&vec![0.1; 20 * 13], [1, 20, 13], &plain).unwrap();
    assert_eq!((out.len(), shape), (3 * 20 * 13, [3, 20, 13]));
    let err = load_translator(&a, Translation::Backward, &plain).unwrap_err().to_string();
    assert!(err.contains("forward"), "{err}");

    // Grey targets for a generator that makes colour: both shapes named.
    let grey_targets = PairedImageFolder::load(root.join("grey"), root.join("grey"), 16, [1, 1]).unwrap();
    let mut trainer = recipe.trainer(config, &grey_targets, augment, logdir("pix2pix-grey"), false, &device()).unwrap();
    let err = trainer.train_step().unwrap_err().to_string();
    assert!(err.contains("[2, 3, 16, 16]") && err.contains("[2, 1, 16, 16]"), "{err}");
}

fn cyclegan() -> CycleGanRecipe {
    let mut recipe = CycleGanRecipe::for_images(3);
    recipe.generator.base_filters = 4;
    recipe.generator.residual_blocks = 1;
    recipe.discriminator.base_filters = 4;
    recipe.discriminator.layers = 2;
    recipe
}

#[test]
fn a_cyclegan_trains_on_two_folders_resumes_bit_for_bit_and_refuses_other_shapes() {
    let root = logdir("cyclegan-data");
    write_images(&root.join("x"), 5, 3, 3);
    write_images(&root.join("y"), 7, 3, 4);
    let (x, y) = (ImageFolder::load(root.join("x"), 16, 3).unwrap(), ImageFolder::load(root.join("y"), 16, 3).unwrap());
    // TF-GAN's settings (least squares, a replay pool per half, sequential updates), batch 2.
    let config = quick(CycleGanRecipe::train_config().with_batch_size(2).with_replay_pool_size(2), 3);
    let recipe = cyclegan();
    let (a, b) = dirs("cyclegan");

    let mut straight = recipe.trainer(config.clone(), (&x, &y), Augmentation::none(), &a, false, &device()).unwrap();
    let mut reports = Vec::new();
    let summary_a = straight.run(|r: &StepReport| reports.push(r.clone())).unwrap();
    assert_eq!(summary_a.step, 3);
    for r in &reports {
        let extra = |name: &str| r.extra.iter().find(|(n, _)| *n == name).map(|&(_, v)| v);
        let cycle = extra("loss/cycle_consistency").expect("a cycle-consistency term");
        let (x2y, y2x) = (extra("loss/generator_x2y").unwrap(), extra("loss/generator_y2x").unwrap());
        assert!(cycle > 0.0 && x2y > 10.0 * cycle - 1e-4 && y2x > 10.0 * cycle - 1e-4, "{r:?}");
        assert!(r.d_loss.is_finite(), "{r:?}");
    }
    assert!(a.join("samples/x2y_step_000003.png").is_file() && a.join("samples/y2x_step_000003.png").is_file());

    recipe
        .trainer(quick(config.clone(), 1), (&x, &y), Augmentation::none(), &b, false, &device())
        .unwrap()
        .run(|_: &StepReport| {})
        .unwrap();
    let mut resumed = recipe.trainer(config.clone(), (&x, &y), Augmentation::none(), &b, false, &device()).unwrap();
    assert_eq!(resumed.resumed_from(), Some(1));
    let summary_b = resumed.run(|_: &StepReport| {}).unwrap();
    let (m, n) = (straight.step().model(), resumed.step().model());
    for (p, q, what) in [(&m.model_x2y, &n.model_x2y, "x2y"), (&m.model_y2x, &n.model_y2x, "y2x")] {
        assert_same_tensors(&p.generator, &q.generator, &format!("{what} generator"));
        assert_same_tensors(&p.discriminator, &q.discriminator, &format!("{what} discriminator"));
    }
    assert_same_checkpoints(&summary_a.checkpoint.unwrap(), &summary_b.checkpoint.unwrap());
    assert_eq!(scalar_rows(&a), scalar_rows(&b));

    // `rgan translate` loads either generator.
    for (translation, trained) in [(Translation::Forward, &m.model_x2y), (Translation::Backward, &m.model_y2x)] {
        let (translator, _) = load_translator(&a, translation, &Device::default()).unwrap();
        let Translator::CycleGan(generator) = &translator else { panic!("{translator:?}") };
        assert_same_tensors(&trained.generator, generator, &format!("the {translation:?} translator"));
    }

    // Grey Y images beside colour X: both shapes named.
    write_images(&root.join("grey"), 3, 1, 5);
    let grey = ImageFolder::load(root.join("grey"), 16, 1).unwrap();
    let err = recipe
        .trainer(config, (&x, &grey), Augmentation::none(), logdir("cyclegan-grey"), false, &device())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("[1, 16, 16]") && err.contains("[3, 16, 16]"), "{err}");
}

fn stargan(image_size: usize) -> StarGanRecipe {
    let mut recipe = StarGanRecipe::for_images(3, 3, image_size);
    recipe.generator.base_filters = 4;
    recipe.generator.residual_blocks = 1;
    recipe.discriminator.base_filters = 4;
    recipe.discriminator.layers = 2;
    recipe
}

#[test]
fn a_stargan_trains_on_a_labelled_folder_resumes_bit_for_bit_and_refuses_other_shapes() {
    let root = logdir("stargan-data");
    for (class, seed) in [("cat", 1), ("dog", 2), ("fox", 3)] {
        write_images(&root.join("domains").join(class), 3, 3, seed);
    }
    let data = ImageFolder::load(root.join("domains"), 16, 3).unwrap();
    assert_eq!(data.classes, vec!["cat", "dog", "fox"]);
    // TF-GAN's settings (WGAN-GP, 5 critic updates per generator update), batch 2.
    let config = quick(StarGanRecipe::train_config().with_batch_size(2), 3);
    let recipe = stargan(16);
    let (a, b) = dirs("stargan");

    let mut straight = recipe.trainer(config.clone(), &data, Augmentation::none(), &a, false, &device()).unwrap();
    assert_eq!(straight.step().batches_per_step(), 6);
    let mut reports = Vec::new();
    let summary_a = straight.run(|r: &StepReport| reports.push(r.clone())).unwrap();
    for r in &reports {
        let extra = |name: &str| r.extra.iter().find(|(n, _)| *n == name).map(|&(_, v)| v);
        assert!(extra("loss/reconstruction").unwrap() > 0.0 && extra("loss/domain_classification").unwrap() > 0.0);
        assert!(r.gradient_penalty.unwrap().is_finite() && r.d_loss.is_finite() && r.g_loss.is_finite(), "{r:?}");
    }
    // One row per sample image: the image, then it translated into each of the 3 domains.
    let grid = image::open(summary_a.samples.unwrap()).unwrap();
    assert_eq!((grid.width(), grid.height()), (64, 32));

    recipe
        .trainer(quick(config.clone(), 1), &data, Augmentation::none(), &b, false, &device())
        .unwrap()
        .run(|_: &StepReport| {})
        .unwrap();
    let mut resumed = recipe.trainer(config.clone(), &data, Augmentation::none(), &b, false, &device()).unwrap();
    let summary_b = resumed.run(|_: &StepReport| {}).unwrap();
    let (x, y) = (straight.step().model(), resumed.step().model());
    assert_same_tensors(&x.generator, &y.generator, "StarGAN generator");
    assert_same_tensors(&x.discriminator, &y.discriminator, "StarGAN discriminator");
    assert_same_checkpoints(&summary_a.checkpoint.unwrap(), &summary_b.checkpoint.unwrap());
    assert_eq!(scalar_rows(&a), scalar_rows(&b));

    // `rgan translate --domain` loads the generator for a domain it has, and no other.
    let (translator, _) = load_translator(&a, Translation::Domain(2), &Device::default()).unwrap();
    let Translator::StarGan(generator, 2) = &translator else { panic!("{translator:?}") };
    assert_same_tensors(&x.generator, generator, "the StarGAN translator");
    let err = load_translator(&a, Translation::Domain(3), &Device::default()).unwrap_err().to_string();
    assert!(err.contains("domains 0 to 2"), "{err}");

    // Networks for 32 × 32 images on 16 × 16 ones: both shapes named.
    let mut trainer =
        stargan(32).trainer(config, &data, Augmentation::none(), logdir("stargan-32"), false, &device()).unwrap();
    let err = trainer.train_step().unwrap_err().to_string();
    assert!(err.contains("[2, 3, 16, 16]") && err.contains("32, 32]"), "{err}");
}

/// Two synthetic "photographs" to cut patches from.
fn photos() -> Vec<DecodedImage> {
    [(40, 50, 3u32), (36, 44, 7)]
        .into_iter()
        .map(|(h, w, seed)| DecodedImage {
            channels: 3,
            file_channels: 3,
            height: h,
            width: w,
            pixels: (0..3 * h * w).map(|i| (((i as u32 * 37 + seed * 11) % 255) as f32 / 127.5) - 1.0).collect(),
        })
        .collect()
}

#[test]
fn the_compression_model_trains_resumes_bit_for_bit_and_codes_files_exactly() {
    let patches = RandomPatches::new(photos(), 16, 64, 0).unwrap();
    let recipe = CompressionRecipe::new().with_patch_size(16).with_bits_per_patch(12).with_depth(4);
    // TF-GAN's training (least squares, summed L1, weight factor 4000) at batch 4.
    let config = quick(CompressionRecipe::train_config(4000.0).with_batch_size(4), 3);
    let (a, b) = dirs("compression");
    let mut straight = recipe.trainer(config.clone(), &patches, &a, false, &device()).unwrap();
    let mut reports = Vec::new();
    let summary_a = straight.run(|r: &StepReport| reports.push(r.clone())).unwrap();
    for r in &reports {
        // The summed L1 of 4 patches of 3 × 16 × 16 values: hundreds, not a mean below 2.
        let pixel = r.pixel_loss.expect("an L1 term");
        assert!(pixel > 50.0 && r.d_loss.is_finite(), "{r:?}");
    }
    recipe.trainer(quick(config.clone(), 1), &patches, &b, false, &device()).unwrap().run(|_: &StepReport| {}).unwrap();
    let mut resumed = recipe.trainer(config, &patches, &b, false, &device()).unwrap();
    let summary_b = resumed.run(|_: &StepReport| {}).unwrap();
    let (x, y) = (straight.step().model(), resumed.step().model());
    assert_same_tensors(&x.generator, &y.generator, "codec");
    assert_same_tensors(&x.discriminator, &y.discriminator, "compression discriminator");
    assert_same_checkpoints(&summary_a.checkpoint.unwrap(), &summary_b.checkpoint.unwrap());

    // The loaded codec is the trained one; an image's file decodes to the evaluation output
    // exactly, and a file is as long as its header and bits.
    let plain = Device::default();
    let (codec, loaded, id) = load_codec(&a, &plain).unwrap();
    assert_eq!(loaded, recipe);
    assert_same_tensors(&x.generator, &codec, "the loaded codec");
    let photo = &photos()[1];
    let shape = [3, photo.height, photo.width];
    let bits = codec.compress_pixels(&photo.pixels, shape, &plain).unwrap();
    assert_eq!(bits.len(), 3 * 3 * 12); // 36 × 44 in 16 × 16 patches: 3 × 3 of them
    let file =
        CompressedImage { model_id: id, width: 44, height: 36, channels: 3, patch: 16, bits_per_patch: 12, bits };
    let bytes = file.to_bytes();
    assert_eq!(bytes.len(), 27 + (3 * 3 * 12usize).div_ceil(8));
    let back = CompressedImage::from_bytes(&bytes).unwrap();
    let decoded = codec.decompress_bits(&back.bits, [36, 44], &plain).unwrap();
    assert_eq!(decoded, codec.reconstruct(&photo.pixels, shape, &plain).unwrap());
    let mut truncated = bytes.clone();
    truncated.pop();
    assert!(CompressedImage::from_bytes(&truncated).unwrap_err().to_string().contains("truncated"));
    let mut foreign = bytes;
    foreign[0] = b'X';
    assert!(CompressedImage::from_bytes(&foreign).unwrap_err().to_string().contains("RGC1"));

    // Without the adversarial loss the discriminator is never trained.
    let l1 = quick(CompressionRecipe::train_config(0.0).with_batch_size(4), 2);
    let mut trainer = recipe.trainer(l1, &patches, logdir("compression-l1"), false, &device()).unwrap();
    let before = trainer.step().model().discriminator.clone();
    trainer.run(|_: &StepReport| {}).unwrap();
    assert_same_tensors(&before, &trainer.step().model().discriminator, "the untrained discriminator");
}
