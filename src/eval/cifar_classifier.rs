//! rgan's own CIFAR-10 classifier: the network behind the CIFAR-10 *classifier score* (TF-GAN's
//! `classifier_score` of generated images, the CIFAR counterpart of the MNIST score) and the
//! class accuracy of translated images (StarGAN).
//!
//! The Inception Score needs ImageNet weights that not every user has (see
//! [`super::inception`]); this network is trained from a seed on CIFAR-10 itself by
//! `rgan eval train-classifier --dataset cifar10`, and is small enough (289,194 parameters;
//! 671 KB once rounded to half precision and gzipped) to ship in `assets/`. Its test accuracy
//! is [`PRETRAINED_TEST_ACCURACY`] (83.06 %).
//!
//! The network: three stages of two 3×3 "same" convolutions, each followed by batch norm and
//! ReLU, with 2×2 max pooling after each stage (32 → 16 → 8 → 4 pixels), then the spatial mean
//! (the penultimate features) and a dense layer to the 10 logits. Inputs are images
//! `[N, 3, 32, 32]` in `[-1, 1]`, as [`crate::data::Cifar10`] and the generators make them.
//! Training ([`CifarClassifierTrainConfig`]) uses the usual CIFAR-10 augmentation: 4 pixels of
//! padding, a random 32 × 32 crop and a random horizontal flip.

use std::path::Path;

use burn::module::{ModuleMapper, Param};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::{TensorData, f16};

use super::classifier::{
    ClassifierTraining, check_training, classification_accuracy, load_record, record_bytes, steps_per_epoch,
    train_classifier,
};
pub use super::classifier::{EpochReport, TrainReport, TrainingFolder};
use crate::data::{Augmentation, CIFAR10_SIZE, ImageDataset};
use crate::error::{Result, RganError};
use crate::model::{ImageClassifier, glorot_conv2d, glorot_linear};
use crate::rng::Rng;
use crate::train::{LearningRateSchedule, OptimizerConfig};

/// The number of classes (CIFAR-10's, in [`crate::data::CIFAR10_CLASSES`] order).
pub const NUM_CLASSES: usize = 10;

/// The accuracy of [`CifarClassifier::pretrained`] on CIFAR-10's 10,000 test images (this JPEG
/// copy's): 83.06 % (the f32 weights before rounding: 83.04 %). Test accuracy after epochs
/// 1–15 of the default training: 59.67, 63.96, 69.19, 72.26, 71.63, 77.06, 75.85, 77.01, 78.25,
/// 77.84, 82.59, 82.80, 82.93, 83.16, 83.04 %; about 95 minutes on two shared CPU cores.
pub const PRETRAINED_TEST_ACCURACY: f64 = 0.8306;

/// The built-in weights (`assets/cifar10_classifier.bpk.gz`: the default
/// [`CifarClassifierConfig`] trained by the default [`CifarClassifierTrainConfig`], every value
/// rounded to half precision, as a gzipped burnpack record; see
/// [`CifarClassifier::to_compact_bytes`]).
static PRETRAINED_BYTES: &[u8] = include_bytes!("../../assets/cifar10_classifier.bpk.gz");

/// The name the built-in weights go by in error messages.
const PRETRAINED_NAME: &str = "assets/cifar10_classifier.bpk.gz (built into rgan)";

/// The first bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Rounds every float of a module (weights and batch-norm statistics) to the nearest
/// half-precision value, kept in f32.
struct HalfPrecision;

impl ModuleMapper for HalfPrecision {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| {
            let (device, shape) = (t.device(), t.dims());
            match t.clone().into_data().convert::<f32>().try_into_vec::<f32>() {
                Ok(values) => {
                    let rounded: Vec<f32> = values.into_iter().map(|v| f16::from_f32(v).to_f32()).collect();
                    Tensor::from_data(TensorData::new(rounded, shape), &device)
                }
                Err(_) => t,
            }
        })
    }
}

/// The shape of one input image.
const IMAGE_SHAPE: [usize; 3] = [3, CIFAR10_SIZE, CIFAR10_SIZE];

/// The architecture of [`CifarClassifier`]: the channels of its three stages.
///
/// ```
/// let config = rgan::eval::cifar_classifier::CifarClassifierConfig::new();
/// assert_eq!(config.widths, [32, 64, 128]);
/// assert_eq!(config.num_params(), 289_194);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct CifarClassifierConfig {
    /// Output channels of the convolutions of each stage. Default `[32, 64, 128]`.
    #[config(default = "[32, 64, 128]")]
    pub widths: [usize; 3],
}

impl CifarClassifierConfig {
    /// The number of trainable parameters (batch norm's running statistics excluded).
    pub fn num_params(&self) -> usize {
        let mut total = 0;
        let mut input = 3;
        for &width in &self.widths {
            for cin in [input, width] {
                total += 9 * cin * width + width + 2 * width;
            }
            input = width;
        }
        total + input * NUM_CLASSES + NUM_CLASSES
    }

    /// A classifier with Glorot-uniform kernels drawn from `rng`, zero biases, and batch norms
    /// at γ = 1, β = 0. Errors if a width is 0.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::eval::cifar_classifier::CifarClassifierConfig;
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let classifier = CifarClassifierConfig::new().init(&mut rng, &Device::default()).unwrap();
    /// // burn's count also holds the batch norms' 896 running means and variances.
    /// assert_eq!(burn::module::Module::num_params(&classifier), CifarClassifierConfig::new().num_params() + 896);
    /// assert!(CifarClassifierConfig::new().with_widths([8, 0, 8]).init(&mut rng, &Device::default()).is_err());
    /// ```
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<CifarClassifier> {
        if self.widths.contains(&0) {
            return Err(RganError::invalid("widths", format!("are {:?}; each must be at least 1", self.widths)));
        }
        let mut blocks = Vec::with_capacity(6);
        let mut input = 3;
        for &width in &self.widths {
            for cin in [input, width] {
                blocks.push(ConvBnRelu {
                    conv: glorot_conv2d(rng, [cin, width], 3, 1, device),
                    norm: BatchNormConfig::new(width).init(device),
                });
            }
            input = width;
        }
        Ok(CifarClassifier {
            blocks,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            output: glorot_linear(rng, input, NUM_CLASSES, true, device),
        })
    }
}

/// A 3×3 convolution, batch norm and ReLU.
#[derive(Module, Debug)]
struct ConvBnRelu {
    conv: Conv2d,
    norm: BatchNorm,
}

impl ConvBnRelu {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.norm.forward(self.conv.forward(x)))
    }
}

/// A small CNN classifying CIFAR-10 images (see the [module documentation](self)). Its batch
/// norms use each batch's statistics on an autodiff device (training) and their moving averages
/// otherwise.
#[derive(Module, Debug)]
pub struct CifarClassifier {
    blocks: Vec<ConvBnRelu>,
    pool: MaxPool2d,
    output: Linear,
}

impl ImageClassifier for CifarClassifier {
    fn logits(&self, images: Tensor<4>) -> Result<Tensor<2>> {
        CifarClassifier::logits(self, images)
    }
}

impl CifarClassifier {
    /// The classifier with rgan's built-in weights (`assets/cifar10_classifier.bpk`, trained
    /// with `rgan eval train-classifier --dataset cifar10`; [`PRETRAINED_TEST_ACCURACY`] on the
    /// CIFAR-10 test set), on `device`. No file is read.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let classifier = rgan::eval::cifar_classifier::CifarClassifier::pretrained(&Device::default()).unwrap();
    /// # let _ = classifier;
    /// ```
    pub fn pretrained(device: &Device) -> Result<Self> {
        Self::from_bytes_with_config(
            PRETRAINED_BYTES.to_vec(),
            Path::new(PRETRAINED_NAME),
            &CifarClassifierConfig::new(),
            device,
        )
    }

    /// The same network with every weight and batch-norm statistic rounded to the nearest
    /// half-precision value (an 11-bit significand), still computing in f32: what
    /// [`to_compact_bytes`](Self::to_compact_bytes) stores.
    pub fn half_precision(&self) -> Self {
        self.clone().map(&mut HalfPrecision)
    }

    /// The weights of [`half_precision`](Self::half_precision) as a gzipped burnpack record: the
    /// zeroed low bits compress, so the built-in weights stay under 1 MB (about half of the
    /// f32 record). [`CifarClassifier::load`] reads these files as well as plain records.
    pub fn to_compact_bytes(&self) -> Result<Vec<u8>> {
        use std::io::Write;
        let bytes = record_bytes(&self.half_precision(), "classifier")?;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder
            .write_all(&bytes)
            .and_then(|_| encoder.finish())
            .map_err(|e| RganError::invalid("classifier", format!("cannot be compressed: {e}")))
    }

    /// Loads weights of the default architecture ([`CifarClassifierConfig::new`]) from a
    /// burnpack file written by [`CifarClassifier::save`]. Errors name the file: missing,
    /// unreadable, not a burnpack record, or weights of another architecture.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::eval::cifar_classifier::CifarClassifier;
    /// let err = CifarClassifier::load("/nonexistent/cifar.bpk", &Device::default()).unwrap_err();
    /// assert!(err.to_string().contains("/nonexistent/cifar.bpk"));
    /// ```
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        Self::load_with_config(path, &CifarClassifierConfig::new(), device)
    }

    /// Loads weights of the architecture `config` from a burnpack file.
    pub fn load_with_config(path: impl AsRef<Path>, config: &CifarClassifierConfig, device: &Device) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| RganError::file(path, format!("cannot read: {e}")))?;
        Self::from_bytes_with_config(bytes, path, config, device)
    }

    fn from_bytes_with_config(
        bytes: Vec<u8>,
        source: &Path,
        config: &CifarClassifierConfig,
        device: &Device,
    ) -> Result<Self> {
        let bytes = if bytes.starts_with(&GZIP_MAGIC) {
            use std::io::Read;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(bytes.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| RganError::file(source, format!("is not a readable gzip stream: {e}")))?;
            out
        } else {
            bytes
        };
        let model = config.init(&mut Rng::seed_from_u64(0), device)?;
        load_record(model, bytes, source, &format!("CifarClassifier with {config:?}"))
    }

    /// The weights as burnpack bytes (what [`CifarClassifier::save`] writes).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        record_bytes(self, "classifier")
    }

    /// Writes the weights to `path` atomically: the compact form of
    /// [`to_compact_bytes`](Self::to_compact_bytes) when `path` ends in `.gz`, else the f32
    /// burnpack record; both load with [`CifarClassifier::load`].
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::eval::cifar_classifier::{CifarClassifier, CifarClassifierConfig};
    /// let device = Device::default();
    /// let classifier = CifarClassifierConfig::new().with_widths([4, 4, 4]).init(&mut rgan::rng::Rng::seed_from_u64(1), &device).unwrap();
    /// let path = std::env::temp_dir().join(format!("rgan-doc-cifar-classifier-{}.bpk", std::process::id()));
    /// classifier.save(&path).unwrap();
    /// let config = CifarClassifierConfig::new().with_widths([4, 4, 4]);
    /// let loaded = CifarClassifier::load_with_config(&path, &config, &device).unwrap();
    /// assert!(CifarClassifier::load(&path, &device).is_err()); // another architecture
    /// # std::fs::remove_file(&path).unwrap();
    /// // The compact form holds the half-precision network exactly.
    /// let gz = path.with_extension("bpk.gz");
    /// classifier.save(&gz).unwrap();
    /// let compact = CifarClassifier::load_with_config(&gz, &config, &device).unwrap();
    /// # std::fs::remove_file(&gz).unwrap();
    /// let images = Tensor::<4>::ones([2, 3, 32, 32], &device).mul_scalar(0.3);
    /// let (a, b) = (compact.logits(images.clone()).unwrap(), classifier.half_precision().logits(images.clone()).unwrap());
    /// assert_eq!(a.into_data(), b.into_data());
    /// assert_eq!(loaded.logits(images.clone()).unwrap().into_data(), classifier.logits(images).unwrap().into_data());
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let compact = path.extension().is_some_and(|e| e == "gz");
        crate::files::write_atomically(path, &if compact { self.to_compact_bytes()? } else { self.to_bytes()? })
    }

    fn device(&self) -> Device {
        self.output.weight.val().device()
    }

    fn check_images(images: &Tensor<4>) -> Result<()> {
        let dims = images.dims();
        if dims[0] == 0 || dims[1..] != IMAGE_SHAPE {
            return Err(RganError::shape(
                "images",
                &dims,
                "expected [N, 3, 32, 32] with N ≥ 1 (CIFAR-10 images in [-1, 1])",
            ));
        }
        Ok(())
    }

    /// The logits `[N, 10]` and the penultimate features `[N, widths[2]]` (the spatial mean of
    /// the last stage) of images `[N, 3, 32, 32]` in `[-1, 1]`; an error naming `images` for
    /// any other shape.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::eval::cifar_classifier::CifarClassifierConfig;
    /// let device = Device::default();
    /// let classifier = CifarClassifierConfig::new().init(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    /// let (logits, features) = classifier.logits_and_features(Tensor::<4>::zeros([2, 3, 32, 32], &device)).unwrap();
    /// assert_eq!((logits.dims(), features.dims()), ([2, 10], [2, 128]));
    /// assert!(classifier.logits(Tensor::<4>::zeros([2, 1, 28, 28], &device)).unwrap_err().to_string().contains("images"));
    /// ```
    pub fn logits_and_features(&self, images: Tensor<4>) -> Result<(Tensor<2>, Tensor<2>)> {
        Self::check_images(&images)?;
        let mut x = images;
        for stage in self.blocks.chunks(2) {
            for block in stage {
                x = block.forward(x);
            }
            x = self.pool.forward(x);
        }
        let [n, c, h, w] = x.dims();
        let features = x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c]);
        Ok((self.output.forward(features.clone()), features))
    }

    /// The logits `[N, 10]` of images `[N, 3, 32, 32]` in `[-1, 1]`.
    pub fn logits(&self, images: Tensor<4>) -> Result<Tensor<2>> {
        Ok(self.logits_and_features(images)?.0)
    }

    /// The fraction of `data`'s examples whose label the classifier predicts, in batches of 500
    /// on the classifier's device. Errors if `data` is empty or its images are not
    /// `[3, 32, 32]`.
    pub fn accuracy<D: ImageDataset + ?Sized>(&self, data: &D) -> Result<f64> {
        let shape = data.image_shape();
        if shape != IMAGE_SHAPE {
            return Err(RganError::shape("data", &shape, "expected images of shape [3, 32, 32] (CIFAR-10)"));
        }
        classification_accuracy(self, data, &self.device())
    }
}

/// How [`train_cifar_classifier`] trains: Adam (β1 0.9, ε 1e-8) on the softmax cross entropy
/// over shuffled, augmented batches drawn from `seed`, the learning rate multiplied by 0.1 after
/// `decay_epochs[0]` epochs and again after `decay_epochs[1]`.
///
/// ```
/// let config = rgan::eval::cifar_classifier::CifarClassifierTrainConfig::new();
/// assert_eq!((config.epochs, config.batch_size, config.learning_rate, config.decay_epochs, config.seed), (15, 128, 1e-3, [10, 13], 0));
/// ```
#[derive(Config, Debug)]
pub struct CifarClassifierTrainConfig {
    /// Passes over the training set. Default 15.
    #[config(default = 15)]
    pub epochs: usize,
    /// Examples per step (the last incomplete batch of an epoch is dropped). Default 128.
    #[config(default = 128)]
    pub batch_size: usize,
    /// Adam's learning rate in the first epochs. Default 1e-3.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// The epochs after which the learning rate drops tenfold. Default `[10, 13]`.
    #[config(default = "[10, 13]")]
    pub decay_epochs: [usize; 2],
    /// Pad, crop and flip each training image (the usual CIFAR-10 augmentation). Default true.
    #[config(default = true)]
    pub augment: bool,
    /// The seed of the initial weights, the batch order and the augmentation. Default 0.
    #[config(default = 0)]
    pub seed: u64,
    /// The architecture. Default [`CifarClassifierConfig::new`].
    #[config(default = "CifarClassifierConfig::new()")]
    pub classifier: CifarClassifierConfig,
}

/// Trains a [`CifarClassifier`] on `train` and measures it on `test` after every epoch, calling
/// `on_epoch` with each [`EpochReport`]. Training is reproducible from `config.seed`, on any
/// number of threads. `device` may be plain or autodiff; the classifier returned lives on its
/// plain counterpart.
///
/// ```
/// use burn::prelude::*;
/// use rgan::data::Cifar10;
/// use rgan::eval::cifar_classifier::{
///     CifarClassifierConfig, CifarClassifierTrainConfig, TrainingFolder, train_cifar_classifier,
/// };
/// let data = Cifar10 { pixels: (0..4 * 3072).map(|i| (i % 251) as u8).collect(), labels: vec![0, 1, 2, 3] };
/// let config = CifarClassifierTrainConfig::new()
///     .with_epochs(1)
///     .with_batch_size(2)
///     .with_classifier(CifarClassifierConfig::new().with_widths([4, 4, 4]));
/// let (classifier, report) = train_cifar_classifier(&config, &data, &data, &Device::default(), &TrainingFolder::default(), |_| {}).unwrap();
/// assert_eq!(report.epochs.len(), 1);
/// # let _ = classifier;
/// ```
pub fn train_cifar_classifier<D: ImageDataset + ?Sized>(
    config: &CifarClassifierTrainConfig,
    train: &D,
    test: &D,
    device: &Device,
    folder: &TrainingFolder,
    mut on_epoch: impl FnMut(&EpochReport),
) -> Result<(CifarClassifier, TrainReport)> {
    check_training(config.epochs, config.learning_rate, [train, test], IMAGE_SHAPE, "CIFAR-10 images")?;
    let [first, second] = config.decay_epochs;
    if first > second {
        return Err(RganError::invalid(
            "decay_epochs",
            format!("are {:?}; the second must not come before the first", config.decay_epochs),
        ));
    }
    let device = device.clone().autodiff();
    let model = config.classifier.init(&mut Rng::seed_from_u64(config.seed), &device)?;
    let per_epoch = steps_per_epoch(train.len(), config.batch_size);
    let schedule = LearningRateSchedule::Piecewise {
        boundaries: vec![first * per_epoch, second * per_epoch],
        factors: vec![1.0, 0.1, 0.01],
    };
    let augmentation = if config.augment {
        Augmentation::new().with_pad(4).with_crop(Some([CIFAR10_SIZE, CIFAR10_SIZE])).with_flip(true)
    } else {
        Augmentation::none()
    };
    let setup = ClassifierTraining {
        epochs: config.epochs,
        batch_size: config.batch_size,
        optimizer: OptimizerConfig::new(config.learning_rate).with_beta_1(0.9).with_schedule(schedule),
        augmentation,
        classes: NUM_CLASSES,
        seed: config.seed,
        settings: serde_json::to_value(config)
            .map_err(|e| RganError::invalid("config", format!("cannot be recorded: {e}")))?,
        architecture: serde_json::json!({ "classifier": "cifar10", "architecture": config.classifier }),
    };
    train_classifier(model, setup, [train, test], &device, folder, &mut on_epoch)
}
