//! Instance and group normalization, as TF-GAN's `features/normalization.py` (the
//! `tf.contrib.layers` versions).
//!
//! Both normalize with the mean and the biased variance of groups of values, then apply an
//! optional per-channel affine transform, computed as TF does:
//! `gain = rsqrt(var + eps) * gamma`, `out = x * gain + (beta - mean * gain)`. The variance is
//! TF's `nn.moments` (`mean((x - stop_gradient(mean))²)`), or with `mean_close_to_zero` the
//! one-pass `E[x²] - E[x]²` of `nn.sufficient_statistics`.

use burn::module::Param;
use burn::nn::Initializer;
use burn::prelude::*;

use super::normalize_axis;
use crate::error::{Result, RganError};

/// TF's default epsilon of `instance_norm` (`1e-6`; burn's `InstanceNorm` uses `1e-5`).
pub const INSTANCE_NORM_EPSILON: f64 = 1e-6;
/// TF's default epsilon of `group_norm` (`1e-6`; burn's `GroupNorm` uses `1e-5`).
pub const GROUP_NORM_EPSILON: f64 = 1e-6;

/// Where the channels are.
///
/// ```
/// use rgan::features::DataFormat;
/// assert_eq!(DataFormat::default(), DataFormat::ChannelsFirst);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DataFormat {
    /// `NCHW` (channel axis 1): burn's and rgan's layout, the default here.
    #[default]
    ChannelsFirst,
    /// `NHWC` (channel axis last): TF's default `data_format`.
    ChannelsLast,
}

/// Options of [`instance_norm`]: `epsilon` 1e-6 (TF's) and channels first (rgan's layout; TF's
/// default is `NHWC`, [`DataFormat::ChannelsLast`]).
///
/// ```
/// use rgan::features::{DataFormat, InstanceNormOptions};
/// let opts = InstanceNormOptions::default();
/// assert_eq!(opts.epsilon, 1e-6);
/// assert_eq!(opts.data_format, DataFormat::ChannelsFirst);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceNormOptions {
    /// Added to the variance.
    pub epsilon: f64,
    /// Layout of the inputs.
    pub data_format: DataFormat,
}

impl Default for InstanceNormOptions {
    fn default() -> Self {
        Self { epsilon: INSTANCE_NORM_EPSILON, data_format: DataFormat::ChannelsFirst }
    }
}

/// Options of [`group_norm`]. Defaults: channel axis 1 with every later axis reduced (rgan's
/// NCHW layout), `epsilon` 1e-6 and two-pass moments (TF's). TF's own defaults
/// (`channels_axis=-1`, `reduction_axes=(-3, -2)`, for NHWC) are [`GroupNormOptions::tf_nhwc`].
///
/// ```
/// use rgan::features::GroupNormOptions;
/// let opts = GroupNormOptions::default();
/// assert_eq!(opts.channels_axis, 1);
/// assert_eq!(opts.reduction_axes, None);
/// assert_eq!(GroupNormOptions::tf_nhwc().reduction_axes, Some(vec![-3, -2]));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GroupNormOptions {
    /// The channel axis (negative counts from the end).
    pub channels_axis: isize,
    /// Axes reduced together with the channels of a group (typically the spatial axes); `None`
    /// means every axis after `channels_axis`.
    pub reduction_axes: Option<Vec<isize>>,
    /// Added to the variance.
    pub epsilon: f64,
    /// Use one-pass moments `E[x²] - E[x]²` (TF's `mean_close_to_zero=True`).
    pub mean_close_to_zero: bool,
}

impl Default for GroupNormOptions {
    fn default() -> Self {
        Self { channels_axis: 1, reduction_axes: None, epsilon: GROUP_NORM_EPSILON, mean_close_to_zero: false }
    }
}

impl GroupNormOptions {
    /// TF's defaults for NHWC inputs: `channels_axis=-1`, `reduction_axes=(-3, -2)`, epsilon 1e-6.
    ///
    /// ```
    /// use rgan::features::GroupNormOptions;
    /// assert_eq!(GroupNormOptions::tf_nhwc().channels_axis, -1);
    /// ```
    pub fn tf_nhwc() -> Self {
        Self { channels_axis: -1, reduction_axes: Some(vec![-3, -2]), ..Self::default() }
    }
}

fn check_param(name: &str, param: &Option<Tensor<1>>, channels: usize, input_dims: &[usize]) -> Result<()> {
    if let Some(p) = param
        && p.dims() != [channels]
    {
        return Err(RganError::shape(
            name,
            &p.dims(),
            format!("but `inputs` has shape {input_dims:?} with {channels} channels; it must be [{channels}]"),
        ));
    }
    Ok(())
}

/// Normalizes `inputs` over groups of `channels/groups` channels together with `reduction_axes`,
/// per position of the remaining axes. Arguments are already checked.
#[allow(clippy::too_many_arguments)]
fn grouped_normalize<const D: usize>(
    inputs: Tensor<D>,
    channel_axis: usize,
    reduction_axes: &[usize],
    groups: usize,
    gamma: Option<Tensor<1>>,
    beta: Option<Tensor<1>>,
    epsilon: f64,
    one_pass: bool,
) -> Tensor<D> {
    let dims = inputs.dims();
    let channels = dims[channel_axis];
    let mut reduced: Vec<usize> = reduction_axes.to_vec();
    reduced.sort_unstable();
    let kept: Vec<usize> = (0..D).filter(|a| *a != channel_axis && !reduced.contains(a)).collect();
    let mut perm: Vec<usize> = kept.clone();
    perm.push(channel_axis);
    perm.extend(&reduced);
    let perm: [usize; D] = perm.try_into().expect("every axis once");
    let identity = perm.iter().enumerate().all(|(i, a)| i == *a);
    let x = if identity { inputs } else { inputs.permute(perm) };
    let permuted_dims = x.dims();

    let k: usize = kept.iter().map(|a| dims[*a]).product();
    let r: usize = reduced.iter().map(|a| dims[*a]).product();
    let per_group = channels / groups;
    let n = (per_group * r) as f64;
    let x4 = x.reshape([k, groups, per_group, r]);
    let x3 = x4.clone().reshape([k, groups, per_group * r]);

    let (mean, var) = if one_pass {
        let mean = x3.clone().sum_dim(2).mul_scalar(1.0 / n);
        let mean_sq = x3.square().sum_dim(2).mul_scalar(1.0 / n);
        let var = mean_sq - mean.clone().square();
        (mean, var)
    } else {
        let mean = x3.clone().mean_dim(2);
        let var = (x3 - mean.clone().detach()).square().mean_dim(2);
        (mean, var)
    };
    let mean = mean.reshape([k, groups, 1, 1]);
    let mut gain = var.add_scalar(epsilon).sqrt().recip().reshape([k, groups, 1, 1]);
    if let Some(gamma) = gamma {
        gain = gain * gamma.reshape([1, groups, per_group, 1]);
    }
    let offset = match beta {
        Some(beta) => beta.reshape([1, groups, per_group, 1]) - mean * gain.clone(),
        None => mean.neg() * gain.clone(),
    };
    let out = (x4 * gain + offset).reshape(permuted_dims);
    if identity {
        out
    } else {
        let mut inverse = [0; D];
        for (i, a) in perm.iter().enumerate() {
            inverse[*a] = i;
        }
        out.permute(inverse)
    }
}

/// TF-GAN's `instance_norm`: per example and per channel, normalize with the mean and biased
/// variance over every other non-batch axis, then `* gamma + beta` (each optional, `[C]`).
///
/// Defaults differ from TF's only in the layout: rgan is channels first (see
/// [`InstanceNormOptions`]). Any rank ≥ 2 works (rank 2 has nothing to average over).
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::{instance_norm, InstanceNormOptions};
/// let device = Device::default();
/// let x = Tensor::<3>::from_floats([[[1.0, 3.0], [10.0, 10.0]]], &device); // [N=1, C=2, L=2]
/// let y = instance_norm(x, None, None, &InstanceNormOptions::default()).unwrap();
/// let v = y.into_data().try_to_vec::<f32>().unwrap();
/// assert!((v[0] + 1.0).abs() < 1e-5 && (v[1] - 1.0).abs() < 1e-5 && v[2] == 0.0);
/// ```
pub fn instance_norm<const D: usize>(
    inputs: Tensor<D>,
    gamma: Option<Tensor<1>>,
    beta: Option<Tensor<1>>,
    options: &InstanceNormOptions,
) -> Result<Tensor<D>> {
    let dims = inputs.dims();
    if D < 2 {
        return Err(RganError::shape("inputs", &dims, "but instance_norm needs a batch and a channel axis (rank ≥ 2)"));
    }
    let channel_axis = match options.data_format {
        DataFormat::ChannelsFirst => 1,
        DataFormat::ChannelsLast => D - 1,
    };
    let channels = dims[channel_axis];
    check_param("gamma", &gamma, channels, &dims)?;
    check_param("beta", &beta, channels, &dims)?;
    let reduction: Vec<usize> = (1..D).filter(|a| *a != channel_axis).collect();
    if channels == 0 {
        return Ok(inputs);
    }
    Ok(grouped_normalize(inputs, channel_axis, &reduction, channels, gamma, beta, options.epsilon, false))
}

/// TF-GAN's `group_norm` (Wu & He 2018): split the channels into `groups` groups of
/// `C / groups`, normalize each group together with the `reduction_axes` (per position of every
/// other axis), then apply per-channel `gamma` and `beta` (each optional, `[C]`).
///
/// Errors when `groups` is 0, larger than the channel count or does not divide it, when the
/// reduction axes include the channel axis or repeat, and when `gamma`/`beta` are not `[C]`.
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::{group_norm, GroupNormOptions};
/// let device = Device::default();
/// let x = Tensor::<4>::ones([2, 4, 3, 3], &device); // NCHW
/// let y = group_norm(x.clone(), 2, None, None, &GroupNormOptions::default()).unwrap();
/// assert_eq!(y.dims(), [2, 4, 3, 3]);
/// let err = group_norm(x, 3, None, None, &GroupNormOptions::default()).unwrap_err().to_string();
/// assert!(err.contains("groups") && err.contains("4 channels"));
/// ```
pub fn group_norm<const D: usize>(
    inputs: Tensor<D>,
    groups: usize,
    gamma: Option<Tensor<1>>,
    beta: Option<Tensor<1>>,
    options: &GroupNormOptions,
) -> Result<Tensor<D>> {
    let dims = inputs.dims();
    let channel_axis = normalize_axis(options.channels_axis, D, "channels_axis")?;
    let channels = dims[channel_axis];
    let reduction: Vec<usize> = match &options.reduction_axes {
        None => (channel_axis + 1..D).collect(),
        Some(axes) => axes.iter().map(|a| normalize_axis(*a, D, "reduction_axes")).collect::<Result<_>>()?,
    };
    if reduction.contains(&channel_axis) {
        return Err(RganError::invalid(
            "reduction_axes",
            format!(
                "{:?} includes the channel axis {} (`channels_axis` = {}); they must be mutually exclusive",
                options.reduction_axes, channel_axis, options.channels_axis
            ),
        ));
    }
    for (i, a) in reduction.iter().enumerate() {
        if reduction[..i].contains(a) {
            return Err(RganError::invalid(
                "reduction_axes",
                format!("{:?} names axis {a} twice", options.reduction_axes),
            ));
        }
    }
    if groups == 0 || groups > channels || !channels.is_multiple_of(groups) {
        return Err(RganError::invalid(
            "groups",
            format!(
                "{groups} groups do not divide the {channels} channels of `inputs` (shape {dims:?}, channel axis {channel_axis})"
            ),
        ));
    }
    check_param("gamma", &gamma, channels, &dims)?;
    check_param("beta", &beta, channels, &dims)?;
    Ok(grouped_normalize(
        inputs,
        channel_axis,
        &reduction,
        groups,
        gamma,
        beta,
        options.epsilon,
        options.mean_close_to_zero,
    ))
}

/// Configuration of an [`InstanceNorm`] layer: epsilon 1e-6 (TF's; burn's `InstanceNorm` uses
/// 1e-5), `center` and `scale` on, `gamma` initialised to ones and `beta` to zeros (TF's).
///
/// ```
/// use rgan::features::InstanceNormConfig;
/// let config = InstanceNormConfig::new(8);
/// assert_eq!(config.epsilon, 1e-6);
/// assert!(config.center && config.scale);
/// ```
#[derive(Config, Debug)]
pub struct InstanceNormConfig {
    /// Number of channels.
    pub num_channels: usize,
    /// Added to the variance.
    #[config(default = 1e-6)]
    pub epsilon: f64,
    /// Learn a per-channel offset `beta`.
    #[config(default = true)]
    pub center: bool,
    /// Learn a per-channel scale `gamma`.
    #[config(default = true)]
    pub scale: bool,
}

impl InstanceNormConfig {
    /// Builds the layer.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::InstanceNormConfig;
    /// let layer = InstanceNormConfig::new(3).with_center(false).init(&Device::default());
    /// assert!(layer.beta.is_none() && layer.gamma.is_some());
    /// ```
    pub fn init(&self, device: &Device) -> InstanceNorm {
        InstanceNorm {
            gamma: self.scale.then(|| Initializer::Ones.init([self.num_channels], device)),
            beta: self.center.then(|| Initializer::Zeros.init([self.num_channels], device)),
            num_channels: self.num_channels,
            epsilon: self.epsilon,
        }
    }
}

/// Instance normalization of NCHW (channels-first) inputs of any rank ≥ 2, with learned
/// per-channel `gamma`/`beta`; see [`instance_norm`].
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::InstanceNormConfig;
/// let device = Device::default();
/// let layer = InstanceNormConfig::new(2).init(&device);
/// let y = layer.forward(Tensor::<4>::ones([1, 2, 3, 3], &device)).unwrap();
/// assert_eq!(y.dims(), [1, 2, 3, 3]);
/// assert!(layer.forward(Tensor::<4>::ones([1, 3, 3, 3], &device)).is_err());
/// ```
#[derive(Module, Debug)]
pub struct InstanceNorm {
    /// Per-channel scale `[C]` (absent without `scale`).
    pub gamma: Option<Param<Tensor<1>>>,
    /// Per-channel offset `[C]` (absent without `center`).
    pub beta: Option<Param<Tensor<1>>>,
    /// Number of channels.
    pub num_channels: usize,
    /// Added to the variance.
    pub epsilon: f64,
}

impl InstanceNorm {
    /// Normalizes `input` (channels at axis 1); errors when its channel count is not
    /// `num_channels`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::InstanceNormConfig;
    /// let device = Device::default();
    /// let layer = InstanceNormConfig::new(1).init(&device);
    /// let y = layer.forward(Tensor::<3>::from_floats([[[2.0, 4.0]]], &device)).unwrap();
    /// assert!((y.into_data().try_to_vec::<f32>().unwrap()[1] - 1.0).abs() < 1e-5);
    /// ```
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Result<Tensor<D>> {
        check_channels(&input.dims(), self.num_channels)?;
        instance_norm(
            input,
            self.gamma.as_ref().map(|p| p.val()),
            self.beta.as_ref().map(|p| p.val()),
            &InstanceNormOptions { epsilon: self.epsilon, data_format: DataFormat::ChannelsFirst },
        )
    }
}

fn check_channels(dims: &[usize], num_channels: usize) -> Result<()> {
    if dims.len() < 2 || dims[1] != num_channels {
        return Err(RganError::shape(
            "input",
            dims,
            format!("but the layer has {num_channels} channels; expected [batch, {num_channels}, ..] (NCHW)"),
        ));
    }
    Ok(())
}

/// Configuration of a [`GroupNorm`] layer: epsilon 1e-6 (TF's; burn's `GroupNorm` uses 1e-5),
/// `center` and `scale` on, two-pass moments, `gamma` ones and `beta` zeros.
///
/// ```
/// use rgan::features::GroupNormConfig;
/// let config = GroupNormConfig::new(2, 8);
/// assert_eq!(config.epsilon, 1e-6);
/// assert!(!config.mean_close_to_zero);
/// ```
#[derive(Config, Debug)]
pub struct GroupNormConfig {
    /// Number of groups (TF's default is 32); must divide `num_channels`.
    pub num_groups: usize,
    /// Number of channels.
    pub num_channels: usize,
    /// Added to the variance.
    #[config(default = 1e-6)]
    pub epsilon: f64,
    /// Learn a per-channel offset `beta`.
    #[config(default = true)]
    pub center: bool,
    /// Learn a per-channel scale `gamma`.
    #[config(default = true)]
    pub scale: bool,
    /// One-pass moments `E[x²] - E[x]²`.
    #[config(default = false)]
    pub mean_close_to_zero: bool,
}

impl GroupNormConfig {
    /// Builds the layer; errors when `num_groups` does not divide `num_channels`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::GroupNormConfig;
    /// let device = Device::default();
    /// assert!(GroupNormConfig::new(4, 8).init(&device).is_ok());
    /// let err = GroupNormConfig::new(3, 8).init(&device).unwrap_err().to_string();
    /// assert!(err.contains("num_groups") && err.contains('8'));
    /// ```
    pub fn init(&self, device: &Device) -> Result<GroupNorm> {
        let (groups, channels) = (self.num_groups, self.num_channels);
        if groups == 0 || groups > channels || !channels.is_multiple_of(groups) {
            return Err(RganError::invalid(
                "num_groups",
                format!("{groups} groups do not divide the {channels} channels (`num_channels`)"),
            ));
        }
        Ok(GroupNorm {
            gamma: self.scale.then(|| Initializer::Ones.init([channels], device)),
            beta: self.center.then(|| Initializer::Zeros.init([channels], device)),
            num_groups: groups,
            num_channels: channels,
            epsilon: self.epsilon,
            mean_close_to_zero: self.mean_close_to_zero,
        })
    }
}

/// Group normalization of NCHW inputs (channels at axis 1, every later axis reduced), with
/// learned per-channel `gamma`/`beta`; see [`group_norm`].
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::GroupNormConfig;
/// let device = Device::default();
/// let layer = GroupNormConfig::new(2, 4).init(&device).unwrap();
/// let y = layer.forward(Tensor::<4>::ones([3, 4, 2, 2], &device)).unwrap();
/// assert_eq!(y.dims(), [3, 4, 2, 2]);
/// ```
#[derive(Module, Debug)]
pub struct GroupNorm {
    /// Per-channel scale `[C]` (absent without `scale`).
    pub gamma: Option<Param<Tensor<1>>>,
    /// Per-channel offset `[C]` (absent without `center`).
    pub beta: Option<Param<Tensor<1>>>,
    /// Number of groups.
    pub num_groups: usize,
    /// Number of channels.
    pub num_channels: usize,
    /// Added to the variance.
    pub epsilon: f64,
    /// One-pass moments.
    pub mean_close_to_zero: bool,
}

impl GroupNorm {
    /// Normalizes `input` (channels at axis 1); errors when its channel count is not
    /// `num_channels`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::GroupNormConfig;
    /// let device = Device::default();
    /// let layer = GroupNormConfig::new(1, 2).init(&device).unwrap();
    /// assert!(layer.forward(Tensor::<2>::ones([4, 3], &device)).is_err());
    /// ```
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Result<Tensor<D>> {
        check_channels(&input.dims(), self.num_channels)?;
        group_norm(
            input,
            self.num_groups,
            self.gamma.as_ref().map(|p| p.val()),
            self.beta.as_ref().map(|p| p.val()),
            &GroupNormOptions {
                epsilon: self.epsilon,
                mean_close_to_zero: self.mean_close_to_zero,
                ..Default::default()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn group_norm_with_one_channel_per_group_is_instance_norm() {
        let device = Device::default();
        let x = Tensor::<4>::random([2, 3, 4, 5], Distribution::Default, &device);
        let gamma = Tensor::<1>::from_floats([1.0, 2.0, 0.5], &device);
        let beta = Tensor::<1>::from_floats([0.0, -1.0, 3.0], &device);
        let a =
            instance_norm(x.clone(), Some(gamma.clone()), Some(beta.clone()), &InstanceNormOptions::default()).unwrap();
        let b = group_norm(x, 3, Some(gamma), Some(beta), &GroupNormOptions::default()).unwrap();
        a.into_data().assert_approx_eq::<f32>(&b.into_data(), Tolerance::default());
    }

    #[test]
    fn channels_last_matches_channels_first_after_transposing() {
        let device = Device::default();
        let x = Tensor::<4>::random([2, 3, 4, 5], Distribution::Default, &device);
        let nhwc = x.clone().permute([0, 2, 3, 1]);
        let a = instance_norm(x, None, None, &InstanceNormOptions::default()).unwrap();
        let opts = InstanceNormOptions { data_format: DataFormat::ChannelsLast, ..Default::default() };
        let b = instance_norm(nhwc, None, None, &opts).unwrap().permute([0, 3, 1, 2]);
        a.into_data().assert_approx_eq::<f32>(&b.into_data(), Tolerance::default());
    }

    #[test]
    fn errors_name_the_argument_and_shapes() {
        let device = Device::default();
        let x = Tensor::<4>::ones([2, 6, 3, 3], &device);
        let err = group_norm(x.clone(), 4, None, None, &GroupNormOptions::default()).unwrap_err().to_string();
        assert!(err.contains("`groups`") && err.contains("6 channels"), "{err}");
        let err = group_norm(x.clone(), 0, None, None, &GroupNormOptions::default()).unwrap_err().to_string();
        assert!(err.contains("`groups`"), "{err}");
        let opts = GroupNormOptions { reduction_axes: Some(vec![1, 2]), ..Default::default() };
        let err = group_norm(x.clone(), 2, None, None, &opts).unwrap_err().to_string();
        assert!(err.contains("reduction_axes"), "{err}");
        let opts = GroupNormOptions { channels_axis: 7, ..Default::default() };
        assert!(group_norm(x.clone(), 2, None, None, &opts).unwrap_err().to_string().contains("channels_axis"));
        let gamma = Some(Tensor::<1>::ones([4], &device));
        let err = instance_norm(x, gamma, None, &InstanceNormOptions::default()).unwrap_err().to_string();
        assert!(err.contains("`gamma`") && err.contains("[4]") && err.contains("[2, 6, 3, 3]"), "{err}");
    }

    #[test]
    fn layers_train_their_affine_parameters() {
        let device = Device::default().autodiff();
        let layer = GroupNormConfig::new(2, 4).init(&device).unwrap();
        let x = Tensor::<4>::random([2, 4, 3, 3], Distribution::Default, &device);
        let y = layer.forward(x.clone()).unwrap();
        let grads = (y * x).sum().backward();
        assert!(layer.gamma.as_ref().unwrap().val().grad(&grads).is_some());
        assert!(layer.beta.as_ref().unwrap().val().grad(&grads).is_some());
        let inorm = InstanceNormConfig::new(4).with_scale(false).init(&device);
        assert!(inorm.gamma.is_none());
        assert!(inorm.forward(Tensor::<4>::ones([1, 4, 2, 2], &device)).is_ok());
    }
}
