//! `rgan translate`: one image through an image-to-image checkpoint's generator (pix2pix,
//! CycleGAN either way, StarGAN into a chosen domain), at the image's own size.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use rgan::data::{PairInput, read_image};
use rgan::recipes::{Translation, load_translator};

use crate::pix2pix::Pairs;
use crate::{DeviceKind, device};

#[derive(clap::Args, Debug)]
pub(crate) struct TranslateArgs {
    /// A checkpoint folder, or a log folder (its newest checkpoint is used): pix2pix, CycleGAN
    /// or StarGAN.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The image to translate (PNG or JPEG, any size).
    input: PathBuf,
    /// Where the translated image goes (PNG, the input's size).
    output: PathBuf,
    /// Make the model's input from the image as `rgan train pix2pix --pairs` made it (e.g.
    /// `grey`: translate the grey version of a colour photo). Without it, the image is the
    /// input: a colour image given to a model of grey inputs is made grey as `--pairs grey`
    /// does (BT.601 luma), a grey image given to a model of colour inputs is repeated over
    /// three channels.
    #[arg(long, value_enum)]
    make_input: Option<Pairs>,
    /// With --make-input blur: the blur's standard deviation in pixels.
    #[arg(long, default_value_t = 1.5)]
    blur_sigma: f32,
    /// CycleGAN: translate Y → X instead of X → Y.
    #[arg(long)]
    backward: bool,
    /// StarGAN: the index of the domain to translate into (the class folders in sorted order).
    #[arg(long)]
    domain: Option<usize>,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    device: DeviceKind,
}

pub(crate) fn run(args: TranslateArgs) -> Result<()> {
    let translation = match (args.backward, args.domain) {
        (true, Some(_)) => bail!("--backward (CycleGAN) and --domain (StarGAN) do not go together"),
        (true, None) => Translation::Backward,
        (false, Some(domain)) => Translation::Domain(domain),
        (false, None) => Translation::Forward,
    };
    let device = device(args.device)?;
    let (translator, recipe) = load_translator(&args.checkpoint, translation, &device).with_context(|| {
        format!(
            "loading the translator of {} (pix2pix: no flag; CycleGAN: --backward for Y → X; StarGAN: --domain K)",
            args.checkpoint.display()
        )
    })?;
    let image = read_image(&args.input, None).with_context(|| format!("reading {}", args.input.display()))?;
    let shape = [image.channels, image.height, image.width];
    let wanted = translator.in_channels();
    let (pixels, channels) = match args.make_input {
        Some(pairs) => {
            let make = pairs.input(args.blur_sigma)?;
            (make.derive(&image.pixels, shape), make.channels(image.channels))
        }
        None if image.channels == wanted => (image.pixels, wanted),
        None if image.channels == 3 && wanted == 1 => (PairInput::Grey.derive(&image.pixels, shape), 1),
        None if image.channels == 1 && wanted == 3 => (image.pixels.repeat(3), 3),
        None => bail!("{} has {} channel(s); the model translates {wanted}", args.input.display(), image.channels),
    };
    let (translated, [c, h, w]) = translator
        .translate_pixels(&pixels, [channels, image.height, image.width], &device)
        .with_context(|| format!("translating {} with the {}", args.input.display(), recipe.name()))?;
    let tensor = Tensor::<4>::from_data(TensorData::new(translated, [1, c, h, w]), &device);
    rgan::summary::save_image_grid(tensor, 1, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    println!("{} ({w}×{h}) translated by the {} into {}", args.input.display(), recipe.name(), args.output.display());
    Ok(())
}
