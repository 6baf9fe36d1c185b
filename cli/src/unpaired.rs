//! `rgan train cyclegan` and `rgan train stargan`: unpaired translation between two folders
//! ([`rgan::recipes::image_to_image::CycleGanRecipe`], TF-GAN's CycleGAN example's settings)
//! and between the class folders of one folder ([`rgan::recipes::image_to_image::StarGanRecipe`],
//! TF-GAN's StarGAN example's settings).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rgan::data::{Augmentation, ImageDataset, ImageFolder};
use rgan::recipes::image_to_image::{CycleGanRecipe, StarGanRecipe, patch_layers};
use rgan::train::Resume;

use crate::{TrainArgs, apply_train_args, describe, device, run_with_progress};

/// The image options both commands share.
#[derive(clap::Args, Debug)]
pub(crate) struct ImageOptions {
    /// Side every image is resized to (a multiple of 4, at least 8).
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Train on random crops of this side (TF-GAN's `patch_size`) [default: the whole image].
    #[arg(long)]
    crop: Option<usize>,
    /// Mirror each image left to right with probability 1/2.
    #[arg(long)]
    flip: bool,
    /// Channels: 1 (grey) or 3 (RGB).
    #[arg(long, default_value_t = 3)]
    channels: usize,
    /// Width of the networks (the first layer's filters; TF-GAN's 64).
    #[arg(long, default_value_t = 64)]
    base_filters: usize,
    /// Residual blocks of the generator (TF-GAN's 6).
    #[arg(long, default_value_t = 6)]
    residual_blocks: usize,
    /// Images per step [default: TF-GAN's, 1 for CycleGAN, 6 for StarGAN].
    #[arg(long)]
    batch_size: Option<usize>,
}

impl ImageOptions {
    /// The side the networks see, the augmentation; errors name the flag.
    fn check(&self) -> Result<(usize, Augmentation)> {
        if self.channels != 1 && self.channels != 3 {
            bail!("--channels is {}; it must be 1 (grey) or 3 (RGB)", self.channels);
        }
        let side = self.crop.unwrap_or(self.size);
        if side < 8 || side % 4 != 0 {
            bail!("the training side (--crop, else --size) is {side}; it must be a multiple of 4, at least 8");
        }
        if side > self.size {
            bail!("--crop is {side} but --size is {}; crop to at most the image", self.size);
        }
        if self.batch_size == Some(0) {
            bail!("--batch-size must be at least 1");
        }
        let mut augmentation = Augmentation::new().with_flip(self.flip);
        if self.crop.is_some() {
            augmentation = augmentation.with_crop(Some([side, side]));
        }
        Ok((side, augmentation))
    }

    fn load(&self, dir: &Path, flag: &str) -> Result<ImageFolder> {
        ImageFolder::load(dir, self.size, self.channels)
            .with_context(|| format!("{flag}: loading images from {}", dir.display()))
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct CycleGanArgs {
    /// The images of domain X (a folder of PNG/JPEG images, sub-folders included).
    #[arg(long)]
    x: PathBuf,
    /// The images of domain Y.
    #[arg(long)]
    y: PathBuf,
    #[command(flatten)]
    images: ImageOptions,
    /// The cycle-consistency loss's weight (TF-GAN's 10).
    #[arg(long, default_value_t = 10.0)]
    cycle_weight: f64,
    /// Where samples (x → y and y → x grids), scalars, TensorBoard events and checkpoints go.
    #[arg(long, default_value = "logs/cyclegan")]
    logdir: PathBuf,
    #[command(flatten)]
    pub(crate) train: TrainArgs,
}

/// Trains a CycleGAN between --x and --y.
pub(crate) fn run_cyclegan(args: CycleGanArgs, resume: Resume) -> Result<()> {
    let (side, augmentation) = args.images.check()?;
    if !(args.cycle_weight >= 0.0 && args.cycle_weight.is_finite()) {
        bail!("--cycle-weight is {}; it must be a number ≥ 0", args.cycle_weight);
    }
    let (x, y) = (args.images.load(&args.x, "--x")?, args.images.load(&args.y, "--y")?);
    let mut recipe = CycleGanRecipe::for_images(args.images.channels);
    recipe.generator.base_filters = args.images.base_filters;
    recipe.generator.residual_blocks = args.images.residual_blocks;
    recipe.discriminator.base_filters = args.images.base_filters;
    recipe.discriminator.layers = patch_layers(side);
    recipe.cycle_consistency_loss_weight = args.cycle_weight;
    let mut config = CycleGanRecipe::train_config();
    if let Some(batch) = args.images.batch_size {
        config.batch_size = batch;
    }
    let config = apply_train_args(config, &args.train);
    let device = device(args.train.device)?.autodiff();
    let trainer = recipe.trainer(config, (&x, &y), augmentation, &args.logdir, resume, &device)?;
    let what = format!(
        "CycleGAN ({side}×{side}) between {} images in {} and {} in {}",
        x.len(),
        args.x.display(),
        y.len(),
        args.y.display()
    );
    describe(&trainer, trainer.step().config(), &what);
    run_with_progress(trainer, None)
}

#[derive(clap::Args, Debug)]
pub(crate) struct StarGanArgs {
    /// A folder of class sub-folders of images: each class is a domain (in sorted order: the
    /// indices `rgan translate --domain` takes).
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    images: ImageOptions,
    /// Where samples (each sample image translated into every domain), scalars, TensorBoard
    /// events and checkpoints go.
    #[arg(long, default_value = "logs/stargan")]
    logdir: PathBuf,
    #[command(flatten)]
    pub(crate) train: TrainArgs,
}

/// Trains a StarGAN between the class folders of --data.
pub(crate) fn run_stargan(args: StarGanArgs, resume: Resume) -> Result<()> {
    let (side, augmentation) = args.images.check()?;
    let data = args.images.load(&args.data, "--data")?;
    let domains = data.classes.len();
    if domains < 2 {
        bail!("--data {} has {domains} class folder(s); StarGAN needs at least two domains", args.data.display());
    }
    let mut recipe = StarGanRecipe::for_images(args.images.channels, domains, side);
    recipe.generator.base_filters = args.images.base_filters;
    recipe.generator.residual_blocks = args.images.residual_blocks;
    recipe.discriminator.base_filters = args.images.base_filters;
    let mut config = StarGanRecipe::train_config();
    if let Some(batch) = args.images.batch_size {
        config.batch_size = batch;
    }
    let config = apply_train_args(config, &args.train);
    let device = device(args.train.device)?.autodiff();
    let trainer = recipe.trainer(config, &data, augmentation, &args.logdir, resume, &device)?;
    let what = format!(
        "StarGAN ({side}×{side}) between {domains} domains ({}) of {} images in {}",
        data.classes.join(", "),
        data.len(),
        args.data.display()
    );
    describe(&trainer, trainer.step().config(), &what);
    run_with_progress(trainer, None)
}
