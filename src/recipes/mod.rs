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
//!
//! A checkpoint records its recipe as an opaque description ([`Recipe`], tagged by family);
//! [`Recipe::of_checkpoint`] reads it back and [`load_noise_generator`] rebuilds the generator of
//! any noise-driven recipe.

pub mod cifar;
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
