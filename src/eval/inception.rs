//! The FID Inception-v3 network ("pool3" features), as pytorch-fid's `FIDInceptionV3`.
//!
//! This is the TensorFlow `inception-2015-12-05` ImageNet graph that the original TTUR FID code
//! used, with pytorch-fid's layer names. It is **not** torchvision's Inception-v3: the weights
//! differ, and so does the wiring in two places, both of which change FID values:
//!
//! 1. every stride-1 average pool in the A, C and E_1 blocks excludes the padding from its
//!    divisor (`count_include_pad = false`, TensorFlow's `SAME` average pool);
//! 2. the pool branch of `Mixed_7c` (E_2) is a 3×3 stride-1 **max** pool.
//!
//! Every convolution is a `BasicConv2d`: convolution without bias, batch norm in inference mode
//! with epsilon 0.001, ReLU. There is no dropout, no auxiliary classifier, no input transform.
//!
//! Weights: the float32 safetensors file `fid_inception_v3.safetensors` (470 tensors,
//! 87,327,728 bytes, sha256 `9d504353be838388034426a8e3bcc9668fbfa6f84b0b5951da1e494cdeeca320`)
//! with pytorch-fid's state-dict names (`Mixed_5b.branch1x1.conv.weight`, `….bn.weight`,
//! `….bn.bias`, `….bn.running_mean`, `….bn.running_var`), or pytorch-fid's own PyTorch file
//! `pt_inception-2015-12-05-6726825d.pth` (read with burn's `pytorch-reader`).
//! [`inception_weights_path`] says where it is looked for.
//!
//! **The Inception Score needs the 1008-way classifier** (`fc.weight` [1008, 2048], `fc.bias`
//! [1008]): pytorch-fid's `.pth` has it; the safetensors copy above does not, and with it
//! [`FidInceptionV3::inception_score_logits`] is an error, never a score of zeros. The
//! classifier path is tested against pytorch-fid's own model given the same weights and a
//! formula classifier (`tests/fixtures/pytorch_fid/`): logits agree to 1.6e-6 of their scale.
//!
//! Inputs: [`preprocess`] turns images of any size into the network's input (RGB, bilinear
//! resize to 299×299 without antialiasing and with half-pixel centres, values in [-1, 1]),
//! exactly as pytorch-fid's default path; [`FidInceptionV3::features`] maps that input to the
//! 2048 pool3 features per image.

use std::path::{Path, PathBuf};

use burn::module::{Param, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use pytorch_reader::{DType as PytorchDType, PytorchReader};
use safetensors::{Dtype, SafeTensors};

use crate::error::{Result, RganError};
use crate::ops::{avg_pool2d_layer, conv2d_batch_norm_relu, max_pool2d_layer};

/// The side of the network's square input images.
pub const INCEPTION_INPUT_SIZE: usize = 299;

/// The number of pool3 features per image.
pub const INCEPTION_FEATURES: usize = 2048;

/// The classes of the Inception network's classifier (ImageNet's 1000 and 8 unused ones, as in
/// the 2015-12-05 graph).
pub const INCEPTION_CLASSES: usize = 1008;

/// The weights file's name, in the cache folder that [`inception_weights_path`] looks in.
pub const INCEPTION_WEIGHTS_FILE: &str = "fid_inception_v3.safetensors";

/// The environment variable naming the weights file.
pub const INCEPTION_WEIGHTS_ENV: &str = "RGAN_INCEPTION_WEIGHTS";

/// The weights file's sha256, for checking a download.
pub const INCEPTION_WEIGHTS_SHA256: &str = "9d504353be838388034426a8e3bcc9668fbfa6f84b0b5951da1e494cdeeca320";

/// Batch-norm epsilon of every layer (TensorFlow's 0.001, not burn's 1e-5 default).
const BN_EPSILON: f64 = 1e-3;

/// The cache location of the weights: `$XDG_CACHE_HOME/rgan/fid_inception_v3.safetensors` when
/// `XDG_CACHE_HOME` is set to an absolute path, else `$HOME/.cache/rgan/…` (`%USERPROFILE%` on
/// Windows), or `None` when neither is known.
///
/// ```
/// if let Some(path) = rgan::eval::inception::inception_cache_path() {
///     assert!(path.ends_with("rgan/fid_inception_v3.safetensors"));
/// }
/// ```
pub fn inception_cache_path() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).filter(|p| p.is_absolute());
    let base = xdg.or_else(|| {
        std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(|home| PathBuf::from(home).join(".cache"))
    })?;
    Some(base.join("rgan").join(INCEPTION_WEIGHTS_FILE))
}

/// Where the FID Inception weights are: `explicit` (a command line's `--inception-weights`) when
/// given, else the file named by the environment variable `RGAN_INCEPTION_WEIGHTS`, else the
/// cache path of [`inception_cache_path`]. The chosen file must exist; the error says where to
/// put it.
///
/// ```
/// use std::path::Path;
/// use rgan::eval::inception::inception_weights_path;
/// let err = inception_weights_path(Some(Path::new("/no/such/weights.safetensors"))).unwrap_err();
/// assert!(err.to_string().contains("/no/such/weights.safetensors"));
/// ```
pub fn inception_weights_path(explicit: Option<&Path>) -> Result<PathBuf> {
    let (path, source) = if let Some(path) = explicit {
        (path.to_path_buf(), "given explicitly (--inception-weights)".to_string())
    } else if let Some(path) = std::env::var_os(INCEPTION_WEIGHTS_ENV).filter(|p| !p.is_empty()) {
        (PathBuf::from(path), format!("named by the environment variable {INCEPTION_WEIGHTS_ENV}"))
    } else if let Some(path) = inception_cache_path() {
        (path, "the default cache location".to_string())
    } else {
        return Err(RganError::invalid(
            "inception_weights",
            format!(
                "no FID Inception weights path: pass --inception-weights PATH or set \
                 {INCEPTION_WEIGHTS_ENV} to the file {INCEPTION_WEIGHTS_FILE} (neither HOME nor \
                 XDG_CACHE_HOME is set, so there is no cache location)"
            ),
        ));
    };
    if path.is_file() {
        return Ok(path);
    }
    Err(RganError::File {
        reason: format!(
            "FID Inception weights not found ({source}). Put pytorch-fid's FID Inception-v3 \
             weights as float32 safetensors ({INCEPTION_WEIGHTS_FILE}, 87,327,728 bytes, sha256 \
             {INCEPTION_WEIGHTS_SHA256}) exactly at this path, or pass --inception-weights PATH, \
             or set {INCEPTION_WEIGHTS_ENV}=PATH"
        ),
        path,
    })
}

/// The value range of images given to [`preprocess`].
///
/// ```
/// use rgan::eval::inception::InputRange;
/// assert_ne!(InputRange::MinusOneToOne, InputRange::ZeroTo255);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputRange {
    /// Values in [-1, 1] (a `tanh` generator's output).
    MinusOneToOne,
    /// Values in [0, 1] (pytorch-fid's own input convention).
    ZeroToOne,
    /// Values in [0, 255] (8-bit pixels as floats).
    ZeroTo255,
}

/// pytorch-fid's preprocessing: turns NCHW images with 1 (grey, repeated to RGB) or 3 (RGB)
/// channels, of any size and in the value range `range`, into the network's input
/// `[N, 3, 299, 299]` in [-1, 1].
///
/// Values are first brought to [0, 1] (÷255 for [`InputRange::ZeroTo255`]), then resized
/// bilinearly to 299×299 with half-pixel centres (`align_corners = false`) and **no**
/// antialiasing, also when shrinking (an input that is already 299×299 is left as it is), then
/// mapped with `2x − 1`. Images in [-1, 1] are resized directly (resizing is linear, so this is
/// the same up to rounding).
///
/// ```
/// use burn::prelude::*;
/// use rgan::eval::inception::{InputRange, preprocess};
/// let grey = Tensor::<4>::ones([2, 1, 28, 28], &Device::default()).mul_scalar(255.0);
/// let x = preprocess(grey, InputRange::ZeroTo255).unwrap();
/// assert_eq!(x.dims(), [2, 3, 299, 299]);
/// assert!((x.min().into_scalar::<f32>() - 1.0).abs() < 1e-6);
/// ```
pub fn preprocess(images: Tensor<4>, range: InputRange) -> Result<Tensor<4>> {
    let dims = images.dims();
    let [_, channels, height, width] = dims;
    let images = match channels {
        3 => images,
        1 => images.repeat_dim(1, 3),
        _ => {
            return Err(RganError::shape("images", &dims, "expected NCHW images with 1 (grey) or 3 (RGB) channels"));
        }
    };
    if height == 0 || width == 0 {
        return Err(RganError::shape("images", &dims, "expected images with at least one pixel"));
    }
    let images = match range {
        InputRange::MinusOneToOne | InputRange::ZeroToOne => images,
        InputRange::ZeroTo255 => images.div_scalar(255.0),
    };
    let images = resize_bilinear(images, INCEPTION_INPUT_SIZE, INCEPTION_INPUT_SIZE);
    Ok(match range {
        InputRange::MinusOneToOne => images,
        InputRange::ZeroToOne | InputRange::ZeroTo255 => images.mul_scalar(2.0).sub_scalar(1.0),
    })
}

/// Bilinear resize of NCHW images to `height × width` as PyTorch's
/// `F.interpolate(mode='bilinear', align_corners=False, antialias=False)`: per axis, output
/// index `i` reads the input at `max((i + 0.5) · in/out − 0.5, 0)`, blending the two nearest
/// pixels (the last one repeated at the edge). Same-size inputs are returned unchanged.
///
/// ```
/// use burn::prelude::*;
/// use burn::tensor::TensorData;
/// let x = Tensor::<4>::from_data(TensorData::new(vec![0.0f32, 4.0], [1, 1, 1, 2]), &Device::default());
/// let y = rgan::eval::inception::resize_bilinear(x, 1, 4);
/// assert_eq!(y.into_data().convert::<f32>().try_into_vec::<f32>().unwrap(), vec![0.0, 1.0, 3.0, 4.0]);
/// ```
pub fn resize_bilinear(images: Tensor<4>, height: usize, width: usize) -> Tensor<4> {
    let [_, _, h, w] = images.dims();
    if (h, w) == (height, width) {
        return images;
    }
    interpolate(
        images,
        InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false).with_output_size([height, width]),
    )
}

/// The tensors of a weights file: safetensors, or a PyTorch checkpoint read by burn's
/// `pytorch-reader` (the ZIP format of PyTorch ≥ 1.6 and the legacy format of pytorch-fid's
/// original `pt_inception-2015-12-05-6726825d.pth`, whose kernels are strided views).
enum Tensors<'a> {
    Safetensors(SafeTensors<'a>),
    Pytorch(PytorchReader),
}

/// Reads the tensors of one weights file, checking names, dtypes and shapes.
struct WeightFile<'a> {
    path: &'a Path,
    tensors: Tensors<'a>,
    device: &'a Device,
}

impl<'a> WeightFile<'a> {
    /// A safetensors file's bytes.
    fn safetensors(bytes: &'a [u8], path: &'a Path, device: &'a Device) -> Result<Self> {
        let tensors = SafeTensors::deserialize(bytes).map_err(|e| RganError::File {
            path: path.to_path_buf(),
            reason: format!("not a safetensors file: {e}"),
        })?;
        Ok(Self { path, tensors: Tensors::Safetensors(tensors), device })
    }

    /// A PyTorch checkpoint (the reader needs the file itself: its tensors live outside the
    /// pickle).
    fn pytorch(path: &'a Path, device: &'a Device) -> Result<Self> {
        let reader = PytorchReader::new(path).map_err(|e| RganError::File {
            path: path.to_path_buf(),
            reason: format!("neither a safetensors file nor a PyTorch checkpoint (.pth) that can be read: {e}"),
        })?;
        Ok(Self { path, tensors: Tensors::Pytorch(reader), device })
    }

    fn error(&self, reason: String) -> RganError {
        RganError::File { path: self.path.to_path_buf(), reason }
    }

    /// Whether the file holds a tensor called `name`.
    fn has(&self, name: &str) -> bool {
        match &self.tensors {
            Tensors::Safetensors(t) => t.tensor(name).is_ok(),
            Tensors::Pytorch(r) => r.get(name).is_some(),
        }
    }

    fn tensor<const D: usize>(&self, name: &str, shape: [usize; D]) -> Result<Tensor<D>> {
        let missing =
            || self.error(format!("missing tensor `{name}` (expected shape {shape:?}) in the FID Inception weights"));
        let wrong_shape = |found: &[usize]| {
            self.error(format!("tensor `{name}` has shape {found:?}, expected {shape:?} (FID Inception-v3)"))
        };
        let values: Vec<f32> = match &self.tensors {
            Tensors::Safetensors(tensors) => {
                let view = tensors.tensor(name).map_err(|_| missing())?;
                if view.shape() != shape {
                    return Err(wrong_shape(view.shape()));
                }
                if view.dtype() != Dtype::F32 {
                    return Err(self.error(format!("tensor `{name}` has dtype {:?}, expected F32", view.dtype())));
                }
                view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
            }
            Tensors::Pytorch(reader) => {
                let tensor = reader.get(name).ok_or_else(missing)?;
                if tensor.shape() != shape {
                    return Err(wrong_shape(tensor.shape()));
                }
                if tensor.dtype() != PytorchDType::F32 {
                    return Err(self.error(format!("tensor `{name}` has dtype {:?}, expected F32", tensor.dtype())));
                }
                // pytorch-reader hands back contiguous, native-endian bytes, strided views gathered.
                let bytes = tensor.read().map_err(|e| self.error(format!("cannot read tensor `{name}`: {e}")))?;
                bytes.chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect()
            }
        };
        Ok(Tensor::from_data(TensorData::new(values, shape), self.device))
    }
}

/// pytorch-fid's `BasicConv2d`: convolution without bias → batch norm (epsilon 0.001, always
/// with the running statistics) → ReLU.
#[derive(Module, Debug)]
pub struct BasicConv2d {
    /// The convolution (no bias).
    pub conv: Conv2d,
    /// The batch norm (`bn.weight` → `gamma`, `bn.bias` → `beta`).
    pub bn: BatchNorm,
}

impl BasicConv2d {
    fn load(
        file: &WeightFile,
        prefix: &str,
        channels: [usize; 2],
        kernel: [usize; 2],
        stride: usize,
        padding: [usize; 2],
    ) -> Result<Self> {
        let [cin, cout] = channels;
        let [ph, pw] = padding;
        let mut conv = Conv2dConfig::new(channels, kernel)
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
            .with_bias(false)
            .with_initializer(Initializer::Zeros)
            .init(file.device);
        conv.weight =
            Param::from_tensor(file.tensor(&format!("{prefix}.conv.weight"), [cout, cin, kernel[0], kernel[1]])?);
        let mut bn = BatchNormConfig::new(cout).with_epsilon(BN_EPSILON).init(file.device);
        bn.gamma = Param::from_tensor(file.tensor(&format!("{prefix}.bn.weight"), [cout])?);
        bn.beta = Param::from_tensor(file.tensor(&format!("{prefix}.bn.bias"), [cout])?);
        bn.running_mean = RunningState::new(file.tensor(&format!("{prefix}.bn.running_mean"), [cout])?);
        bn.running_var = RunningState::new(file.tensor(&format!("{prefix}.bn.running_var"), [cout])?);
        Ok(Self { conv, bn })
    }

    /// `relu(bn(conv(x)))`, the batch norm with its running statistics (inference mode) on any
    /// device, autodiff included.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        conv2d_batch_norm_relu(&self.conv, &self.bn, x)
    }
}

/// 3×3 stride-1 average pool with padding 1 that does not count the padding
/// (`count_include_pad = false`): FID quirk 1.
fn avg_pool_same() -> AvgPool2d {
    AvgPool2dConfig::new([3, 3])
        .with_strides([1, 1])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_count_include_pad(false)
        .init()
}

/// 3×3 stride-2 max pool without padding (the stem's and the reduction blocks' pools).
fn max_pool_reduce() -> MaxPool2d {
    MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).init()
}

/// The 1008-way classifier when the file has both `fc.weight` and `fc.bias`, `None` when it has
/// neither, an error when it has one without the other or either mis-shaped.
fn load_classifier(file: &WeightFile) -> Result<Option<Linear>> {
    match (file.has("fc.weight"), file.has("fc.bias")) {
        (false, false) => Ok(None),
        (true, true) => {
            let mut fc = LinearConfig::new(INCEPTION_FEATURES, INCEPTION_CLASSES)
                .with_initializer(Initializer::Zeros)
                .init(file.device);
            // PyTorch stores [out, in]; burn's Linear holds [in, out].
            let weight: Tensor<2> = file.tensor("fc.weight", [INCEPTION_CLASSES, INCEPTION_FEATURES])?;
            fc.weight = Param::from_tensor(weight.transpose());
            fc.bias = Some(Param::from_tensor(file.tensor("fc.bias", [INCEPTION_CLASSES])?));
            Ok(Some(fc))
        }
        (has_weight, _) => Err(file.error(format!(
            "has `{}` but not `{}`: the classifier layer needs both",
            if has_weight { "fc.weight" } else { "fc.bias" },
            if has_weight { "fc.bias" } else { "fc.weight" }
        ))),
    }
}

/// FID-InceptionA (`Mixed_5b`, `Mixed_5c`, `Mixed_5d`): 64 + 64 + 96 + `pool_features` channels.
#[derive(Module, Debug)]
#[allow(missing_docs)]
pub struct InceptionA {
    pub branch1x1: BasicConv2d,
    pub branch5x5_1: BasicConv2d,
    pub branch5x5_2: BasicConv2d,
    pub branch3x3dbl_1: BasicConv2d,
    pub branch3x3dbl_2: BasicConv2d,
    pub branch3x3dbl_3: BasicConv2d,
    pub branch_pool: BasicConv2d,
    pub pool: AvgPool2d,
}

impl InceptionA {
    fn load(f: &WeightFile, p: &str, cin: usize, pool_features: usize) -> Result<Self> {
        let l = |name: &str, ch, k, pad| BasicConv2d::load(f, &format!("{p}.{name}"), ch, k, 1, pad);
        Ok(Self {
            branch1x1: l("branch1x1", [cin, 64], [1, 1], [0, 0])?,
            branch5x5_1: l("branch5x5_1", [cin, 48], [1, 1], [0, 0])?,
            branch5x5_2: l("branch5x5_2", [48, 64], [5, 5], [2, 2])?,
            branch3x3dbl_1: l("branch3x3dbl_1", [cin, 64], [1, 1], [0, 0])?,
            branch3x3dbl_2: l("branch3x3dbl_2", [64, 96], [3, 3], [1, 1])?,
            branch3x3dbl_3: l("branch3x3dbl_3", [96, 96], [3, 3], [1, 1])?,
            branch_pool: l("branch_pool", [cin, pool_features], [1, 1], [0, 0])?,
            pool: avg_pool_same(),
        })
    }

    /// The four branches, concatenated along channels.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b5 = self.branch5x5_2.forward(self.branch5x5_1.forward(x.clone()));
        let b3 = self.branch3x3dbl_3.forward(self.branch3x3dbl_2.forward(self.branch3x3dbl_1.forward(x.clone())));
        let bp = self.branch_pool.forward(avg_pool2d_layer(&self.pool, x));
        Tensor::cat(vec![b1, b5, b3, bp], 1)
    }
}

/// InceptionB (`Mixed_6a`, a reduction block): 384 + 96 + 288 = 768 channels at half the size.
#[derive(Module, Debug)]
#[allow(missing_docs)]
pub struct InceptionB {
    pub branch3x3: BasicConv2d,
    pub branch3x3dbl_1: BasicConv2d,
    pub branch3x3dbl_2: BasicConv2d,
    pub branch3x3dbl_3: BasicConv2d,
    pub pool: MaxPool2d,
}

impl InceptionB {
    fn load(f: &WeightFile, p: &str, cin: usize) -> Result<Self> {
        let l = |name: &str, ch, k, s, pad| BasicConv2d::load(f, &format!("{p}.{name}"), ch, k, s, pad);
        Ok(Self {
            branch3x3: l("branch3x3", [cin, 384], [3, 3], 2, [0, 0])?,
            branch3x3dbl_1: l("branch3x3dbl_1", [cin, 64], [1, 1], 1, [0, 0])?,
            branch3x3dbl_2: l("branch3x3dbl_2", [64, 96], [3, 3], 1, [1, 1])?,
            branch3x3dbl_3: l("branch3x3dbl_3", [96, 96], [3, 3], 2, [0, 0])?,
            pool: max_pool_reduce(),
        })
    }

    /// The three branches, concatenated along channels.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self.branch3x3.forward(x.clone());
        let bd = self.branch3x3dbl_3.forward(self.branch3x3dbl_2.forward(self.branch3x3dbl_1.forward(x.clone())));
        let bp = max_pool2d_layer(&self.pool, x);
        Tensor::cat(vec![b3, bd, bp], 1)
    }
}

/// FID-InceptionC (`Mixed_6b` … `Mixed_6e`): 4 × 192 = 768 channels.
#[derive(Module, Debug)]
#[allow(missing_docs)]
pub struct InceptionC {
    pub branch1x1: BasicConv2d,
    pub branch7x7_1: BasicConv2d,
    pub branch7x7_2: BasicConv2d,
    pub branch7x7_3: BasicConv2d,
    pub branch7x7dbl_1: BasicConv2d,
    pub branch7x7dbl_2: BasicConv2d,
    pub branch7x7dbl_3: BasicConv2d,
    pub branch7x7dbl_4: BasicConv2d,
    pub branch7x7dbl_5: BasicConv2d,
    pub branch_pool: BasicConv2d,
    pub pool: AvgPool2d,
}

impl InceptionC {
    fn load(f: &WeightFile, p: &str, c7: usize) -> Result<Self> {
        let l = |name: &str, ch, k, pad| BasicConv2d::load(f, &format!("{p}.{name}"), ch, k, 1, pad);
        let (row, col) = (([1, 7], [0, 3]), ([7, 1], [3, 0]));
        Ok(Self {
            branch1x1: l("branch1x1", [768, 192], [1, 1], [0, 0])?,
            branch7x7_1: l("branch7x7_1", [768, c7], [1, 1], [0, 0])?,
            branch7x7_2: l("branch7x7_2", [c7, c7], row.0, row.1)?,
            branch7x7_3: l("branch7x7_3", [c7, 192], col.0, col.1)?,
            branch7x7dbl_1: l("branch7x7dbl_1", [768, c7], [1, 1], [0, 0])?,
            branch7x7dbl_2: l("branch7x7dbl_2", [c7, c7], col.0, col.1)?,
            branch7x7dbl_3: l("branch7x7dbl_3", [c7, c7], row.0, row.1)?,
            branch7x7dbl_4: l("branch7x7dbl_4", [c7, c7], col.0, col.1)?,
            branch7x7dbl_5: l("branch7x7dbl_5", [c7, 192], row.0, row.1)?,
            branch_pool: l("branch_pool", [768, 192], [1, 1], [0, 0])?,
            pool: avg_pool_same(),
        })
    }

    /// The four branches, concatenated along channels.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b7 = self.branch7x7_1.forward(x.clone());
        let b7 = self.branch7x7_3.forward(self.branch7x7_2.forward(b7));
        let bd = self.branch7x7dbl_1.forward(x.clone());
        let bd = self.branch7x7dbl_3.forward(self.branch7x7dbl_2.forward(bd));
        let bd = self.branch7x7dbl_5.forward(self.branch7x7dbl_4.forward(bd));
        let bp = self.branch_pool.forward(avg_pool2d_layer(&self.pool, x));
        Tensor::cat(vec![b1, b7, bd, bp], 1)
    }
}

/// InceptionD (`Mixed_7a`, a reduction block): 320 + 192 + 768 = 1280 channels at half the size.
#[derive(Module, Debug)]
#[allow(missing_docs)]
pub struct InceptionD {
    pub branch3x3_1: BasicConv2d,
    pub branch3x3_2: BasicConv2d,
    pub branch7x7x3_1: BasicConv2d,
    pub branch7x7x3_2: BasicConv2d,
    pub branch7x7x3_3: BasicConv2d,
    pub branch7x7x3_4: BasicConv2d,
    pub pool: MaxPool2d,
}

impl InceptionD {
    fn load(f: &WeightFile, p: &str, cin: usize) -> Result<Self> {
        let l = |name: &str, ch, k, s, pad| BasicConv2d::load(f, &format!("{p}.{name}"), ch, k, s, pad);
        Ok(Self {
            branch3x3_1: l("branch3x3_1", [cin, 192], [1, 1], 1, [0, 0])?,
            branch3x3_2: l("branch3x3_2", [192, 320], [3, 3], 2, [0, 0])?,
            branch7x7x3_1: l("branch7x7x3_1", [cin, 192], [1, 1], 1, [0, 0])?,
            branch7x7x3_2: l("branch7x7x3_2", [192, 192], [1, 7], 1, [0, 3])?,
            branch7x7x3_3: l("branch7x7x3_3", [192, 192], [7, 1], 1, [3, 0])?,
            branch7x7x3_4: l("branch7x7x3_4", [192, 192], [3, 3], 2, [0, 0])?,
            pool: max_pool_reduce(),
        })
    }

    /// The three branches, concatenated along channels.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self.branch3x3_2.forward(self.branch3x3_1.forward(x.clone()));
        let b7 = self.branch7x7x3_2.forward(self.branch7x7x3_1.forward(x.clone()));
        let b7 = self.branch7x7x3_4.forward(self.branch7x7x3_3.forward(b7));
        let bp = max_pool2d_layer(&self.pool, x);
        Tensor::cat(vec![b3, b7, bp], 1)
    }
}

/// FID-InceptionE_1 (`Mixed_7b`, average-pool branch) and FID-InceptionE_2 (`Mixed_7c`, max-pool
/// branch, FID quirk 2): 320 + 768 + 768 + 192 = 2048 channels.
#[derive(Module, Debug)]
#[allow(missing_docs)]
pub struct InceptionE {
    pub branch1x1: BasicConv2d,
    pub branch3x3_1: BasicConv2d,
    pub branch3x3_2a: BasicConv2d,
    pub branch3x3_2b: BasicConv2d,
    pub branch3x3dbl_1: BasicConv2d,
    pub branch3x3dbl_2: BasicConv2d,
    pub branch3x3dbl_3a: BasicConv2d,
    pub branch3x3dbl_3b: BasicConv2d,
    pub branch_pool: BasicConv2d,
    /// The E_1 pool (3×3 stride 1, padding 1, not counting the padding).
    pub avg_pool: AvgPool2d,
    /// The E_2 pool (3×3 stride 1, padding 1).
    pub max_pool: MaxPool2d,
    /// `true` for E_2 (`Mixed_7c`): the pool branch takes the max pool.
    pub use_max_pool: bool,
}

impl InceptionE {
    fn load(f: &WeightFile, p: &str, cin: usize, use_max_pool: bool) -> Result<Self> {
        let l = |name: &str, ch, k, pad| BasicConv2d::load(f, &format!("{p}.{name}"), ch, k, 1, pad);
        Ok(Self {
            branch1x1: l("branch1x1", [cin, 320], [1, 1], [0, 0])?,
            branch3x3_1: l("branch3x3_1", [cin, 384], [1, 1], [0, 0])?,
            branch3x3_2a: l("branch3x3_2a", [384, 384], [1, 3], [0, 1])?,
            branch3x3_2b: l("branch3x3_2b", [384, 384], [3, 1], [1, 0])?,
            branch3x3dbl_1: l("branch3x3dbl_1", [cin, 448], [1, 1], [0, 0])?,
            branch3x3dbl_2: l("branch3x3dbl_2", [448, 384], [3, 3], [1, 1])?,
            branch3x3dbl_3a: l("branch3x3dbl_3a", [384, 384], [1, 3], [0, 1])?,
            branch3x3dbl_3b: l("branch3x3dbl_3b", [384, 384], [3, 1], [1, 0])?,
            branch_pool: l("branch_pool", [cin, 192], [1, 1], [0, 0])?,
            avg_pool: avg_pool_same(),
            max_pool: MaxPool2dConfig::new([3, 3])
                .with_strides([1, 1])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            use_max_pool,
        })
    }

    /// The four branches (two of them split in two), concatenated along channels.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b3 = self.branch3x3_1.forward(x.clone());
        let b3a = self.branch3x3_2a.forward(b3.clone());
        let b3b = self.branch3x3_2b.forward(b3);
        let bd = self.branch3x3dbl_2.forward(self.branch3x3dbl_1.forward(x.clone()));
        let bda = self.branch3x3dbl_3a.forward(bd.clone());
        let bdb = self.branch3x3dbl_3b.forward(bd);
        let pooled =
            if self.use_max_pool { max_pool2d_layer(&self.max_pool, x) } else { avg_pool2d_layer(&self.avg_pool, x) };
        let bp = self.branch_pool.forward(pooled);
        Tensor::cat(vec![b1, b3a, b3b, bda, bdb, bp], 1)
    }
}

/// The outputs of pytorch-fid's four blocks for one batch (for locating a wiring or weight bug).
#[derive(Debug, Clone)]
pub struct InceptionBlocks {
    /// Block 0: after the first max pool, `[N, 64, 73, 73]`.
    pub block0: Tensor<4>,
    /// Block 1: after the second max pool, `[N, 192, 35, 35]`.
    pub block1: Tensor<4>,
    /// Block 2: after `Mixed_6e`, `[N, 768, 17, 17]`.
    pub block2: Tensor<4>,
    /// Block 3: the pool3 features, `[N, 2048]`.
    pub pool3: Tensor<2>,
}

/// The FID Inception-v3 network (pytorch-fid's `FIDInceptionV3` up to pool3), loaded from
/// pytorch-fid's weights. See the [module documentation](self) for the quirks it keeps.
///
/// ```no_run
/// use burn::prelude::*;
/// use rgan::eval::inception::{FidInceptionV3, InputRange, inception_weights_path, preprocess};
/// let device = Device::default();
/// let net = FidInceptionV3::load(&inception_weights_path(None)?, &device)?;
/// let images = Tensor::<4>::zeros([4, 3, 32, 32], &device); // in [-1, 1]
/// let features = net.features(preprocess(images, InputRange::MinusOneToOne)?)?;
/// assert_eq!(features.dims(), [4, 2048]);
/// # Ok::<(), rgan::RganError>(())
/// ```
#[derive(Module, Debug)]
#[allow(missing_docs)]
pub struct FidInceptionV3 {
    pub conv2d_1a_3x3: BasicConv2d,
    pub conv2d_2a_3x3: BasicConv2d,
    pub conv2d_2b_3x3: BasicConv2d,
    pub conv2d_3b_1x1: BasicConv2d,
    pub conv2d_4a_3x3: BasicConv2d,
    pub mixed_5b: InceptionA,
    pub mixed_5c: InceptionA,
    pub mixed_5d: InceptionA,
    pub mixed_6a: InceptionB,
    pub mixed_6b: InceptionC,
    pub mixed_6c: InceptionC,
    pub mixed_6d: InceptionC,
    pub mixed_6e: InceptionC,
    pub mixed_7a: InceptionD,
    pub mixed_7b: InceptionE,
    pub mixed_7c: InceptionE,
    pub pool: MaxPool2d,
    /// The 1008-way ImageNet classifier (`fc.weight` [1008, 2048], `fc.bias` [1008]) when the
    /// weights file has it: pytorch-fid's original `.pth` does, the safetensors copy in
    /// `shared/models/` does not. Only the Inception Score uses it.
    pub fc: Option<Linear>,
}

impl FidInceptionV3 {
    /// Loads the network from pytorch-fid's weights: a float32 safetensors file (see
    /// [`inception_weights_path`]) or pytorch-fid's own PyTorch checkpoint
    /// `pt_inception-2015-12-05-6726825d.pth`. The 1008-way classifier of the Inception Score
    /// is loaded when the file has `fc.weight` and `fc.bias` (see [`Self::has_classifier`]).
    /// Errors name the file and the missing or mis-shaped tensor.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let error =
            |e: std::io::Error| RganError::File { path: path.to_path_buf(), reason: format!("cannot read: {e}") };
        // A safetensors file starts with its header's length (8 bytes) and then `{`.
        let mut start = [0u8; 9];
        let is_safetensors = {
            use std::io::Read;
            let mut file = std::fs::File::open(path).map_err(error)?;
            file.read_exact(&mut start).is_ok() && start[8] == b'{'
        };
        if is_safetensors {
            Self::from_bytes(&std::fs::read(path).map_err(error)?, path, device)
        } else {
            Self::from_weights(&WeightFile::pytorch(path, device)?)
        }
    }

    /// Loads the network from the bytes of a safetensors file; `path` names it in errors.
    ///
    /// ```
    /// use std::path::Path;
    /// let err = rgan::eval::inception::FidInceptionV3::from_bytes(b"not safetensors", Path::new("w.st"), &Default::default())
    ///     .unwrap_err()
    ///     .to_string();
    /// assert!(err.starts_with("w.st"));
    /// ```
    pub fn from_bytes(bytes: &[u8], path: &Path, device: &Device) -> Result<Self> {
        Self::from_weights(&WeightFile::safetensors(bytes, path, device)?)
    }

    fn from_weights(f: &WeightFile) -> Result<Self> {
        let stem = |name: &str, ch, k, s, pad| BasicConv2d::load(f, name, ch, k, s, pad);
        Ok(Self {
            conv2d_1a_3x3: stem("Conv2d_1a_3x3", [3, 32], [3, 3], 2, [0, 0])?,
            conv2d_2a_3x3: stem("Conv2d_2a_3x3", [32, 32], [3, 3], 1, [0, 0])?,
            conv2d_2b_3x3: stem("Conv2d_2b_3x3", [32, 64], [3, 3], 1, [1, 1])?,
            conv2d_3b_1x1: stem("Conv2d_3b_1x1", [64, 80], [1, 1], 1, [0, 0])?,
            conv2d_4a_3x3: stem("Conv2d_4a_3x3", [80, 192], [3, 3], 1, [0, 0])?,
            mixed_5b: InceptionA::load(f, "Mixed_5b", 192, 32)?,
            mixed_5c: InceptionA::load(f, "Mixed_5c", 256, 64)?,
            mixed_5d: InceptionA::load(f, "Mixed_5d", 288, 64)?,
            mixed_6a: InceptionB::load(f, "Mixed_6a", 288)?,
            mixed_6b: InceptionC::load(f, "Mixed_6b", 128)?,
            mixed_6c: InceptionC::load(f, "Mixed_6c", 160)?,
            mixed_6d: InceptionC::load(f, "Mixed_6d", 160)?,
            mixed_6e: InceptionC::load(f, "Mixed_6e", 192)?,
            mixed_7a: InceptionD::load(f, "Mixed_7a", 768)?,
            mixed_7b: InceptionE::load(f, "Mixed_7b", 1280, false)?,
            mixed_7c: InceptionE::load(f, "Mixed_7c", 2048, true)?,
            pool: max_pool_reduce(),
            fc: load_classifier(f)?,
        }
        .no_grad())
    }

    /// Whether the weights had the 1008-way classifier that the Inception Score needs.
    pub fn has_classifier(&self) -> bool {
        self.fc.is_some()
    }

    /// `Ok` when the weights had the 1008-way classifier, else the error that names the file
    /// the Inception Score needs.
    pub fn check_classifier(&self) -> Result<()> {
        self.classifier().map(|_| ())
    }

    fn classifier(&self) -> Result<&Linear> {
        self.fc.as_ref().ok_or_else(|| {
            RganError::invalid(
                "inception_weights",
                format!(
                    "these FID Inception weights have no 1008-way classifier layer (`fc.weight` \
                     [{INCEPTION_CLASSES}, 2048], `fc.bias` [{INCEPTION_CLASSES}]), which the \
                     Inception Score needs: pass pytorch-fid's pt_inception-2015-12-05-6726825d.pth, \
                     or a safetensors file that also holds fc.weight and fc.bias"
                ),
            )
        })
    }

    /// The classifier's logits `pool3 · fc.weightᵀ + fc.bias` `[N, 1008]` (pytorch-fid's
    /// `fid_inception_v3()` output) from pool3 features `[N, 2048]`. Errors when the weights had
    /// no classifier.
    pub fn logits(&self, pool3: Tensor<2>) -> Result<Tensor<2>> {
        Ok(self.classifier()?.forward(pool3))
    }

    /// The logits the Inception Score is computed from: `pool3 · fc.weightᵀ` `[N, 1008]`,
    /// **without** the bias, as the original Inception Score code of Salimans et al. (it
    /// multiplies pool3 by the graph's `softmax/logits/MatMul` weight only) and torch-fidelity
    /// (`logits_unbiased`) do. Errors when the weights had no classifier.
    pub fn inception_score_logits(&self, pool3: Tensor<2>) -> Result<Tensor<2>> {
        let fc = self.classifier()?;
        Ok(pool3.matmul(fc.weight.val()))
    }

    /// The pool3 features `[N, 2048]` of network inputs `[N, 3, 299, 299]` in [-1, 1] (the
    /// output of [`preprocess`]).
    pub fn features(&self, images: Tensor<4>) -> Result<Tensor<2>> {
        Ok(self.blocks(images)?.pool3)
    }

    /// The outputs of all four of pytorch-fid's blocks for network inputs `[N, 3, 299, 299]`
    /// in [-1, 1].
    pub fn blocks(&self, images: Tensor<4>) -> Result<InceptionBlocks> {
        let dims = images.dims();
        let [n, c, h, w] = dims;
        if c != 3 || h != INCEPTION_INPUT_SIZE || w != INCEPTION_INPUT_SIZE || n == 0 {
            return Err(RganError::shape(
                "images",
                &dims,
                "expected [N, 3, 299, 299] with N ≥ 1 (use `preprocess` for other sizes)",
            ));
        }
        let x = self.conv2d_1a_3x3.forward(images);
        let x = self.conv2d_2a_3x3.forward(x);
        let x = self.conv2d_2b_3x3.forward(x);
        let block0 = max_pool2d_layer(&self.pool, x);
        let x = self.conv2d_3b_1x1.forward(block0.clone());
        let x = self.conv2d_4a_3x3.forward(x);
        let block1 = max_pool2d_layer(&self.pool, x);
        let x = self.mixed_5b.forward(block1.clone());
        let x = self.mixed_5c.forward(x);
        let x = self.mixed_5d.forward(x);
        let x = self.mixed_6a.forward(x);
        let x = self.mixed_6b.forward(x);
        let x = self.mixed_6c.forward(x);
        let x = self.mixed_6d.forward(x);
        let block2 = self.mixed_6e.forward(x);
        let x = self.mixed_7a.forward(block2.clone());
        let x = self.mixed_7b.forward(x);
        let x = self.mixed_7c.forward(x);
        let [n, c, h, w] = x.dims();
        let pool3 = x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c]);
        Ok(InceptionBlocks { block0, block1, block2, pool3 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(values: Vec<f32>, shape: [usize; 4]) -> Tensor<4> {
        Tensor::from_data(TensorData::new(values, shape), &Device::default())
    }

    /// The README's per-axis formula, written out.
    fn reference_resize(input: &[f32], [h, w]: [usize; 2], [oh, ow]: [usize; 2]) -> Vec<f32> {
        let taps = |n_in: usize, n_out: usize| -> Vec<(usize, usize, f64, f64)> {
            let scale = n_in as f64 / n_out as f64;
            (0..n_out)
                .map(|i| {
                    let src = (scale * (i as f64 + 0.5) - 0.5).max(0.0);
                    let i0 = src.floor() as usize;
                    let i1 = (i0 + 1).min(n_in - 1);
                    let w1 = src - i0 as f64;
                    (i0, i1, 1.0 - w1, w1)
                })
                .collect()
        };
        let (ty, tx) = (taps(h, oh), taps(w, ow));
        let mut out = Vec::new();
        for &(y0, y1, wy0, wy1) in &ty {
            for &(x0, x1, wx0, wx1) in &tx {
                let v = |y: usize, x: usize| input[y * w + x] as f64;
                out.push(
                    (wy0 * (wx0 * v(y0, x0) + wx1 * v(y0, x1)) + wy1 * (wx0 * v(y1, x0) + wx1 * v(y1, x1))) as f32,
                );
            }
        }
        out
    }

    #[test]
    fn resize_matches_hand_computed_half_pixel_values() {
        // 2 → 4 per axis: sources 0 (clamped from -0.25), 0.25, 0.75, 1 (1.25, clamped neighbour).
        let y = resize_bilinear(tensor(vec![0.0, 4.0, 8.0, 12.0], [1, 1, 2, 2]), 4, 4);
        let row = |a: f32, b: f32| vec![a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, b];
        let (r0, r1) = (row(0.0, 4.0), row(8.0, 12.0));
        let mut expected = Vec::new();
        for (wa, wb) in [(1.0, 0.0), (0.75, 0.25), (0.25, 0.75), (0.0, 1.0)] {
            expected.extend(r0.iter().zip(&r1).map(|(a, b)| wa * a + wb * b));
        }
        assert_eq!(y.into_data().convert::<f32>().try_into_vec::<f32>().unwrap(), expected);
        // Shrinking 4 → 2 without antialiasing: each output averages two neighbours, nothing wider.
        let y = resize_bilinear(tensor(vec![1.0, 3.0, 10.0, 30.0], [1, 1, 1, 4]), 1, 2);
        assert_eq!(y.into_data().convert::<f32>().try_into_vec::<f32>().unwrap(), vec![2.0, 20.0]);
    }

    #[test]
    fn resize_matches_the_formula_on_odd_sizes() {
        for (input, output) in [([5, 7], [3, 4]), ([3, 2], [8, 9]), ([16, 16], [299, 299]), ([64, 64], [299, 299])] {
            let n = input[0] * input[1];
            let values: Vec<f32> = (0..n).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
            let y = resize_bilinear(tensor(values.clone(), [1, 1, input[0], input[1]]), output[0], output[1]);
            let got = y.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
            let expected = reference_resize(&values, input, output);
            let max_err = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(max_err < 1e-5, "{input:?} → {output:?}: max error {max_err}");
        }
    }

    #[test]
    fn preprocess_scales_ranges_and_repeats_grey() {
        let x = tensor(vec![0.0, 255.0, 51.0, 102.0], [1, 1, 2, 2]);
        let y = preprocess(x, InputRange::ZeroTo255).unwrap();
        assert_eq!(y.dims(), [1, 3, 299, 299]);
        let y = y.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        let plane = 299 * 299;
        assert_eq!(y[0], -1.0);
        assert!((y[298] - 1.0).abs() < 1e-6, "{}", y[298]);
        assert_eq!(&y[..plane], &y[plane..2 * plane]);
        let ones = Tensor::<4>::ones([1, 3, 299, 299], &Device::default());
        let y = preprocess(ones.clone(), InputRange::ZeroToOne).unwrap();
        assert_eq!(y.min().into_scalar::<f32>(), 1.0);
        let y = preprocess(ones.mul_scalar(0.5), InputRange::MinusOneToOne).unwrap();
        assert_eq!(y.max().into_scalar::<f32>(), 0.5);
        let err = preprocess(Tensor::<4>::zeros([1, 2, 8, 8], &Device::default()), InputRange::ZeroToOne);
        assert!(err.unwrap_err().to_string().contains("[1, 2, 8, 8]"));
    }

    fn st_file(entries: &[(&str, Vec<usize>)]) -> Vec<u8> {
        let data: Vec<(String, Vec<u8>, Vec<usize>)> = entries
            .iter()
            .map(|(name, shape)| (name.to_string(), vec![0u8; 4 * shape.iter().product::<usize>()], shape.clone()))
            .collect();
        let views: Vec<(String, safetensors::tensor::TensorView)> = data
            .iter()
            .map(|(name, bytes, shape)| {
                (name.clone(), safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), bytes).unwrap())
            })
            .collect();
        safetensors::serialize(views, None).unwrap()
    }

    #[test]
    fn loading_names_the_file_and_the_bad_tensor() {
        let device = Device::default();
        let path = Path::new("weights.safetensors");
        let bytes = st_file(&[("Conv2d_1a_3x3.conv.weight", vec![32, 3, 3, 2])]);
        let err = FidInceptionV3::from_bytes(&bytes, path, &device).unwrap_err().to_string();
        assert!(err.starts_with("weights.safetensors"), "{err}");
        assert!(err.contains("`Conv2d_1a_3x3.conv.weight` has shape [32, 3, 3, 2], expected [32, 3, 3, 3]"), "{err}");
        let bytes = st_file(&[("Conv2d_1a_3x3.conv.weight", vec![32, 3, 3, 3])]);
        let err = FidInceptionV3::from_bytes(&bytes, path, &device).unwrap_err().to_string();
        assert!(err.contains("missing tensor `Conv2d_1a_3x3.bn.weight` (expected shape [32])"), "{err}");
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch_fid").join(name)
    }

    /// `tests/fixtures/pytorch_fid/gen_inception_classifier.py` wrote the same small state dict
    /// in PyTorch's legacy format (its kernel a strided view, as in pytorch-fid's original file)
    /// and in the ZIP format.
    #[test]
    fn pytorch_checkpoints_are_read_in_both_formats() {
        let device = Device::default();
        for name in ["tiny_legacy.pth", "tiny_zip.pth"] {
            let path = fixture(name);
            let file = WeightFile::pytorch(&path, &device).unwrap();
            assert!(matches!(file.tensors, Tensors::Pytorch(_)) && file.has("w") && !file.has("x"));
            let values = |t: Tensor<4>| t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
            let w = values(file.tensor("w", [4, 3, 2, 2]).unwrap());
            assert_eq!(w, (0..48).map(|k| 0.01f32 * k as f32 - 0.2).collect::<Vec<_>>(), "{name}");
            let b = file.tensor::<1>("b", [5]).unwrap().into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
            assert_eq!(b, vec![0.0, 0.5, 1.0, 1.5, 2.0], "{name}");
            let err = file.tensor::<1>("n", [1]).unwrap_err().to_string();
            assert!(err.contains("`n` has shape [], expected [1]"), "{err}");
            let err = file.tensor::<1>("fc.bias", [1008]).unwrap_err().to_string();
            assert!(err.starts_with(&path.display().to_string()) && err.contains("missing tensor `fc.bias`"), "{err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.pth");
        std::fs::write(&path, b"\x80\x02 not a checkpoint").unwrap();
        let err = FidInceptionV3::load(&path, &device).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: neither a safetensors file nor a PyTorch", path.display())), "{err}");
    }

    #[test]
    fn the_classifier_needs_both_tensors_and_maps_pytorch_layout() {
        let device = Device::default();
        let path = Path::new("weights.safetensors");
        let bytes = st_file(&[]);
        assert!(load_classifier(&WeightFile::safetensors(&bytes, path, &device).unwrap()).unwrap().is_none());
        let bytes = st_file(&[("fc.weight", vec![1008, 2048])]);
        let err = load_classifier(&WeightFile::safetensors(&bytes, path, &device).unwrap()).unwrap_err().to_string();
        assert!(err.contains("has `fc.weight` but not `fc.bias`"), "{err}");
        // fc.weight[i, j] = i + 1008 j, fc.bias[i] = −i: pool3 = e_j gives logits i + 1008 j − i.
        let weight: Vec<f32> = (0..1008 * 2048).map(|k| ((k / 2048) + 1008 * (k % 2048)) as f32).collect();
        let bias: Vec<f32> = (0..1008).map(|i| -(i as f32)).collect();
        let bytes_of = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let (wb, bb) = (bytes_of(&weight), bytes_of(&bias));
        let views = vec![
            ("fc.weight", safetensors::tensor::TensorView::new(Dtype::F32, vec![1008, 2048], &wb).unwrap()),
            ("fc.bias", safetensors::tensor::TensorView::new(Dtype::F32, vec![1008], &bb).unwrap()),
        ];
        let bytes = safetensors::serialize(views, None).unwrap();
        let fc = load_classifier(&WeightFile::safetensors(&bytes, path, &device).unwrap()).unwrap().unwrap();
        let pool3 = Tensor::<2>::zeros([1, 2048], &device).slice_assign([0..1, 5..6], Tensor::ones([1, 1], &device));
        let logits = fc.forward(pool3).into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        assert!(logits.iter().all(|&v| v == 1008.0 * 5.0), "{:?}", &logits[..4]);
    }

    #[test]
    fn weights_path_error_says_where_to_put_the_file() {
        let missing = Path::new("/nonexistent/rgan/fid_inception_v3.safetensors");
        let err = inception_weights_path(Some(missing)).unwrap_err().to_string();
        assert!(err.starts_with("/nonexistent/rgan/fid_inception_v3.safetensors: "), "{err}");
        assert!(err.contains("exactly at this path") && err.contains(INCEPTION_WEIGHTS_ENV), "{err}");
        let file = std::env::temp_dir().join(format!("rgan-inception-path-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(inception_weights_path(Some(&file)).unwrap(), file);
        std::fs::remove_file(&file).unwrap();
    }
}
