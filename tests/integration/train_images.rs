//! DCGAN on a folder of images through the library (what `rgan train images` and `rgan sample`
//! do): 16 generated PNGs of 16×16, 2 steps, a loadable checkpoint, then a resume to step 3.

use burn::prelude::*;
use rgan::data::ImageFolder;
use rgan::model::BatchNormMode;
use rgan::rng::Rng;
use rgan::train::{TrainConfig, Trainer, load_dcgan_generator, load_generator, read_training_state};

fn write_images(dir: &std::path::Path, count: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..count {
        let img = image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([(x * 16) as u8, (y * 16) as u8, (i * 15) as u8]));
        img.save(dir.join(format!("img{i:02}.png"))).unwrap();
    }
}

#[test]
fn dcgan_trains_samples_and_resumes_on_an_image_folder() {
    let root = std::env::temp_dir().join(format!("rgan-train-images-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (images, logdir) = (root.join("images"), root.join("logs"));
    write_images(&images, 16);
    let data = ImageFolder::load(&images, 16, 3).unwrap();

    let mut config = TrainConfig::dcgan(16, 3).with_steps(2).with_batch_size(4).with_grid_size(2);
    let networks = config.dcgan.as_mut().unwrap();
    networks.generator.base_filters = 8;
    networks.discriminator.base_filters = 8;
    let networks = networks.clone();
    let device = Device::default().autodiff();
    let model = networks.init(&mut Rng::seed_from_u64(config.seed), &device).unwrap();
    let mut trainer = Trainer::with_model(config, model, &data, &logdir, &device).unwrap();
    let summary = trainer.run(|_: &rgan::train::StepReport| {}).unwrap();
    assert_eq!(summary.step, 2);
    let grid = image::open(&summary.samples).unwrap();
    assert_eq!((grid.width(), grid.height()), (32, 32));
    assert!(logdir.join("scalars.csv").is_file());

    // The checkpoint records the networks; its generator loads as a DCGAN one (not as MNIST's).
    let state = read_training_state(&logdir).unwrap();
    assert_eq!(state.config.dcgan.as_ref(), Some(&networks));
    assert!(load_generator(&logdir, false, &Device::default()).is_err());
    assert!(load_dcgan_generator(&logdir, true, &Device::default()).is_err()); // no moving average kept
    let (generator, _) = load_dcgan_generator(&logdir, false, &Device::default()).unwrap();
    let noise = Rng::seed_from_u64(1).normal([3, 64], 0.0, 1.0, &Device::default());
    let loaded = generator.forward_with(noise.clone(), BatchNormMode::MovingAverages).unwrap();
    assert_eq!(loaded.dims(), [3, 3, 16, 16]);
    let trained = trainer.model().generator.valid().forward_with(noise, BatchNormMode::MovingAverages).unwrap();
    assert!(loaded.sub(trained).abs().max().into_scalar::<f32>() < 1e-6);

    // Resume from the checkpoint with a template built from the saved configuration.
    let template = state.config.dcgan.as_ref().unwrap().init(&mut Rng::seed_from_u64(0), &device).unwrap();
    let mut resumed = Trainer::resume_with_model(&logdir, template, Some(3), &data, &logdir, &device).unwrap();
    assert_eq!(resumed.step(), 2);
    let summary = resumed.run(|_: &rgan::train::StepReport| {}).unwrap();
    assert_eq!(summary.step, 3);
    assert_eq!(read_training_state(&logdir).unwrap().step, 3);
    let _ = std::fs::remove_dir_all(&root);
}
