//! Auxiliary-classifier GAN losses (Odena et al. 2017): softmax cross entropy of the
//! discriminator's class logits against one-hot labels.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::options::WeightedLossOptions;
use super::reduction::{Reduction, Weights, weighted_loss};
use crate::error::{Result, RganError};

/// Options of [`acgan_discriminator_loss`], with TF-GAN's defaults (`label_smoothing = 0`, both
/// weights 1, `SUM_BY_NONZERO_WEIGHTS`). Weights are per example: a scalar or shape `[batch]`.
///
/// ```
/// use rgan::losses::AcganDiscriminatorLossOptions;
/// assert_eq!(AcganDiscriminatorLossOptions::default().label_smoothing, 0.0);
/// ```
#[derive(Clone, Debug)]
pub struct AcganDiscriminatorLossOptions {
    /// Smoothing of the labels of the real-data term: `one_hot * (1 - ls) + ls / num_classes`.
    pub label_smoothing: f64,
    /// Per-example weights of the loss on real data.
    pub real_weights: Weights<1>,
    /// Per-example weights of the loss on generated data.
    pub generated_weights: Weights<1>,
    /// How each weighted per-example loss is reduced.
    pub reduction: Reduction,
}

impl Default for AcganDiscriminatorLossOptions {
    fn default() -> Self {
        Self {
            label_smoothing: 0.0,
            real_weights: Weights::default(),
            generated_weights: Weights::default(),
            reduction: Reduction::default(),
        }
    }
}

/// Checks that `one_hot_labels` has the logits' shape `[batch, num_classes]`.
fn check_labels(logits_argument: &str, logits: &Tensor<2>, one_hot_labels: &Tensor<2>) -> Result<()> {
    let [batch, classes] = logits.dims();
    let [label_batch, label_classes] = one_hot_labels.dims();
    if label_classes != classes {
        return Err(RganError::shape(
            "one_hot_labels",
            &[label_batch, label_classes],
            format!(
                "but `{logits_argument}` has shape {:?}: {label_classes} classes in the labels, {classes} in the logits",
                [batch, classes]
            ),
        ));
    }
    if label_batch != batch {
        return Err(RganError::shape(
            "one_hot_labels",
            &[label_batch, label_classes],
            format!("but `{logits_argument}` has shape {:?}; the batch sizes differ", [batch, classes]),
        ));
    }
    Ok(())
}

/// `tf.compat.v1.losses.softmax_cross_entropy`: per example `-sum(labels * log_softmax(logits))`
/// with smoothed labels `one_hot * (1 - ls) + ls / num_classes`, then weighted and reduced.
fn softmax_cross_entropy(
    one_hot_labels: Tensor<2>,
    logits: Tensor<2>,
    label_smoothing: f64,
    weights: &Weights<1>,
    reduction: Reduction,
    weights_argument: &str,
    logits_argument: &str,
) -> Result<Tensor<1>> {
    check_labels(logits_argument, &logits, &one_hot_labels)?;
    let [batch, classes] = logits.dims();
    let mut labels = one_hot_labels.cast(logits.dtype());
    if label_smoothing != 0.0 {
        labels = labels.mul_scalar(1.0 - label_smoothing).add_scalar(label_smoothing / classes as f64);
    }
    let per_example = (labels * log_softmax(logits, 1)).sum_dim(1).neg().reshape([batch]);
    weighted_loss(per_example, weights, reduction, weights_argument, logits_argument)
}

/// ACGAN generator loss, TF-GAN's `acgan_generator_loss`: softmax cross entropy of the
/// discriminator's class logits on generated data, `[batch, num_classes]`, against
/// `one_hot_labels` of the same shape. Weights are per example (scalar or `[batch]`); the
/// reduced result has shape `[1]`, reduction `None` gives `[batch]`.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{acgan_generator_loss, WeightedLossOptions};
/// let device = Device::default();
/// let logits = Tensor::<2>::from_floats([[0.0, 0.0], [0.0, 0.0]], &device);
/// let labels = Tensor::<2>::from_floats([[1.0, 0.0], [0.0, 1.0]], &device);
/// let loss = acgan_generator_loss(logits, labels, &WeightedLossOptions::default()).unwrap();
/// assert!((loss.into_scalar::<f32>() - std::f32::consts::LN_2).abs() < 1e-6);
/// ```
pub fn acgan_generator_loss(
    discriminator_gen_classification_logits: Tensor<2>,
    one_hot_labels: Tensor<2>,
    options: &WeightedLossOptions<1>,
) -> Result<Tensor<1>> {
    softmax_cross_entropy(
        one_hot_labels,
        discriminator_gen_classification_logits,
        0.0,
        &options.weights,
        options.reduction,
        "weights",
        "discriminator_gen_classification_logits",
    )
}

/// ACGAN discriminator loss, TF-GAN's `acgan_discriminator_loss`: softmax cross entropy on
/// generated data plus softmax cross entropy on real data, each weighted and reduced on its own;
/// only the real-data term uses `label_smoothing`.
///
/// A class count of `one_hot_labels` that differs from the logits' is an error naming both.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{acgan_discriminator_loss, AcganDiscriminatorLossOptions};
/// let device = Device::default();
/// let real = Tensor::<2>::from_floats([[0.0, 0.0, 0.0]], &device);
/// let fake = Tensor::<2>::from_floats([[0.0, 0.0, 0.0]], &device);
/// let labels = Tensor::<2>::from_floats([[0.0, 1.0, 0.0]], &device);
/// let opts = AcganDiscriminatorLossOptions::default();
/// let loss = acgan_discriminator_loss(real, fake, labels.clone(), &opts).unwrap();
/// assert!((loss.into_scalar::<f32>() - 2.0 * 3f32.ln()).abs() < 1e-5);
///
/// let wrong = Tensor::<2>::from_floats([[0.0, 1.0]], &device);
/// let fake = Tensor::<2>::from_floats([[0.0, 0.0, 0.0]], &device);
/// let real = fake.clone();
/// let err = acgan_discriminator_loss(real, fake, wrong, &opts).unwrap_err();
/// assert!(err.to_string().contains("one_hot_labels"));
/// ```
pub fn acgan_discriminator_loss(
    discriminator_real_classification_logits: Tensor<2>,
    discriminator_gen_classification_logits: Tensor<2>,
    one_hot_labels: Tensor<2>,
    options: &AcganDiscriminatorLossOptions,
) -> Result<Tensor<1>> {
    let on_generated = softmax_cross_entropy(
        one_hot_labels.clone(),
        discriminator_gen_classification_logits,
        0.0,
        &options.generated_weights,
        options.reduction,
        "generated_weights",
        "discriminator_gen_classification_logits",
    )?;
    let on_real = softmax_cross_entropy(
        one_hot_labels,
        discriminator_real_classification_logits,
        options.label_smoothing,
        &options.real_weights,
        options.reduction,
        "real_weights",
        "discriminator_real_classification_logits",
    )?;
    Ok(on_generated + on_real)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::test_util::{t64, value, values};

    #[test]
    fn class_count_mismatch_names_one_hot_labels_and_both_shapes() {
        let device = Device::default();
        let logits = t64(&[0.0; 6], [2, 3], &device);
        let labels = t64(&[1.0, 0.0, 0.0, 1.0], [2, 2], &device);
        let msg = acgan_generator_loss(logits, labels, &Default::default()).unwrap_err().to_string();
        assert!(msg.contains("`one_hot_labels` has shape [2, 2]"), "{msg}");
        assert!(msg.contains("`discriminator_gen_classification_logits` has shape [2, 3]"), "{msg}");
    }

    #[test]
    fn smoothing_applies_to_the_real_term_only() {
        let device = Device::default();
        let logits = t64(&[2.0, 0.0], [1, 2], &device);
        let labels = t64(&[0.0, 1.0], [1, 2], &device);
        let opts =
            AcganDiscriminatorLossOptions { label_smoothing: 0.5, reduction: Reduction::None, ..Default::default() };
        let loss = acgan_discriminator_loss(logits.clone(), logits, labels, &opts).unwrap();
        // log_softmax([2, 0]) = [2 - lse, -lse]; unsmoothed CE = lse; smoothed labels [0.25, 0.75]
        let lse = (2f64.exp() + 1.0).ln();
        let expected = lse + (-(0.25 * (2.0 - lse)) + 0.75 * lse);
        assert!((values(loss)[0] - expected).abs() < 1e-12);
    }

    #[test]
    fn per_example_weights() {
        let device = Device::default();
        let logits = t64(&[0.0; 4], [2, 2], &device);
        let labels = t64(&[1.0, 0.0, 0.0, 1.0], [2, 2], &device);
        let opts =
            WeightedLossOptions { weights: Weights::Tensor(t64(&[0.0, 2.0], [2], &device)), ..Default::default() };
        // Only example 1 counts, with weight 2: 2 ln 2 / 1 non-zero weight.
        let loss = acgan_generator_loss(logits.clone(), labels.clone(), &opts).unwrap();
        assert!((value(loss) - 2.0 * 2f64.ln()).abs() < 1e-12);
        let opts = WeightedLossOptions { weights: Weights::Tensor(t64(&[1.0; 3], [3], &device)), ..Default::default() };
        let msg = acgan_generator_loss(logits, labels, &opts).unwrap_err().to_string();
        assert!(msg.contains("`weights` has shape [3]") && msg.contains("[2]"), "{msg}");
    }
}
