//! DCGAN on a folder of images through the library (what `rgan train images` and `rgan sample`
//! do): 16 generated PNGs of 16×16, 2 steps, a loadable checkpoint, then a resume to step 3.

use burn::prelude::*;
use rgan::data::ImageFolder;
use rgan::model::{BatchNormMode, GanGenerator, GeneratorInputs};
use rgan::recipes::dcgan::DcganNetworks;
use rgan::recipes::{NoiseGenerator, Recipe, load_noise_generator};
use rgan::rng::Rng;
use rgan::train::Checkpoint;

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

    let config = DcganNetworks::train_config().with_steps(2).with_batch_size(4).with_grid_size(2);
    let mut networks = DcganNetworks::for_images(16, 3, 64);
    networks.generator.base_filters = 8;
    networks.discriminator.base_filters = 8;
    let device = Device::default().autodiff();
    let mut trainer = networks.trainer(config.clone(), &data, &logdir, false, &device).unwrap();
    let summary = trainer.run(|_: &rgan::train::StepReport| {}).unwrap();
    assert_eq!(summary.step, 2);
    let grid = image::open(summary.samples.unwrap()).unwrap();
    assert_eq!((grid.width(), grid.height()), (32, 32));
    assert!(logdir.join("scalars.csv").is_file());

    // The checkpoint records the networks; its generator loads as a DCGAN one.
    assert_eq!(Recipe::of_checkpoint(&logdir).unwrap(), Recipe::Dcgan(networks.clone()));
    assert!(load_noise_generator(&logdir, true, &Device::default()).is_err()); // no moving average kept
    let (generator, _, _) = load_noise_generator(&logdir, false, &Device::default()).unwrap();
    assert!(matches!(generator, NoiseGenerator::Dcgan(_)));
    let noise = GeneratorInputs::noise(Rng::seed_from_u64(1).normal([3, 64], 0.0, 1.0, &Device::default()));
    let loaded = generator.generate_with(&noise, BatchNormMode::MovingAverages).unwrap();
    assert_eq!(loaded.dims(), [3, 3, 16, 16]);
    let trained =
        trainer.step().model().generator.valid().generate_with(&noise, BatchNormMode::MovingAverages).unwrap();
    assert!(loaded.sub(trained).abs().max().into_scalar::<f32>() < 1e-6);

    // The same command again resumes from the checkpoint and trains on to step 3.
    drop(trainer); // releases the log folder
    let mut resumed = networks.trainer(config.clone().with_steps(3), &data, &logdir, false, &device).unwrap();
    assert_eq!(resumed.resumed_from(), Some(2));
    let summary = resumed.run(|_: &rgan::train::StepReport| {}).unwrap();
    assert_eq!(summary.step, 3);
    assert_eq!(Checkpoint::open(&logdir).unwrap().step(), 3);
    drop(resumed);
    // Other networks are refused, naming what differs.
    let mut wider = networks.clone();
    wider.generator.base_filters = 16;
    let err = wider.trainer(config, &data, &logdir, false, &device).err().unwrap().to_string();
    assert!(err.contains("base_filters") && err.contains("8") && err.contains("16"), "{err}");
    let _ = std::fs::remove_dir_all(&root);
}
