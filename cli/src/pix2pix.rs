//! `rgan train pix2pix`: pix2pix ([`rgan::recipes::image_to_image::Pix2PixRecipe`]: a U-Net
//! generator, a conditional 70 × 70 PatchGAN, the adversarial loss plus L1 weighted 100) on two
//! folders of paired images, or on pairs made on the fly from one folder (grey → colour,
//! edges → photo, blurred → sharp).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use rgan::data::{Augmentation, DerivedPairs, ImageFolder, PairInput, PairedDataset, PairedImageFolder};
use rgan::recipes::image_to_image::Pix2PixRecipe;
use rgan::train::Resume;

use crate::{TrainArgs, apply_train_args, describe, device, run_with_progress};

/// The inputs made from each image of --data-dir.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pairs {
    /// The image in grey (BT.601 luma): colourisation.
    Grey,
    /// Canny edges of the image, black on white: edges → photo.
    Edges,
    /// The image blurred by a Gaussian (--blur-sigma): deblurring.
    Blur,
}

impl Pairs {
    /// The input this choice makes (`sigma`: the blur's).
    pub(crate) fn input(self, sigma: f32) -> Result<PairInput> {
        Ok(match self {
            Pairs::Grey => PairInput::Grey,
            Pairs::Edges => PairInput::Edges,
            Pairs::Blur if sigma > 0.0 && sigma.is_finite() => PairInput::Blur { sigma },
            Pairs::Blur => bail!("--blur-sigma is {sigma}; the blur needs a standard deviation > 0"),
        })
    }
}

/// Where pairs come from: one folder (inputs made from its images) or two paired folders.
#[derive(clap::Args, Debug)]
pub(crate) struct PairSource {
    /// One folder of PNG/JPEG images (and/or sub-folders of them): each becomes a target, its
    /// input made from it as --pairs says.
    #[arg(long, conflicts_with_all = ["inputs", "targets"], required_unless_present = "inputs")]
    data_dir: Option<PathBuf>,
    /// With --data-dir: the inputs made from the images.
    #[arg(long, value_enum, default_value_t = Pairs::Grey)]
    pairs: Pairs,
    /// With --pairs blur: the blur's standard deviation in pixels.
    #[arg(long, default_value_t = 1.5)]
    blur_sigma: f32,
    /// Paired folders instead of --data-dir: the input images, paired with --targets' images
    /// of the same name (relative path without the extension).
    #[arg(long, requires = "targets")]
    inputs: Option<PathBuf>,
    /// The target images of --inputs.
    #[arg(long, requires = "inputs")]
    targets: Option<PathBuf>,
}

impl PairSource {
    /// Loads the pairs (`size × size`, `[input, target]` channels of --inputs/--targets) and
    /// hands them to `f` with a description.
    pub(crate) fn with_pairs<T>(
        &self,
        size: usize,
        [input_channels, channels]: [usize; 2],
        f: impl FnOnce(&dyn PairedDataset, String) -> Result<T>,
    ) -> Result<T> {
        for (flag, channels) in [("--channels", channels), ("--input-channels", input_channels)] {
            if channels != 1 && channels != 3 {
                bail!("{flag} is {channels}; it must be 1 (grey) or 3 (RGB)");
            }
        }
        match (&self.data_dir, &self.inputs, &self.targets) {
            (Some(dir), _, _) => {
                let images = ImageFolder::load(dir, size, channels)
                    .with_context(|| format!("loading images from {}", dir.display()))?;
                let pairs = DerivedPairs::new(&images, self.pairs.input(self.blur_sigma)?).context("--pairs")?;
                let what = format!("{:?} inputs made from {} images in {}", self.pairs, pairs.len(), dir.display());
                f(&pairs, what.to_lowercase())
            }
            (None, Some(inputs), Some(targets)) => {
                let pairs = PairedImageFolder::load(inputs, targets, size, [input_channels, channels])
                    .with_context(|| format!("pairing {} with {}", inputs.display(), targets.display()))?;
                let what = format!("{} pairs from {} and {}", pairs.len(), inputs.display(), targets.display());
                f(&pairs, what)
            }
            _ => bail!("give --data-dir (pairs made on the fly) or both --inputs and --targets"),
        }
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct Pix2PixArgs {
    #[command(flatten)]
    source: PairSource,
    /// Channels of the input images of --inputs: 1 (grey) or 3 (RGB).
    #[arg(long, default_value_t = 3)]
    input_channels: usize,
    /// Channels of the target images: 1 (grey) or 3 (RGB).
    #[arg(long, default_value_t = 3)]
    channels: usize,
    /// Side of the square images (a power of two ≥ 4; the paper's 256): every image is resized
    /// to it.
    #[arg(long, default_value_t = 256)]
    size: usize,
    /// Pairs per step (the paper's 1).
    #[arg(long, default_value_t = 1)]
    batch_size: usize,
    /// The L1 loss's weight beside the adversarial loss (the paper's λ = 100; 0: adversarial
    /// loss only).
    #[arg(long, default_value_t = 100.0)]
    l1_weight: f64,
    /// The paper's L1-only baseline: the generator learns from the L1 loss alone.
    #[arg(long, conflicts_with = "l1_weight")]
    l1_only: bool,
    /// Width of both networks (pix2pix's ngf / ndf).
    #[arg(long, default_value_t = 64)]
    base_filters: usize,
    /// Where samples (input | output | target), scalars, TensorBoard events and checkpoints go.
    #[arg(long, default_value = "logs/pix2pix")]
    logdir: PathBuf,
    #[command(flatten)]
    pub(crate) train: TrainArgs,
}

/// Trains pix2pix on the pairs the arguments describe.
pub(crate) fn run(args: Pix2PixArgs, resume: Resume) -> Result<()> {
    if args.size < 4 || !args.size.is_power_of_two() {
        bail!("--size is {}; pix2pix's U-Net needs a power of two of at least 4", args.size);
    }
    if !(args.l1_weight >= 0.0 && args.l1_weight.is_finite()) {
        bail!("--l1-weight is {}; it must be a number ≥ 0", args.l1_weight);
    }
    args.source
        .with_pairs(args.size, [args.input_channels, args.channels], |pairs, what| train(&args, pairs, &what, resume))
}

fn train<D: PairedDataset + ?Sized>(args: &Pix2PixArgs, pairs: &D, what: &str, resume: Resume) -> Result<()> {
    let [[input_channels, ..], [channels, ..]] = pairs.shapes();
    let mut recipe = Pix2PixRecipe::for_images(input_channels, channels, args.size);
    recipe.generator.base_filters = args.base_filters;
    recipe.discriminator.base_filters = args.base_filters;
    let loss = if args.l1_only { Pix2PixRecipe::l1_only_config() } else { Pix2PixRecipe::train_config(args.l1_weight) };
    let config = apply_train_args(loss, &args.train).with_batch_size(args.batch_size);
    let device = device(args.train.device)?.autodiff();
    // pix2pix's random jitter is a 286 → 256 crop and a mirror; rgan mirrors only (its crops pad
    // with black instead of enlarging).
    let augmentation = Augmentation::new().with_flip(true);
    let trainer = recipe.trainer(config, pairs, augmentation, &args.logdir, resume, &device)?;
    let loss = if args.l1_only { "L1 only".to_string() } else { format!("L1 weight {}", args.l1_weight) };
    let what = format!("pix2pix ({}×{}, {loss}) on {what}", args.size, args.size);
    describe(&trainer, trainer.step().config(), &what);
    run_with_progress(trainer, None)
}
