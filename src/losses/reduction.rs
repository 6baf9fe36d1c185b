//! Per-element weights and TF's five loss reductions (`tf.compat.v1.losses.Reduction`).

use burn::prelude::*;

use crate::error::{Result, RganError};

/// How a weighted per-element loss is reduced, as `tf.compat.v1.losses.Reduction`.
///
/// The default is [`Reduction::SumByNonzeroWeights`], TF-GAN's default for every loss. Every
/// division is `div_no_nan`: a zero denominator gives 0.
///
/// ```
/// use rgan::losses::Reduction;
/// assert_eq!(Reduction::default(), Reduction::SumByNonzeroWeights);
/// assert_eq!(Reduction::from_tf_name("weighted_mean").unwrap(), Reduction::Mean);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reduction {
    /// `losses * weights`, in their broadcast shape (TF `NONE`).
    None,
    /// `sum(losses * weights)` (TF `SUM`, `"weighted_sum"`).
    Sum,
    /// `sum(losses * weights) / sum(weights broadcast to the losses)` (TF `MEAN`, `"weighted_mean"`).
    Mean,
    /// `sum(losses * weights) / number of loss elements` (TF `SUM_OVER_BATCH_SIZE`).
    SumOverBatchSize,
    /// `sum(losses * weights) / number of non-zero weights after broadcasting` (TF
    /// `SUM_BY_NONZERO_WEIGHTS`, the default). With a scalar weight of 1 this is the plain mean.
    #[default]
    SumByNonzeroWeights,
}

impl Reduction {
    /// Parses TF's string for a reduction (`"none"`, `"weighted_sum"`, `"weighted_mean"`,
    /// `"weighted_sum_over_batch_size"`, `"weighted_sum_by_nonzero_weights"`).
    pub fn from_tf_name(name: &str) -> Result<Self> {
        Ok(match name {
            "none" => Self::None,
            "weighted_sum" => Self::Sum,
            "weighted_mean" => Self::Mean,
            "weighted_sum_over_batch_size" => Self::SumOverBatchSize,
            "weighted_sum_by_nonzero_weights" => Self::SumByNonzeroWeights,
            other => {
                return Err(RganError::invalid(
                    "reduction",
                    format!(
                        "unknown reduction {other:?}; expected one of none, weighted_sum, weighted_mean, \
                         weighted_sum_over_batch_size, weighted_sum_by_nonzero_weights"
                    ),
                ));
            }
        })
    }
}

/// Per-element loss weights: a scalar, or a tensor of the loss's rank whose every dimension is
/// equal to the loss's or 1 (TF's `assert_broadcastable`).
///
/// ```
/// use rgan::losses::Weights;
/// let w: Weights<2> = 0.5.into();
/// assert!(matches!(w, Weights::Scalar(v) if v == 0.5));
/// assert!(matches!(Weights::<2>::default(), Weights::Scalar(v) if v == 1.0));
/// ```
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // a tensor is a handle; boxing it would only burden callers
pub enum Weights<const D: usize> {
    /// One weight for every element.
    Scalar(f64),
    /// Weights that broadcast to the loss's shape.
    Tensor(Tensor<D>),
}

impl<const D: usize> Default for Weights<D> {
    fn default() -> Self {
        Self::Scalar(1.0)
    }
}

impl<const D: usize> From<f64> for Weights<D> {
    fn from(value: f64) -> Self {
        Self::Scalar(value)
    }
}

impl<const D: usize> From<Tensor<D>> for Weights<D> {
    fn from(value: Tensor<D>) -> Self {
        Self::Tensor(value)
    }
}

impl<const D: usize> Weights<D> {
    /// Checks that these weights broadcast to `loss_shape`; the error names `argument` and both
    /// shapes.
    pub fn check_broadcastable(&self, argument: &str, loss_shape: &[usize], loss_argument: &str) -> Result<()> {
        if let Weights::Tensor(w) = self {
            let w_shape = w.dims();
            let fits = w_shape.iter().zip(loss_shape).all(|(&w, &l)| w == l || w == 1);
            if !fits {
                return Err(RganError::shape(
                    argument,
                    &w_shape,
                    format!(
                        "which does not broadcast to `{loss_argument}` of shape {loss_shape:?} \
                         (each dimension must equal the loss's or be 1)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A tensor of rank `D` and shape `[1; D]` holding the sum of all elements.
pub(crate) fn sum_keep_rank<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    crate::ops::sum(t).reshape([1usize; D])
}

/// `numerator / denominator`, or 0 where the denominator is 0 (`tf.math.divide_no_nan`).
pub(crate) fn div_no_nan<const D: usize>(numerator: Tensor<D>, denominator: Tensor<D>) -> Tensor<D> {
    let is_zero = denominator.clone().equal_elem(0.0);
    let safe = denominator.mask_fill(is_zero.clone(), 1.0);
    (numerator / safe).mask_fill(is_zero, 0.0)
}

/// Weights and reduces a per-element loss, as `tf.compat.v1.losses.compute_weighted_loss`.
///
/// `losses` is the per-element loss; `weights` must broadcast to it (checked, naming
/// `weights_argument`). The result has shape `[1; D]` for every reduction but
/// [`Reduction::None`], which returns `losses * weights` in their broadcast shape.
///
/// TF casts to float32 before reducing; rgan keeps the input's dtype (float64 stays exact).
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{compute_weighted_loss, Reduction, Weights};
/// let device = Device::default();
/// let losses = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device);
/// let weights = Weights::Tensor(Tensor::<2>::from_floats([[1.0], [0.0]], &device));
/// let mean = compute_weighted_loss(losses, &weights, Reduction::SumByNonzeroWeights, "weights").unwrap();
/// assert_eq!(mean.into_scalar::<f32>(), 1.5); // (1 + 2) / 2 non-zero weights
/// ```
pub fn compute_weighted_loss<const D: usize>(
    losses: Tensor<D>,
    weights: &Weights<D>,
    reduction: Reduction,
    weights_argument: &str,
) -> Result<Tensor<D>> {
    let loss_shape = losses.dims();
    weights.check_broadcastable(weights_argument, &loss_shape, "losses")?;
    let num_elements: usize = loss_shape.iter().product();
    let weighted = match weights {
        Weights::Scalar(w) => losses.clone().mul_scalar(*w),
        Weights::Tensor(w) => losses.clone() * w.clone().cast(losses.dtype()),
    };
    if reduction == Reduction::None {
        return Ok(weighted);
    }
    let total = sum_keep_rank(weighted);
    let device = losses.device();
    let constant = |v: f64| Tensor::<D>::full([1usize; D], v, (&device, losses.dtype()));
    let denominator = match (reduction, weights) {
        (Reduction::None, _) => unreachable!("handled above"),
        (Reduction::Sum, _) => return Ok(total),
        (Reduction::SumOverBatchSize, _) => constant(num_elements as f64),
        (Reduction::Mean, Weights::Scalar(w)) => constant(w * num_elements as f64),
        (Reduction::Mean, Weights::Tensor(w)) => sum_keep_rank(losses.ones_like() * w.clone().cast(losses.dtype())),
        (Reduction::SumByNonzeroWeights, Weights::Scalar(w)) => {
            constant(if *w != 0.0 { num_elements as f64 } else { 0.0 })
        }
        (Reduction::SumByNonzeroWeights, Weights::Tensor(w)) => {
            let nonzero = w.clone().not_equal_elem(0.0).float().cast(losses.dtype());
            sum_keep_rank(losses.ones_like() * nonzero)
        }
    };
    Ok(div_no_nan(total, denominator))
}

/// [`compute_weighted_loss`] whose broadcast error names the loss's own argument
/// (`loss_argument`, e.g. `discriminator_real_outputs`) rather than `losses`.
pub(crate) fn weighted_loss<const D: usize>(
    losses: Tensor<D>,
    weights: &Weights<D>,
    reduction: Reduction,
    weights_argument: &str,
    loss_argument: &str,
) -> Result<Tensor<D>> {
    weights.check_broadcastable(weights_argument, &losses.dims(), loss_argument)?;
    compute_weighted_loss(losses, weights, reduction, weights_argument)
}
