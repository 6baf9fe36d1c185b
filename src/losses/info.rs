//! InfoGAN's mutual-information penalty (Chen et al. 2016) and the distributions its recognizer
//! predicts.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::options::WeightedLossOptions;
use super::reduction::compute_weighted_loss;
use crate::error::{Result, RganError};

/// A distribution predicted by InfoGAN's recognizer (Q network) for one structured code, as the
/// `tfp.distributions` TF-GAN's `mutual_information_penalty` receives.
///
/// Every tensor is `[batch, n]`: class logits for the categoricals, one location and scale per
/// code dimension for the normal (reshape a `[batch]` code to `[batch, 1]`; the penalty only uses
/// the mean log probability over all elements).
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{Distribution, StructuredInput};
/// let device = Device::default();
/// let q = Distribution::Normal {
///     loc: Tensor::<2>::from_floats([[0.0]], &device),
///     scale: Tensor::<2>::from_floats([[1.0]], &device),
/// };
/// let code = StructuredInput::Values(Tensor::<2>::from_floats([[0.0]], &device));
/// let log_prob = q.log_prob(&code).unwrap().into_scalar::<f32>();
/// assert!((log_prob + 0.5 * (2.0 * std::f32::consts::PI).ln()).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // tensors are handles; boxing would only burden the caller
pub enum Distribution {
    /// `tfp.distributions.Categorical(logits)`: the code is a class id per example
    /// ([`StructuredInput::ClassIds`], shape `[batch]`); `log_prob = log_softmax(logits)[id]`.
    Categorical {
        /// Class logits, `[batch, num_classes]`.
        logits: Tensor<2>,
    },
    /// `tfp.distributions.OneHotCategorical(logits)`: the code is one-hot
    /// ([`StructuredInput::Values`], shape `[batch, num_classes]`);
    /// `log_prob = sum(one_hot * log_softmax(logits))`.
    OneHotCategorical {
        /// Class logits, `[batch, num_classes]`.
        logits: Tensor<2>,
    },
    /// `tfp.distributions.Normal(loc, scale)`, elementwise: the code has `loc`'s shape;
    /// `log_prob = -((x - loc) / scale)^2 / 2 - ln(scale) - ln(2π) / 2`.
    Normal {
        /// Means, `[batch, dims]`.
        loc: Tensor<2>,
        /// Standard deviations, the shape of `loc`.
        scale: Tensor<2>,
    },
}

/// One structured generator input (an InfoGAN code), as TF-GAN's `structured_generator_inputs`
/// list holds them: integer class ids for a [`Distribution::Categorical`], float values otherwise.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::StructuredInput;
/// let device = Device::default();
/// let ids: StructuredInput = Tensor::<1, Int>::from_ints([0, 2], &device).into();
/// assert!(matches!(ids, StructuredInput::ClassIds(_)));
/// ```
#[derive(Clone, Debug)]
pub enum StructuredInput {
    /// Class ids, `[batch]`.
    ClassIds(Tensor<1, Int>),
    /// Real values (continuous codes or one-hot vectors), `[batch, n]`.
    Values(Tensor<2>),
}

impl From<Tensor<1, Int>> for StructuredInput {
    fn from(value: Tensor<1, Int>) -> Self {
        Self::ClassIds(value)
    }
}

impl From<Tensor<2>> for StructuredInput {
    fn from(value: Tensor<2>) -> Self {
        Self::Values(value)
    }
}

impl StructuredInput {
    fn kind(&self) -> &'static str {
        match self {
            Self::ClassIds(_) => "class ids",
            Self::Values(_) => "float values",
        }
    }

    fn dims(&self) -> Vec<usize> {
        match self {
            Self::ClassIds(t) => t.dims().to_vec(),
            Self::Values(t) => t.dims().to_vec(),
        }
    }
}

impl Distribution {
    /// The distribution's name in `tfp.distributions`.
    fn name(&self) -> &'static str {
        match self {
            Self::Categorical { .. } => "Categorical",
            Self::OneHotCategorical { .. } => "OneHotCategorical",
            Self::Normal { .. } => "Normal",
        }
    }

    /// The mean over all elements of `log_prob(noise)`, shape `[1]` (`reduce_mean(dist.log_prob(noise))`).
    ///
    /// Errors name `structured_generator_inputs` and `predicted_distributions` with both shapes
    /// when the code does not fit the distribution.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::losses::{Distribution, StructuredInput};
    /// let device = Device::default();
    /// let q = Distribution::OneHotCategorical { logits: Tensor::<2>::zeros([1, 2], &device) };
    /// let code = StructuredInput::Values(Tensor::<2>::from_floats([[0.0, 1.0]], &device));
    /// assert!((q.log_prob(&code).unwrap().into_scalar::<f32>() + 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn log_prob(&self, noise: &StructuredInput) -> Result<Tensor<1>> {
        self.log_prob_named(noise, "structured_generator_inputs", "predicted_distributions")
    }

    fn log_prob_named(&self, noise: &StructuredInput, noise_arg: &str, dist_arg: &str) -> Result<Tensor<1>> {
        let mismatch = |expected: &[usize]| {
            RganError::shape(
                noise_arg,
                &noise.dims(),
                format!("but `{dist_arg}` is a {} that needs codes of shape {expected:?}", self.name()),
            )
        };
        let wrong_kind = |wanted: &str| {
            RganError::invalid(
                noise_arg,
                format!("holds {} but `{dist_arg}` is a {} that needs {wanted}", noise.kind(), self.name()),
            )
        };
        match (self, noise) {
            (Self::Categorical { logits }, StructuredInput::ClassIds(ids)) => {
                let [batch, classes] = logits.dims();
                if ids.dims() != [batch] {
                    return Err(mismatch(&[batch]));
                }
                let values = ids.to_data().convert::<i64>().try_into_vec::<i64>().unwrap_or_default();
                if let Some(bad) = values.iter().find(|&&id| id < 0 || id >= classes as i64) {
                    return Err(RganError::invalid(
                        noise_arg,
                        format!(
                            "class id {bad} is outside 0..{classes}, the classes of `{dist_arg}` (logits {:?})",
                            [batch, classes]
                        ),
                    ));
                }
                let picked = log_softmax(logits.clone(), 1).gather(1, ids.clone().reshape([batch, 1]));
                Ok(picked.mean())
            }
            (Self::OneHotCategorical { logits }, StructuredInput::Values(one_hot)) => {
                if one_hot.dims() != logits.dims() {
                    return Err(mismatch(&logits.dims()));
                }
                let one_hot = one_hot.clone().cast(logits.dtype());
                let per_example = (one_hot * log_softmax(logits.clone(), 1)).sum_dim(1);
                Ok(per_example.mean())
            }
            (Self::Normal { loc, scale }, StructuredInput::Values(x)) => {
                if scale.dims() != loc.dims() {
                    return Err(RganError::shape(
                        format!("{dist_arg} (Normal scale)"),
                        &scale.dims(),
                        format!("but its `loc` has shape {:?}; they must be equal", loc.dims()),
                    ));
                }
                if x.dims() != loc.dims() {
                    return Err(mismatch(&loc.dims()));
                }
                let z = (x.clone().cast(loc.dtype()) - loc.clone()) / scale.clone();
                let log_prob =
                    z.square().mul_scalar(-0.5) - scale.clone().log() - 0.5 * (2.0 * std::f64::consts::PI).ln();
                Ok(log_prob.mean())
            }
            (Self::Categorical { .. }, _) => Err(wrong_kind("class ids")),
            (Self::OneHotCategorical { .. }, _) => Err(wrong_kind("one-hot float values")),
            (Self::Normal { .. }, _) => Err(wrong_kind("float values")),
        }
    }
}

/// InfoGAN's mutual-information penalty, TF-GAN's `mutual_information_penalty`:
/// `-compute_weighted_loss([mean(q_i.log_prob(c_i)) for each code i], weights, reduction)`.
///
/// With the default reduction this is the average over the codes of their mean negative
/// log-likelihood under the recognizer's predictions (no entropy constant is added). `weights`
/// is a scalar or has one weight per code (`[n]`). The two lists must have the same length.
/// The result has shape `[1]` (`[n]` for reduction `None`).
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{mutual_information_penalty, Distribution, StructuredInput, WeightedLossOptions};
/// let device = Device::default();
/// let codes = vec![StructuredInput::ClassIds(Tensor::<1, Int>::from_ints([0, 1], &device))];
/// let q = vec![Distribution::Categorical { logits: Tensor::<2>::zeros([2, 4], &device) }];
/// let penalty = mutual_information_penalty(&codes, &q, &WeightedLossOptions::default()).unwrap();
/// assert!((penalty.into_scalar::<f32>() - 4f32.ln()).abs() < 1e-6);
///
/// let err = mutual_information_penalty(&codes, &[], &WeightedLossOptions::default()).unwrap_err();
/// assert!(err.to_string().contains("length 1") && err.to_string().contains("length 0"));
/// ```
pub fn mutual_information_penalty(
    structured_generator_inputs: &[StructuredInput],
    predicted_distributions: &[Distribution],
    options: &WeightedLossOptions<1>,
) -> Result<Tensor<1>> {
    let (n_inputs, n_dists) = (structured_generator_inputs.len(), predicted_distributions.len());
    if n_inputs != n_dists {
        return Err(RganError::invalid(
            "structured_generator_inputs",
            format!(
                "has length {n_inputs} but `predicted_distributions` has length {n_dists}; \
                 there must be one predicted distribution per structured input"
            ),
        ));
    }
    if n_inputs == 0 {
        return Err(RganError::invalid("structured_generator_inputs", "is empty; InfoGAN needs at least one code"));
    }
    let mut log_probs = Vec::with_capacity(n_inputs);
    for (i, (dist, noise)) in predicted_distributions.iter().zip(structured_generator_inputs).enumerate() {
        let noise_arg = format!("structured_generator_inputs[{i}]");
        let dist_arg = format!("predicted_distributions[{i}]");
        log_probs.push(dist.log_prob_named(noise, &noise_arg, &dist_arg)?);
    }
    let dtype = log_probs[0].dtype();
    let log_probs = Tensor::cat(log_probs.into_iter().map(|t| t.cast(dtype)).collect(), 0);
    let weighted = compute_weighted_loss(log_probs, &options.weights, options.reduction, "weights")?;
    Ok(weighted.neg())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::test_util::{t64, value};
    use crate::losses::{Reduction, Weights};

    fn ids(values: &[i64], device: &Device) -> StructuredInput {
        StructuredInput::ClassIds(Tensor::<1, Int>::from_data(TensorData::new(values.to_vec(), [values.len()]), device))
    }

    use burn::tensor::TensorData;

    #[test]
    fn closed_form_with_weights() {
        let device = Device::default();
        let codes = vec![ids(&[1, 0], &device), StructuredInput::Values(t64(&[1.0, -1.0], [2, 1], &device))];
        let q = vec![
            Distribution::Categorical { logits: t64(&[0.0, 0.0, 0.0, 0.0], [2, 2], &device) },
            Distribution::Normal { loc: t64(&[0.0, 0.0], [2, 1], &device), scale: t64(&[2.0, 2.0], [2, 1], &device) },
        ];
        let cat = -(2f64.ln());
        let normal = -0.5 * 0.25 - 2f64.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
        let default = mutual_information_penalty(&codes, &q, &Default::default()).unwrap();
        assert!((value(default) + (cat + normal) / 2.0).abs() < 1e-12);
        let opts =
            WeightedLossOptions { weights: Weights::Tensor(t64(&[3.0, 0.0], [2], &device)), reduction: Reduction::Sum };
        assert!((value(mutual_information_penalty(&codes, &q, &opts).unwrap()) + 3.0 * cat).abs() < 1e-12);
    }

    #[test]
    fn mismatched_inputs_are_errors() {
        let device = Device::default();
        let q = vec![Distribution::Categorical { logits: t64(&[0.0; 6], [2, 3], &device) }];
        let msg = mutual_information_penalty(&[], &q, &Default::default()).unwrap_err().to_string();
        assert!(msg.contains("length 0") && msg.contains("length 1"), "{msg}");
        let wrong_kind = vec![StructuredInput::Values(t64(&[0.0; 6], [2, 3], &device))];
        let msg = mutual_information_penalty(&wrong_kind, &q, &Default::default()).unwrap_err().to_string();
        assert!(msg.contains("structured_generator_inputs[0]") && msg.contains("Categorical"), "{msg}");
        let out_of_range = vec![ids(&[0, 3], &device)];
        let msg = mutual_information_penalty(&out_of_range, &q, &Default::default()).unwrap_err().to_string();
        assert!(msg.contains("class id 3"), "{msg}");
        let wrong_batch = vec![ids(&[0, 1, 2], &device)];
        let msg = mutual_information_penalty(&wrong_batch, &q, &Default::default()).unwrap_err().to_string();
        assert!(msg.contains("[3]") && msg.contains("[2]"), "{msg}");
    }
}
