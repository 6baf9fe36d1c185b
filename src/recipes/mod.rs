//! Model recipes: rgan's example models, each saying how to build its networks, train them (a
//! step for the one loop, [`Trainer`](crate::train::Trainer)) and load them back from a
//! checkpoint.
//!
//! - [`mnist`]: TF-GAN's MNIST networks (unconditional, conditional, InfoGAN, ACGAN).
//! - [`cifar`]: TF-GAN's CIFAR-10 DCGAN, unconditional and conditional (`rgan train cifar`).
//! - [`dcgan`]: DCGAN networks for square images of any size (`rgan train images`).
//! - [`zoo`]: the classic GAN zoo on MNIST.
//! - [`vanilla`]: the original GAN (Goodfellow et al. 2014) as the popular scripts train it.
//! - [`image_to_image`]: a pix2pix U-Net and PatchGAN for paired translation, CycleGAN's ResNet
//!   generator, and StarGAN's networks.
//! - [`compression`]: TF-GAN's image compression example (encoder, binarizer, decoder).
//!
//! A checkpoint records its recipe as an opaque description ([`Recipe`], tagged by family);
//! [`Recipe::of_checkpoint`] reads it back, [`load_noise_generator`] rebuilds the generator of
//! any noise-driven recipe and [`load_translator`] that of an image-to-image one.

pub mod cifar;
pub mod compression;
pub mod dcgan;
pub mod image_to_image;
pub(crate) mod layers;
pub mod mnist;
pub mod vanilla;
pub mod zoo;

use std::path::Path;

use burn::prelude::*;

use crate::error::{Result, RganError};
use crate::model::{BatchNormMode, GanGenerator, GeneratorInputs, NoiseInputs};
use crate::rng::Rng;
use crate::train::Checkpoint;

/// What a checkpoint says of its networks: the recipe's family and settings.
///
/// ```
/// use rgan::recipes::Recipe;
/// use rgan::recipes::mnist::MnistRecipe;
/// let recipe = Recipe::Mnist(MnistRecipe::default());
/// let json = recipe.description().unwrap();
/// assert_eq!(json["family"], "mnist");
/// assert_eq!(serde_json::from_value::<Recipe>(json).unwrap(), recipe);
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum Recipe {
    /// TF-GAN's MNIST networks.
    Mnist(mnist::MnistRecipe),
    /// DCGAN networks on a folder of images.
    Dcgan(dcgan::DcganNetworks),
    /// TF-GAN's CIFAR-10 networks.
    Cifar(cifar::CifarRecipe),
    /// One of the classic zoo's models.
    Zoo(zoo::ZooRecipe),
    /// The vanilla GAN.
    Vanilla(vanilla::VanillaGanConfig),
    /// A paired image-to-image translation model (pix2pix).
    Pix2Pix(image_to_image::Pix2PixRecipe),
    /// A CycleGAN.
    CycleGan(image_to_image::CycleGanRecipe),
    /// A StarGAN.
    StarGan(image_to_image::StarGanRecipe),
    /// An image compression model (encoder, binarizer, decoder).
    Compression(compression::CompressionRecipe),
}

impl Recipe {
    /// The description a checkpoint stores.
    pub fn description(&self) -> Result<serde_json::Value> {
        serde_json::to_value(self).map_err(|e| RganError::invalid("recipe", format!("cannot be described: {e}")))
    }

    /// The recipe of the checkpoint at `path` (any path
    /// [`resolve_checkpoint`](crate::train::resolve_checkpoint) accepts).
    ///
    /// ```
    /// assert!(rgan::recipes::Recipe::of_checkpoint("/nonexistent/logs").is_err());
    /// ```
    pub fn of_checkpoint(path: impl AsRef<Path>) -> Result<Self> {
        Self::of(&Checkpoint::open(path)?)
    }

    /// The recipe of an opened checkpoint.
    pub fn of(checkpoint: &Checkpoint) -> Result<Self> {
        serde_json::from_value(checkpoint.recipe().clone()).map_err(|e| {
            RganError::file(checkpoint.dir(), format!("holds a model this rgan does not know how to build: {e}"))
        })
    }

    /// A short name of the model (`mnist conditional`, `zoo wgan-gp`, …).
    pub fn name(&self) -> String {
        match self {
            Self::Mnist(r) => format!("MNIST {:?}", r.kind).to_lowercase(),
            Self::Dcgan(n) => format!("DCGAN {0}×{0}×{1}", n.generator.image_size, n.generator.channels),
            Self::Cifar(r) => format!("CIFAR-10 {:?}", r.kind).to_lowercase(),
            Self::Zoo(r) => format!("zoo {}", r.model),
            Self::Vanilla(_) => "vanilla GAN".to_string(),
            Self::Pix2Pix(_) => "pix2pix".to_string(),
            Self::CycleGan(_) => "CycleGAN".to_string(),
            Self::StarGan(_) => "StarGAN".to_string(),
            Self::Compression(r) => {
                format!("compression model ({} bits per {1}×{1} patch)", r.bits_per_patch, r.patch_size)
            }
        }
    }
}

/// The generator of a noise-driven recipe, loaded from a checkpoint.
#[derive(Module, Debug)]
pub enum NoiseGenerator {
    /// TF-GAN's MNIST generator.
    Mnist(mnist::MnistGenerator),
    /// A DCGAN generator.
    Dcgan(dcgan::DcganGenerator),
    /// TF-GAN's CIFAR-10 generator.
    Cifar(cifar::CifarGenerator),
    /// A zoo generator.
    Zoo(zoo::ZooGenerator),
    /// The vanilla GAN's generator.
    Vanilla(vanilla::VanillaGenerator),
}

impl GanGenerator for NoiseGenerator {
    fn generate(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        match self {
            Self::Mnist(g) => g.generate(inputs),
            Self::Dcgan(g) => g.generate(inputs),
            Self::Cifar(g) => g.generate(inputs),
            Self::Zoo(g) => g.generate(inputs),
            Self::Vanilla(g) => g.generate(inputs),
        }
    }

    fn sample(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        match self {
            Self::Mnist(g) => g.sample(inputs),
            Self::Dcgan(g) => g.sample(inputs),
            Self::Cifar(g) => g.sample(inputs),
            Self::Zoo(g) => g.sample(inputs),
            Self::Vanilla(g) => g.sample(inputs),
        }
    }

    fn generate_with(&self, inputs: &GeneratorInputs, mode: BatchNormMode) -> Result<Tensor<4>> {
        match self {
            Self::Mnist(g) => g.generate_with(inputs, mode),
            Self::Dcgan(g) => g.generate_with(inputs, mode),
            Self::Cifar(g) => g.generate_with(inputs, mode),
            Self::Zoo(g) => g.generate_with(inputs, mode),
            Self::Vanilla(g) => g.generate_with(inputs, mode),
        }
    }
}

/// The generator of a noise-driven checkpoint (MNIST, DCGAN, CIFAR-10, zoo, vanilla; any path
/// [`resolve_checkpoint`](crate::train::resolve_checkpoint) accepts) on `device`, with how its
/// inputs are drawn and the recipe: its moving average with `ema` (an error when the run kept
/// none).
///
/// ```
/// use burn::prelude::*;
/// let err = rgan::recipes::load_noise_generator("/nonexistent/logs", false, &Device::default()).unwrap_err();
/// assert!(err.to_string().contains("/nonexistent/logs"));
/// ```
pub fn load_noise_generator(
    path: impl AsRef<Path>,
    ema: bool,
    device: &Device,
) -> Result<(NoiseGenerator, NoiseInputs, Recipe)> {
    let checkpoint = Checkpoint::open(path)?;
    let recipe = Recipe::of(&checkpoint)?;
    let file = if ema { "generator_ema.bpk" } else { "generator.bpk" };
    if ema && !checkpoint.has(file) {
        return Err(RganError::file(
            checkpoint.dir(),
            "holds no generator moving average: train with --ema-decay (TrainConfig::generator_ema_decay) to keep one",
        ));
    }
    let mut rng = Rng::seed_from_u64(0);
    let (generator, inputs) = match &recipe {
        Recipe::Mnist(r) => (NoiseGenerator::Mnist(r.generator.init(&mut rng, device)?), r.noise_inputs()),
        Recipe::Dcgan(n) => (NoiseGenerator::Dcgan(n.generator.init(&mut rng, device)?), n.noise_inputs()),
        Recipe::Cifar(r) => (NoiseGenerator::Cifar(r.generator.init(&mut rng, device)?), r.noise_inputs()),
        Recipe::Zoo(r) => (NoiseGenerator::Zoo(r.init_generator(&mut rng, device)?), r.noise_inputs()),
        Recipe::Vanilla(c) => (NoiseGenerator::Vanilla(c.init_generator(&mut rng, device)?), c.noise_inputs()),
        other => {
            return Err(RganError::file(
                checkpoint.dir(),
                format!("holds a {}, whose generator translates images rather than drawing from noise", other.name()),
            ));
        }
    };
    let generator = match generator {
        NoiseGenerator::Mnist(g) => NoiseGenerator::Mnist(checkpoint.module(file, g)?),
        NoiseGenerator::Dcgan(g) => NoiseGenerator::Dcgan(checkpoint.module(file, g)?),
        NoiseGenerator::Cifar(g) => NoiseGenerator::Cifar(checkpoint.module(file, g)?),
        NoiseGenerator::Zoo(g) => NoiseGenerator::Zoo(checkpoint.module(file, g)?),
        NoiseGenerator::Vanilla(g) => NoiseGenerator::Vanilla(checkpoint.module(file, g)?),
    };
    Ok((generator, inputs, recipe))
}

/// Which translation an image-to-image checkpoint runs (see [`load_translator`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Translation {
    /// The model's one direction: pix2pix's input → target, CycleGAN's X → Y.
    #[default]
    Forward,
    /// CycleGAN's Y → X.
    Backward,
    /// StarGAN: into the domain of this index.
    Domain(usize),
}

/// The generator of an image-to-image checkpoint, loaded for one [`Translation`].
#[derive(Debug)]
pub enum Translator {
    /// pix2pix's U-Net.
    Pix2Pix(image_to_image::UNetGenerator),
    /// One of CycleGAN's two ResNet generators.
    CycleGan(image_to_image::ResnetGenerator),
    /// StarGAN's generator, with the domain it translates into.
    StarGan(image_to_image::StarGanGenerator, usize),
}

impl Translator {
    /// Channels of the images it takes.
    pub fn in_channels(&self) -> usize {
        match self {
            Self::Pix2Pix(g) => g.in_channels(),
            Self::CycleGan(g) => g.in_channels(),
            Self::StarGan(g, _) => g.channels(),
        }
    }

    /// The multiple of which image sides must be (the generator's total down-sampling).
    pub fn side_multiple(&self) -> usize {
        match self {
            Self::Pix2Pix(g) => g.side_multiple(),
            Self::CycleGan(_) | Self::StarGan(..) => 4,
        }
    }

    /// Translates `images` `[N, C, H, W]` in `[-1, 1]` (`H` and `W` multiples of
    /// [`side_multiple`](Self::side_multiple)). pix2pix's U-Net normalizes with the batch's own
    /// statistics, as pix2pix translates its test images (one at a time: instance
    /// normalization), so translate one image per call to get each image's own result; the
    /// other generators use instance norm and translate each image independently.
    pub fn translate(&self, images: &Tensor<4>) -> Result<Tensor<4>> {
        self.check_channels(images.dims()[1])?;
        match self {
            Self::Pix2Pix(g) => g.generate_with(images, BatchNormMode::BatchStatistics),
            Self::CycleGan(g) => g.generate(images),
            Self::StarGan(g, domain) => {
                let n = images.dims()[0];
                let labels = Tensor::<1, Int>::full([n], *domain as i64, &images.device());
                let onehot = labels.one_hot(g.domains()).float();
                g.generate(&crate::model::ImagesAndLabels::new(images.clone(), onehot)?)
            }
        }
    }

    fn check_channels(&self, channels: usize) -> Result<()> {
        if channels != self.in_channels() {
            return Err(RganError::invalid(
                "images",
                format!("have {channels} channel(s), but the model translates {}-channel images", self.in_channels()),
            ));
        }
        Ok(())
    }

    /// Translates one image of any size: `pixels` holds `shape = [channels, height, width]`
    /// values in `[-1, 1]`, channel-major. The image is extended to a multiple of
    /// [`side_multiple`](Self::side_multiple) by mirroring its last rows and columns
    /// (numpy's `reflect`), translated, and cropped back; returns the translated pixels and
    /// their shape (the model's output channels, the same height and width).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::recipes::Translator;
    /// use rgan::recipes::image_to_image::UNetGeneratorConfig;
    /// let device = Device::default();
    /// let unet = UNetGeneratorConfig::new(1, 3).with_base_filters(2).with_depth(3)
    ///     .init(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    /// let translator = Translator::Pix2Pix(unet);
    /// let (out, shape) = translator.translate_pixels(&vec![0.5; 5 * 11], [1, 5, 11], &device).unwrap();
    /// assert_eq!((out.len(), shape), (3 * 5 * 11, [3, 5, 11]));
    /// assert!(translator.translate_pixels(&vec![0.5; 3 * 4], [3, 2, 2], &device).is_err());
    /// ```
    pub fn translate_pixels(
        &self,
        pixels: &[f32],
        [channels, height, width]: [usize; 3],
        device: &Device,
    ) -> Result<(Vec<f32>, [usize; 3])> {
        self.check_channels(channels)?;
        if height == 0 || width == 0 || pixels.len() != channels * height * width {
            return Err(RganError::invalid(
                "pixels",
                format!("hold {} values, not an image of {channels} × {height} × {width}", pixels.len()),
            ));
        }
        let (padded, padded_h, padded_w) = pad_to_multiple(pixels, [channels, height, width], self.side_multiple());
        let input = Tensor::<4>::from_data(TensorData::new(padded, [1, channels, padded_h, padded_w]), device);
        let output = self.translate(&input)?;
        let out_channels = output.dims()[1];
        let values = output
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| RganError::invalid("translation", format!("{e:?}")))?;
        let mut cropped = Vec::with_capacity(out_channels * height * width);
        for plane in values.chunks(padded_h * padded_w) {
            for row in plane.chunks(padded_w).take(height) {
                cropped.extend_from_slice(&row[..width]);
            }
        }
        Ok((cropped, [out_channels, height, width]))
    }
}

/// `pixels` (`[channels, height, width]`, channel-major) extended to sides that are multiples
/// of `multiple` by mirroring their last rows and columns (numpy's `reflect`): the values and
/// the new height and width.
pub(crate) fn pad_to_multiple(
    pixels: &[f32],
    [channels, height, width]: [usize; 3],
    multiple: usize,
) -> (Vec<f32>, usize, usize) {
    let (padded_h, padded_w) = (height.div_ceil(multiple) * multiple, width.div_ceil(multiple) * multiple);
    let rows: Vec<usize> = (0..padded_h).map(|i| reflect(i, height)).collect();
    let cols: Vec<usize> = (0..padded_w).map(|j| reflect(j, width)).collect();
    let mut padded = Vec::with_capacity(channels * padded_h * padded_w);
    for plane in pixels.chunks(height * width) {
        for &r in &rows {
            padded.extend(cols.iter().map(|&c| plane[r * width + c]));
        }
    }
    (padded, padded_h, padded_w)
}

/// The index `i ≥ 0` mirrored into `0..n` without repeating the edge (numpy's `reflect`),
/// folding again for indices past `2n − 2`.
fn reflect(i: usize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let j = i % period;
    if j < n { j } else { period - j }
}

/// The generator of an image-to-image checkpoint (pix2pix, CycleGAN, StarGAN; any path
/// [`resolve_checkpoint`](crate::train::resolve_checkpoint) accepts) on `device`, for
/// `translation`, with the recipe. Errors: a noise-driven checkpoint, a direction or domain the
/// model does not have.
///
/// ```
/// use burn::prelude::*;
/// use rgan::recipes::{Translation, load_translator};
/// let err = load_translator("/nonexistent/logs", Translation::Forward, &Device::default()).unwrap_err();
/// assert!(err.to_string().contains("/nonexistent/logs"));
/// ```
pub fn load_translator(
    path: impl AsRef<Path>,
    translation: Translation,
    device: &Device,
) -> Result<(Translator, Recipe)> {
    let checkpoint = Checkpoint::open(path)?;
    let recipe = Recipe::of(&checkpoint)?;
    let mut rng = Rng::seed_from_u64(0);
    let wrong = |what: String| Err(RganError::invalid("translation", what));
    let translator = match (&recipe, translation) {
        (Recipe::Pix2Pix(r), Translation::Forward) => {
            Translator::Pix2Pix(checkpoint.module("generator.bpk", r.generator.init(&mut rng, device)?)?)
        }
        (Recipe::CycleGan(r), Translation::Forward | Translation::Backward) => {
            let file = if translation == Translation::Forward { "generator_x2y.bpk" } else { "generator_y2x.bpk" };
            Translator::CycleGan(checkpoint.module(file, r.generator.init(&mut rng, device)?)?)
        }
        (Recipe::StarGan(r), Translation::Domain(domain)) => {
            if domain >= r.generator.domains {
                return wrong(format!(
                    "asks for domain {domain}, but the StarGAN of {} has domains 0 to {}",
                    checkpoint.dir().display(),
                    r.generator.domains - 1
                ));
            }
            let generator = checkpoint.module("generator.bpk", r.generator.init(&mut rng, device)?)?;
            Translator::StarGan(generator, domain)
        }
        (Recipe::StarGan(_), _) => return wrong("a StarGAN translates into a domain: give its index".into()),
        (Recipe::Pix2Pix(_), _) => return wrong("a pix2pix model translates one way only (forward)".into()),
        (Recipe::CycleGan(_), _) => return wrong("a CycleGAN translates forward (X → Y) or backward (Y → X)".into()),
        (other, _) => {
            return Err(RganError::file(
                checkpoint.dir(),
                format!("holds a {}, whose generator draws from noise rather than translating images", other.name()),
            ));
        }
    };
    Ok((translator, recipe))
}
