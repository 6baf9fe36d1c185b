//! TF-GAN's image compression example (its last public version, reference §2.4): an encoder, a
//! binarizer and a decoder trained as the generator of a GAN against a PatchGAN, with the L1
//! pixel loss and an adversarial loss weighted by `combine_adversarial_loss`'s `weight_factor`
//! (0: no adversarial loss; TF-GAN's 4000).
//!
//! - Encoder ([`CompressionCodec`]): slim's `dcgan.discriminator` body on a `patch × patch`
//!   patch: `log2(patch)` convolutions (4 × 4, stride 2, `SAME`) from `depth` filters doubling,
//!   leaky ReLU 0.2, batch norm on all but the first, down to `1 × 1`; then a 1 × 1 convolution
//!   to `bits` values and softsign: the pre-binary code in `(-1, 1)`.
//! - Binarizer: in training, uniform noise in `[-1, 1)` added to the code (Toderici et al.
//!   2016); in evaluation the sign, which makes the code `bits` bits. (TensorFlow's `sign` gives
//!   0 for an exact 0; here 0 is a 1 bit, so every code is bits.)
//! - Decoder: slim's `dcgan.generator` body: a 4 × 4 transposed convolution from `1 × 1` to
//!   `4 × 4` with `depth · 2^(n-1)` filters, then stride-2 4 × 4 transposed convolutions halving
//!   the filters to `depth` at the patch side (batch norm and ReLU but on the last), a 1 × 1
//!   convolution to the channels, and softsign.
//! - Discriminator ([`CompressionDiscriminator`]): slim's `pix2pix_discriminator` with filters
//!   `[depth, 2 depth, 4 depth, 8 depth]`: each 4 × 4 convolution after a reflection padding of
//!   2, strides 2, 2, 2, 1, leaky ReLU 0.2, no normalization (the example sets no arg scope),
//!   then a 4 × 4 convolution to one logit per patch (7 × 7 of them on a 32 × 32 patch).
//! - slim's batch norm: decay 0.999 (burn's momentum 0.001), ε 0.001, a learned offset and no
//!   scale (γ fixed at 1); kernels Glorot-uniform (slim's default), biases 0 and only where no
//!   batch norm follows.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::ops::PadMode;

use super::Recipe;
use super::layers::batch_norm_act;
use crate::data::{Batch, ImageBatches, ImageDataset, fixed_batch};
use crate::error::{Result, RganError};
use crate::model::{BatchNormMode, DiscriminatorOutput, GanDiscriminator, GanGenerator, GanInputs, GanModel, zeros};
use crate::ops::{Activation, conv_transpose2d_layer, conv2d_layer, leaky_relu};
use crate::rng::Rng;
use crate::train::{
    GanLossConfig, GanLossKind, GanStep, InputFn, LearningRateSchedule, NonAdversarialLossConfig, OptimizerConfig,
    PixelLoss, Resume, SampleGrid, Seeds, TrainConfig, TrainSchedule, Trainer,
};

/// TF-GAN's `weight_factor` of the adversarial loss beside the summed L1 pixel loss.
pub const TFGAN_WEIGHT_FACTOR: f64 = 4000.0;

/// Glorot-uniform `shape` (slim's default initializer) for a kernel with `fan` = fan in + fan
/// out.
fn glorot<const D: usize>(rng: &mut Rng, shape: [usize; D], fan: usize, device: &Device) -> Param<Tensor<D>> {
    let limit = (6.0 / fan as f64).sqrt();
    Param::from_tensor(rng.uniform(shape, -limit, limit, device))
}

/// A `k × k` convolution `[i → o]` with stride `s` and zero padding `p`.
fn conv(rng: &mut Rng, [i, o]: [usize; 2], k: usize, s: usize, p: usize, bias: bool, device: &Device) -> Conv2d {
    let mut layer = Conv2dConfig::new([i, o], [k, k])
        .with_stride([s, s])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_bias(bias)
        .with_initializer(Initializer::Zeros)
        .init(device);
    layer.weight = glorot(rng, [o, i, k, k], k * k * (i + o), device);
    layer.bias = bias.then(|| zeros([o], device));
    layer
}

/// A 4 × 4 transposed convolution `[i → o]` with stride `s` and padding `p`.
fn up(rng: &mut Rng, [i, o]: [usize; 2], s: usize, p: usize, bias: bool, device: &Device) -> ConvTranspose2d {
    let mut layer = ConvTranspose2dConfig::new([i, o], [4, 4])
        .with_stride([s, s])
        .with_padding([p, p])
        .with_bias(bias)
        .with_initializer(Initializer::Zeros)
        .init(device);
    layer.weight = glorot(rng, [i, o, 4, 4], 16 * (i + o), device);
    layer.bias = bias.then(|| zeros([o], device));
    layer
}

/// slim's batch norm: momentum 0.001 (TF's decay 0.999), ε 0.001, no scale.
fn slim_batch_norm(channels: usize, device: &Device) -> BatchNorm {
    let mut norm = BatchNormConfig::new(channels).with_momentum(0.001).with_epsilon(1e-3).init(device);
    norm.gamma = Param::from_tensor(Tensor::ones([channels], device)).set_require_grad(false);
    norm
}

fn softsign<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.clone().div(x.abs().add_scalar(1.0))
}

/// The evaluation binarizer: 1 for a code ≥ 0, −1 below.
fn binarize(codes: Tensor<2>) -> Tensor<2> {
    codes.greater_equal_elem(0.0).float().mul_scalar(2.0).sub_scalar(1.0)
}

/// Configuration of [`CompressionCodec`] and [`CompressionDiscriminator`]: TF-GAN's defaults.
///
/// ```
/// let config = rgan::recipes::compression::CompressionRecipe::new();
/// assert_eq!((config.patch_size, config.bits_per_patch, config.depth, config.channels), (32, 1230, 64, 3));
/// assert!((config.bits_per_pixel() - 1230.0 / 1024.0).abs() < 1e-12);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct CompressionRecipe {
    /// The side of the square patches coded one at a time (a power of two ≥ 8). Default 32.
    #[config(default = 32)]
    pub patch_size: usize,
    /// Bits per patch. Default 1230 (TF-GAN's: 1.2 bits per pixel at 32 × 32).
    #[config(default = 1230)]
    pub bits_per_patch: usize,
    /// Filters of the first encoder layer, the last decoder layer and the discriminator's first
    /// layer (TF-GAN's `model_depth`). Default 64.
    #[config(default = 64)]
    pub depth: usize,
    /// Image channels. Default 3.
    #[config(default = 3)]
    pub channels: usize,
}

/// The encoder, binarizer and decoder (see the [module docs](self)): the generator of the
/// compression GAN.
#[derive(Module, Debug)]
pub struct CompressionCodec {
    encoder: Vec<Conv2d>,
    encoder_norms: Vec<BatchNorm>,
    to_bits: Conv2d,
    decoder: Vec<ConvTranspose2d>,
    decoder_norms: Vec<BatchNorm>,
    to_pixels: Conv2d,
    patch: usize,
    bits: usize,
    channels: usize,
}

/// The compression generator's inputs: the patches, and the binarizer's training noise
/// `[N, bits]` (drawn by the step; ignored in evaluation).
#[derive(Clone, Debug)]
pub struct CodedImages {
    /// The patches `[N, C, patch, patch]` in `[-1, 1]`.
    pub images: Tensor<4>,
    /// Uniform noise in `[-1, 1)`, `[N, bits]`.
    pub noise: Tensor<2>,
}

impl GanInputs for CodedImages {
    fn batch_size(&self) -> usize {
        self.images.dims()[0]
    }

    fn detach(&self) -> Self {
        Self { images: self.images.clone().detach(), noise: self.noise.clone().detach() }
    }

    fn stacked(&self, other: &Self) -> Result<Self> {
        Ok(Self {
            images: self.images.stacked(&other.images)?,
            noise: Tensor::cat(vec![self.noise.clone(), other.noise.clone()], 0),
        })
    }

    fn images(&self) -> Option<Tensor<4>> {
        Some(self.images.clone())
    }

    fn to_data(&self) -> Vec<TensorData> {
        vec![self.images.to_data(), self.noise.to_data()]
    }

    fn from_data(&self, data: &mut dyn Iterator<Item = TensorData>, device: &Device) -> Result<Self> {
        let mut next = || data.next().ok_or_else(|| RganError::invalid("generator_inputs", "ran short of tensors"));
        Ok(Self { images: Tensor::from_data(next()?, device), noise: Tensor::from_data(next()?, device) })
    }
}

impl CompressionRecipe {
    /// Bits per pixel of the codes.
    pub fn bits_per_pixel(&self) -> f64 {
        self.bits_per_patch as f64 / (self.patch_size * self.patch_size) as f64
    }

    fn check(&self) -> Result<usize> {
        if self.patch_size < 8 || !self.patch_size.is_power_of_two() {
            return Err(RganError::invalid(
                "patch_size",
                format!("is {}; the codec takes square patches whose side is a power of two ≥ 8", self.patch_size),
            ));
        }
        if self.bits_per_patch == 0 || self.depth == 0 || self.channels == 0 {
            return Err(RganError::invalid("compression", "needs at least one bit, filter and channel"));
        }
        Ok(self.patch_size.trailing_zeros() as usize)
    }

    /// Builds the codec, its kernels drawn from `rng`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::recipes::compression::CompressionRecipe;
    /// let device = Device::default();
    /// let recipe = CompressionRecipe::new().with_patch_size(16).with_bits_per_patch(40).with_depth(4);
    /// let codec = recipe.codec(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    /// let patches = Tensor::<4>::zeros([2, 3, 16, 16], &device);
    /// let bits = codec.encode(&patches).unwrap();
    /// assert_eq!(bits.dims(), [2, 40]);
    /// assert_eq!(codec.decode(bits).unwrap().dims(), [2, 3, 16, 16]);
    /// ```
    pub fn codec(&self, rng: &mut Rng, device: &Device) -> Result<CompressionCodec> {
        let layers = self.check()?;
        let d = self.depth;
        let mut encoder = vec![conv(rng, [self.channels, d], 4, 2, 1, true, device)];
        let mut encoder_norms = Vec::new();
        for i in 1..layers {
            encoder.push(conv(rng, [d << (i - 1), d << i], 4, 2, 1, false, device));
            encoder_norms.push(slim_batch_norm(d << i, device));
        }
        let to_bits = conv(rng, [d << (layers - 1), self.bits_per_patch], 1, 1, 0, true, device);
        // slim's generator: num_layers = log2(size) − 1 transposed convolutions.
        let n = layers - 1;
        let mut decoder = vec![up(rng, [self.bits_per_patch, d << (n - 1)], 1, 0, false, device)];
        let mut decoder_norms = vec![slim_batch_norm(d << (n - 1), device)];
        for i in 2..n {
            decoder.push(up(rng, [d << (n - i + 1), d << (n - i)], 2, 1, false, device));
            decoder_norms.push(slim_batch_norm(d << (n - i), device));
        }
        decoder.push(up(rng, [d << 1, d], 2, 1, true, device));
        let to_pixels = conv(rng, [d, self.channels], 1, 1, 0, true, device);
        Ok(CompressionCodec {
            encoder,
            encoder_norms,
            to_bits,
            decoder,
            decoder_norms,
            to_pixels,
            patch: self.patch_size,
            bits: self.bits_per_patch,
            channels: self.channels,
        })
    }

    /// Builds the discriminator, its kernels drawn from `rng`.
    pub fn discriminator(&self, rng: &mut Rng, device: &Device) -> Result<CompressionDiscriminator> {
        self.check()?;
        let d = self.depth;
        let filters = [self.channels, d, 2 * d, 4 * d, 8 * d];
        let convs =
            (0..4).map(|i| conv(rng, [filters[i], filters[i + 1]], 4, if i < 3 { 2 } else { 1 }, 0, true, device));
        let convs = convs.collect();
        let logits = conv(rng, [8 * d, 1], 4, 1, 0, true, device);
        Ok(CompressionDiscriminator { convs, logits, channels: self.channels })
    }

    /// TF-GAN's training of the example: least-squares GAN losses, the summed L1 pixel loss
    /// (`tf.norm(real − generated, ord=1)`) combined with the adversarial loss by
    /// `weight_factor` (0: the pixel loss alone, and no discriminator updates: TF-GAN's
    /// `GANTrainSteps(1, int(weight_factor > 0))`), Adam (β1 0.5, ε 1e-8) with G lr 1e-5 and
    /// D lr 1e-6 (the G rate decayed ×0.9 every 60,000 steps, staircase), batch 32.
    ///
    /// ```
    /// use rgan::recipes::compression::CompressionRecipe;
    /// let config = CompressionRecipe::train_config(4000.0);
    /// assert_eq!((config.batch_size, config.discriminator_train_steps), (32, 1));
    /// assert_eq!(CompressionRecipe::train_config(0.0).discriminator_train_steps, 0);
    /// ```
    pub fn train_config(weight_factor: f64) -> TrainConfig {
        TrainConfig::new()
            .with_batch_size(32)
            .with_generator_optimizer(OptimizerConfig::new(1e-5).with_epsilon(1e-8).with_schedule(
                LearningRateSchedule::Exponential { decay_steps: 60_000, decay_rate: 0.9, staircase: true },
            ))
            .with_discriminator_optimizer(OptimizerConfig::new(1e-6).with_epsilon(1e-8))
            .with_loss(
                GanLossConfig::new().with_loss(GanLossKind::LeastSquares).with_non_adversarial(Some(
                    NonAdversarialLossConfig::new(weight_factor).with_loss(PixelLoss::L1Norm),
                )),
            )
            .with_schedule(TrainSchedule::Sequential)
            .with_discriminator_train_steps(usize::from(weight_factor > 0.0))
    }

    /// The step training the codec and discriminator with `config`, the sample grid coding
    /// `samples`.
    pub fn step(
        &self,
        config: &TrainConfig,
        mut seeds: Seeds,
        samples: Tensor<4>,
        device: &Device,
    ) -> Result<CompressionStep> {
        let device = device.clone().autodiff();
        let model = GanModel {
            generator: self.codec(&mut seeds.generator, &device)?,
            discriminator: self.discriminator(&mut seeds.discriminator, &device)?,
        };
        let inputs = CompressionInputs { bits: self.bits_per_patch, samples };
        GanStep::new(config.clone(), model, inputs, seeds.step, &device)
    }

    /// A run on the patches of `data` in `logdir`: started, or resumed from its newest
    /// checkpoint as `resume` says (a `bool`: restart).
    pub fn trainer<'d, D: ImageDataset + ?Sized>(
        &self,
        config: TrainConfig,
        data: &'d D,
        logdir: impl AsRef<std::path::Path>,
        resume: impl Into<Resume>,
        device: &Device,
    ) -> Result<Trainer<CompressionStep, ImageBatches<'d, D>>> {
        let [c, h, w] = data.image_shape();
        if [c, h, w] != [self.channels, self.patch_size, self.patch_size] {
            return Err(RganError::shape(
                "data",
                &[c, h, w],
                format!("but the codec takes [{0}, {1}, {1}] patches", self.channels, self.patch_size),
            ));
        }
        let batches = ImageBatches::new(data, config.batch_size)?;
        let plain = device.clone().without_autodiff();
        let samples = fixed_batch(ImageBatches::new(data, config.grid_size.min(data.len()))?, &plain)?.images;
        let description = Recipe::Compression(self.clone()).description()?;
        Trainer::start_or_resume(logdir, description, config, resume, batches, |config, seeds| {
            self.step(config, seeds, samples, device)
        })
    }
}

impl CompressionCodec {
    fn check(&self, images: &Tensor<4>) -> Result<()> {
        let [n, c, h, w] = images.dims();
        if n == 0 || c != self.channels || h != self.patch || w != self.patch {
            return Err(RganError::shape(
                "images",
                &[n, c, h, w],
                format!("but the codec takes [batch ≥ 1, {0}, {1}, {1}] patches", self.channels, self.patch),
            ));
        }
        Ok(())
    }

    /// The pre-binary codes `[N, bits]` in `(-1, 1)` of `patches`.
    pub fn prebinary(&self, patches: &Tensor<4>, mode: BatchNormMode) -> Result<Tensor<2>> {
        self.check(patches)?;
        let n = patches.dims()[0];
        let mut x = leaky_relu(conv2d_layer(&self.encoder[0], patches.clone()), 0.2);
        for (conv, norm) in self.encoder[1..].iter().zip(&self.encoder_norms) {
            x = leaky_relu(batch_norm_act(norm, conv2d_layer(conv, x), mode, Activation::Identity), 0.2);
        }
        Ok(softsign(conv2d_layer(&self.to_bits, x).reshape([n, self.bits])))
    }

    /// Patches `[N, C, patch, patch]` in `(-1, 1)` decoded from codes `[N, bits]`.
    pub fn decode_with(&self, codes: Tensor<2>, mode: BatchNormMode) -> Result<Tensor<4>> {
        let [n, bits] = codes.dims();
        if bits != self.bits || n == 0 {
            return Err(RganError::shape(
                "codes",
                &[n, bits],
                format!("but the decoder takes [batch ≥ 1, {}]", self.bits),
            ));
        }
        let mut x = codes.reshape([n, self.bits, 1, 1]);
        let last = self.decoder.len() - 1;
        for (conv, norm) in self.decoder[..last].iter().zip(&self.decoder_norms) {
            x = batch_norm_act(norm, conv_transpose2d_layer(conv, x), mode, Activation::Relu);
        }
        let x = conv_transpose2d_layer(&self.decoder[last], x);
        Ok(softsign(conv2d_layer(&self.to_pixels, x)))
    }

    /// The codes `[N, bits]` of `patches`, each value −1 or 1: the evaluation encoder (batch norm
    /// with its moving averages) and binarizer.
    pub fn encode(&self, patches: &Tensor<4>) -> Result<Tensor<2>> {
        Ok(binarize(self.prebinary(patches, BatchNormMode::MovingAverages)?))
    }

    /// The evaluation decoder (batch norm with its moving averages) of codes `[N, bits]`.
    pub fn decode(&self, codes: Tensor<2>) -> Result<Tensor<4>> {
        self.decode_with(codes, BatchNormMode::MovingAverages)
    }

    /// The side of the patches it codes.
    pub fn patch_size(&self) -> usize {
        self.patch
    }

    /// Bits per patch.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Image channels.
    pub fn channels(&self) -> usize {
        self.channels
    }
}

impl GanGenerator<CodedImages> for CompressionCodec {
    /// Training (an autodiff device): the noisy code through the decoder, batch norm with the
    /// batch's statistics. Otherwise: [`encode`](Self::encode) then [`decode`](Self::decode).
    fn generate(&self, inputs: &CodedImages) -> Result<Tensor<4>> {
        if !inputs.images.device().is_autodiff() {
            return self.decode(self.encode(&inputs.images)?);
        }
        let codes = self.prebinary(&inputs.images, BatchNormMode::Layer)?;
        if inputs.noise.dims() != codes.dims() {
            return Err(RganError::shape(
                "noise",
                &inputs.noise.dims(),
                format!("but the codes are {:?}", codes.dims()),
            ));
        }
        self.decode_with(codes + inputs.noise.clone(), BatchNormMode::Layer)
    }

    /// What the codec makes of the patches at evaluation (sign codes, moving averages).
    fn sample(&self, inputs: &CodedImages) -> Result<Tensor<4>> {
        self.decode(self.encode(&inputs.images)?)
    }
}

/// Patches coded or decoded per forward pass by the image functions. Fixed, so that coding an
/// image and decoding its file run the networks on the same batches.
const PATCH_BATCH: usize = 256;

impl CompressionCodec {
    /// The patches of an image: `pixels` (`[channels, height, width]` in `[-1, 1]`) extended by
    /// mirroring to multiples of the patch side, cut row by row into `[N, C, patch, patch]`.
    fn patches(&self, pixels: &[f32], [c, h, w]: [usize; 3]) -> Result<(Vec<f32>, [usize; 2])> {
        if c != self.channels || h == 0 || w == 0 || pixels.len() != c * h * w {
            return Err(RganError::invalid(
                "pixels",
                format!(
                    "hold {} values as [{c}, {h}, {w}]; the codec takes {}-channel images",
                    pixels.len(),
                    self.channels
                ),
            ));
        }
        let p = self.patch;
        let (padded, ph, pw) = super::pad_to_multiple(pixels, [c, h, w], p);
        let (rows, cols) = (ph / p, pw / p);
        let mut out = Vec::with_capacity(padded.len());
        for r in 0..rows {
            for q in 0..cols {
                for plane in padded.chunks(ph * pw) {
                    for y in r * p..(r + 1) * p {
                        out.extend_from_slice(&plane[y * pw + q * p..y * pw + (q + 1) * p]);
                    }
                }
            }
        }
        Ok((out, [rows, cols]))
    }

    /// Codes an image of any size: each patch's `bits` bits (1 for a code of +1), patch after
    /// patch, row by row (see [`CompressedImage`] for the file).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::recipes::compression::CompressionRecipe;
    /// let device = Device::default();
    /// let recipe = CompressionRecipe::new().with_patch_size(8).with_bits_per_patch(5).with_depth(2);
    /// let codec = recipe.codec(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    /// let pixels = vec![0.25; 3 * 10 * 13];
    /// let bits = codec.compress_pixels(&pixels, [3, 10, 13], &device).unwrap();
    /// assert_eq!(bits.len(), 2 * 2 * 5); // 2 × 2 patches of 8 × 8 cover 10 × 13
    /// let decoded = codec.decompress_bits(&bits, [10, 13], &device).unwrap();
    /// assert_eq!(decoded, codec.reconstruct(&pixels, [3, 10, 13], &device).unwrap());
    /// assert_eq!(decoded.len(), 3 * 10 * 13);
    /// ```
    pub fn compress_pixels(&self, pixels: &[f32], shape: [usize; 3], device: &Device) -> Result<Vec<bool>> {
        let (patches, [rows, cols]) = self.patches(pixels, shape)?;
        let per_patch = self.channels * self.patch * self.patch;
        let mut bits = Vec::with_capacity(rows * cols * self.bits);
        for chunk in patches.chunks(PATCH_BATCH * per_patch) {
            let n = chunk.len() / per_patch;
            let tensor = Tensor::<4>::from_data(
                TensorData::new(chunk.to_vec(), [n, self.channels, self.patch, self.patch]),
                device,
            );
            let codes = self.encode(&tensor)?.into_data().convert::<f32>().try_into_vec::<f32>();
            let codes = codes.map_err(|e| RganError::invalid("codes", format!("cannot be read back: {e:?}")))?;
            bits.extend(codes.iter().map(|&v| v > 0.0));
        }
        Ok(bits)
    }

    /// The image of `height × width` decoded from the bits [`compress_pixels`](Self::compress_pixels)
    /// made: `[channels, height, width]` values in `(-1, 1)`.
    pub fn decompress_bits(&self, bits: &[bool], [h, w]: [usize; 2], device: &Device) -> Result<Vec<f32>> {
        let p = self.patch;
        let (rows, cols) = (h.div_ceil(p), w.div_ceil(p));
        if h == 0 || w == 0 || bits.len() != rows * cols * self.bits {
            return Err(RganError::invalid(
                "bits",
                format!(
                    "are {} for a {w} × {h} image, which takes {} ({rows} × {cols} patches of {})",
                    bits.len(),
                    rows * cols * self.bits,
                    self.bits
                ),
            ));
        }
        let (ph, pw) = (rows * p, cols * p);
        let mut image = vec![0f32; self.channels * ph * pw];
        let codes: Vec<f32> = bits.iter().map(|&b| if b { 1.0 } else { -1.0 }).collect();
        let mut index = 0;
        for chunk in codes.chunks(PATCH_BATCH * self.bits) {
            let n = chunk.len() / self.bits;
            let decoded =
                self.decode(Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [n, self.bits]), device))?;
            let values = decoded.into_data().convert::<f32>().try_into_vec::<f32>();
            let values =
                values.map_err(|e| RganError::invalid("decoded patches", format!("cannot be read back: {e:?}")))?;
            for patch in values.chunks(self.channels * p * p) {
                let (r, q) = (index / cols, index % cols);
                for (k, plane) in patch.chunks(p * p).enumerate() {
                    for y in 0..p {
                        let at = k * ph * pw + (r * p + y) * pw + q * p;
                        image[at..at + p].copy_from_slice(&plane[y * p..(y + 1) * p]);
                    }
                }
                index += 1;
            }
        }
        let mut out = Vec::with_capacity(self.channels * h * w);
        for plane in image.chunks(ph * pw) {
            for y in 0..h {
                out.extend_from_slice(&plane[y * pw..y * pw + w]);
            }
        }
        Ok(out)
    }

    /// What the codec makes of an image at evaluation: [`compress_pixels`](Self::compress_pixels)
    /// then [`decompress_bits`](Self::decompress_bits).
    pub fn reconstruct(&self, pixels: &[f32], shape: [usize; 3], device: &Device) -> Result<Vec<f32>> {
        let bits = self.compress_pixels(pixels, shape, device)?;
        self.decompress_bits(&bits, [shape[1], shape[2]], device)
    }
}

/// The codec of a compression checkpoint (any path
/// [`resolve_checkpoint`](crate::train::resolve_checkpoint) accepts) on `device`, with its
/// recipe and its model id: the FNV-1a hash of the checkpoint's generator weights file, which
/// [`CompressedImage::model_id`] records.
///
/// ```
/// use burn::prelude::*;
/// let err = rgan::recipes::compression::load_codec("/nonexistent/logs", &Device::default()).unwrap_err();
/// assert!(err.to_string().contains("/nonexistent/logs"));
/// ```
pub fn load_codec(
    path: impl AsRef<std::path::Path>,
    device: &Device,
) -> Result<(CompressionCodec, CompressionRecipe, u64)> {
    let checkpoint = crate::train::Checkpoint::open(path)?;
    let recipe = match Recipe::of(&checkpoint)? {
        Recipe::Compression(recipe) => recipe,
        other => {
            return Err(RganError::file(
                checkpoint.dir(),
                format!("holds a {}, not a compression model", other.name()),
            ));
        }
    };
    let bytes = checkpoint.read("generator.bpk")?;
    // FNV-1a, 64 bits: a stable id of the weights (std's hasher may change between Rust versions).
    let id = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3));
    let codec = checkpoint.module("generator.bpk", recipe.codec(&mut Rng::seed_from_u64(0), device)?)?;
    Ok((codec, recipe, id))
}

/// The magic bytes of an rgan compressed image file (`.rgc`).
pub const RGC_MAGIC: [u8; 4] = *b"RGC1";

/// The size of an `.rgc` header in bytes.
pub const RGC_HEADER_BYTES: usize = 27;

/// An image coded by a [`CompressionCodec`], as `rgan compress` writes it (`.rgc`, little
/// endian): the magic `RGC1`; the model's id (`u64`, a hash of its generator weights: a file
/// decodes only with the model that coded it); width and height (`u32` each, the original size,
/// before the mirror padding to whole patches); channels (`u8`); the patch side (`u16`); bits per
/// patch (`u32`); then the bits of every patch, row by row, most significant bit first, the last
/// byte filled with zeros.
///
/// ```
/// use rgan::recipes::compression::CompressedImage;
/// let image = CompressedImage { model_id: 7, width: 3, height: 2, channels: 3, patch: 8, bits_per_patch: 5, bits: vec![true, false, true, true, false] };
/// let bytes = image.to_bytes();
/// assert_eq!(bytes.len(), 27 + 1);
/// assert_eq!(CompressedImage::from_bytes(&bytes).unwrap(), image);
/// assert!(CompressedImage::from_bytes(&bytes[..20]).unwrap_err().to_string().contains("truncated"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompressedImage {
    /// The id of the model that coded it.
    pub model_id: u64,
    /// The image's width.
    pub width: usize,
    /// The image's height.
    pub height: usize,
    /// Its channels.
    pub channels: usize,
    /// The patch side.
    pub patch: usize,
    /// Bits per patch.
    pub bits_per_patch: usize,
    /// The bits of every patch.
    pub bits: Vec<bool>,
}

impl CompressedImage {
    /// The bytes of the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(RGC_HEADER_BYTES + self.bits.len().div_ceil(8));
        out.extend_from_slice(&RGC_MAGIC);
        out.extend_from_slice(&self.model_id.to_le_bytes());
        out.extend_from_slice(&(self.width as u32).to_le_bytes());
        out.extend_from_slice(&(self.height as u32).to_le_bytes());
        out.push(self.channels as u8);
        out.extend_from_slice(&(self.patch as u16).to_le_bytes());
        out.extend_from_slice(&(self.bits_per_patch as u32).to_le_bytes());
        for byte in self.bits.chunks(8) {
            out.push(byte.iter().enumerate().fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << (7 - i))));
        }
        out
    }

    /// Reads a file's bytes; a wrong magic, a truncated file or trailing bytes are errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = |why: String| RganError::invalid("compressed image", why);
        if bytes.len() < RGC_HEADER_BYTES {
            return Err(bad(format!(
                "is truncated: {} bytes, shorter than its {RGC_HEADER_BYTES}-byte header",
                bytes.len()
            )));
        }
        if bytes[..4] != RGC_MAGIC {
            return Err(bad("is not an rgan compressed image (no RGC1 magic)".into()));
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let model_id = u64::from_le_bytes(bytes[4..12].try_into().expect("8 bytes"));
        let (width, height, channels) = (u32_at(12), u32_at(16), bytes[20] as usize);
        let patch = u16::from_le_bytes([bytes[21], bytes[22]]) as usize;
        let bits_per_patch = u32_at(23);
        if width == 0 || height == 0 || channels == 0 || patch == 0 || bits_per_patch == 0 {
            return Err(bad(format!(
                "has a header of zeros ({width} × {height}, {channels} channels, patch {patch}, {bits_per_patch} bits)"
            )));
        }
        let count = width.div_ceil(patch) * height.div_ceil(patch) * bits_per_patch;
        let expected = RGC_HEADER_BYTES + count.div_ceil(8);
        if bytes.len() != expected {
            let what = if bytes.len() < expected { "truncated" } else { "longer than its header says" };
            return Err(bad(format!(
                "is {what}: {} bytes where a {width} × {height} image takes {expected}",
                bytes.len()
            )));
        }
        let data = &bytes[RGC_HEADER_BYTES..];
        let bits = (0..count).map(|i| data[i / 8] & (1 << (7 - i % 8)) != 0).collect();
        Ok(Self { model_id, width, height, channels, patch, bits_per_patch, bits })
    }

    /// Bits per pixel of the whole file, header included.
    pub fn file_bits_per_pixel(&self) -> f64 {
        (8 * (RGC_HEADER_BYTES + self.bits.len().div_ceil(8))) as f64 / (self.width * self.height) as f64
    }
}

/// slim's `pix2pix_discriminator` as the compression example uses it (see the
/// [module docs](self)).
#[derive(Module, Debug)]
pub struct CompressionDiscriminator {
    convs: Vec<Conv2d>,
    logits: Conv2d,
    channels: usize,
}

impl GanDiscriminator<CodedImages> for CompressionDiscriminator {
    fn discriminate(&self, data: Tensor<4>, _inputs: &CodedImages) -> Result<DiscriminatorOutput> {
        let [n, c, h, w] = data.dims();
        // Three stride-2 layers (s → s/2 + 1) and a reflection padding of 2 (which needs 3 rows).
        if c != self.channels || h < 8 || w < 8 {
            return Err(RganError::shape(
                "images",
                &[n, c, h, w],
                format!("but the discriminator takes [batch, {}, H ≥ 8, W ≥ 8]", self.channels),
            ));
        }
        let pad = |x: Tensor<4>| x.pad([(2, 2), (2, 2)], PadMode::Reflect);
        let mut x = data;
        for conv in &self.convs {
            x = leaky_relu(conv2d_layer(conv, pad(x)), 0.2);
        }
        let logits = conv2d_layer(&self.logits, pad(x));
        let [n, _, h, w] = logits.dims();
        Ok(DiscriminatorOutput::logits(logits.reshape([n, h * w])))
    }

    fn batch_independent(&self) -> bool {
        true
    }
}

/// The compression GAN's data: the patches are both the real data and the generator's input,
/// with the binarizer's noise drawn from the step's random stream.
#[derive(Clone, Debug)]
pub struct CompressionInputs {
    /// Bits per patch (the noise's width).
    pub bits: usize,
    /// The patches of the sample grid, one per row (patch | decoded | patch).
    pub samples: Tensor<4>,
}

impl InputFn for CompressionInputs {
    type Batch = Batch;
    type Inputs = CodedImages;

    fn inputs(&self, batch: Batch, rng: &mut Rng) -> Result<(Tensor<4>, CodedImages)> {
        let images = batch.images;
        let noise = rng.uniform([images.dims()[0], self.bits], -1.0, 1.0, &images.device());
        Ok((images.clone(), CodedImages { images, noise }))
    }

    fn sample_grid(&self, _columns: usize, _rng: &mut Rng, device: &Device) -> Result<SampleGrid<CodedImages>> {
        let images = self.samples.clone().to_device(device);
        let noise = Tensor::zeros([images.dims()[0], self.bits], device);
        Ok(SampleGrid { inputs: CodedImages { images, noise }, targets: None, columns: 1 })
    }
}

/// The step training a compression model.
pub type CompressionStep = GanStep<CompressionCodec, CompressionDiscriminator, CompressionInputs>;

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> CompressionRecipe {
        CompressionRecipe::new().with_patch_size(32).with_bits_per_patch(24).with_depth(4)
    }

    /// TF-GAN's shapes: encoder 32 → 16 → 8 → 4 → 2 → 1 with depth · 2^i filters; decoder 1 → 4
    /// → 8 → 16 → 32; the discriminator's 7 × 7 logits on a 32 × 32 patch.
    #[test]
    fn the_networks_have_tfgans_shapes() {
        let device = Device::default();
        let recipe = small();
        let codec = recipe.codec(&mut Rng::seed_from_u64(0), &device).unwrap();
        let filters: Vec<usize> = codec.encoder.iter().map(|c| c.weight.dims()[0]).collect();
        assert_eq!(filters, [4, 8, 16, 32, 64]);
        let filters: Vec<usize> = codec.decoder.iter().map(|c| c.weight.dims()[1]).collect();
        assert_eq!(filters, [32, 16, 8, 4]);
        let patches = Tensor::<4>::random([3, 3, 32, 32], burn::tensor::Distribution::Uniform(-1.0, 1.0), &device);
        let codes = codec.encode(&patches).unwrap();
        let values: Vec<f32> = codes.clone().into_data().convert::<f32>().try_into_vec().unwrap();
        assert!(values.iter().all(|&v| v == 1.0 || v == -1.0));
        let decoded = codec.decode(codes).unwrap();
        assert_eq!(decoded.dims(), [3, 3, 32, 32]);
        let d = recipe.discriminator(&mut Rng::seed_from_u64(1), &device).unwrap();
        let inputs = CodedImages { images: patches.clone(), noise: Tensor::zeros([3, 24], &device) };
        assert_eq!(d.discriminate(decoded, &inputs).unwrap().logits.dims(), [3, 49]);
        // Not a patch of the codec's size: an error naming both.
        let err = codec.encode(&Tensor::zeros([1, 3, 16, 16], &device)).unwrap_err().to_string();
        assert!(err.contains("[1, 3, 16, 16]") && err.contains("32, 32]"), "{err}");
    }

    /// The training generator adds the noise to the pre-binary code: with zero noise it decodes
    /// the code itself, not its sign.
    #[test]
    fn training_adds_the_noise_and_evaluation_takes_the_sign() {
        let device = Device::default().autodiff();
        let codec = small().codec(&mut Rng::seed_from_u64(0), &device).unwrap();
        let patches = Tensor::<4>::random([2, 3, 32, 32], burn::tensor::Distribution::Uniform(-1.0, 1.0), &device);
        let zero = CodedImages { images: patches.clone(), noise: Tensor::zeros([2, 24], &device) };
        let trained = codec.generate(&zero).unwrap();
        let prebinary = codec.prebinary(&patches, BatchNormMode::Layer).unwrap();
        let expected = codec.decode_with(prebinary, BatchNormMode::Layer).unwrap();
        trained.into_data().assert_approx_eq::<f32>(&expected.into_data(), burn::tensor::Tolerance::absolute(1e-6));
        let evaluated = codec.sample(&zero).unwrap();
        let by_hand = codec.decode(codec.encode(&patches).unwrap()).unwrap();
        assert_eq!(evaluated.into_data(), by_hand.into_data());
    }
}
