//! Losses beyond TF-GAN: the hinge generator loss under its usual name and feature matching.

use burn::prelude::*;

use super::options::WeightedLossOptions;
use super::wasserstein::wasserstein_generator_loss;
use crate::error::{Result, RganError};

/// Hinge generator loss (Lim & Ye 2017; Miyato et al. 2018): `-mean(D(G(z)))`, the generator
/// side of the hinge game. The same function as [`wasserstein_generator_loss`] and TF-GAN's
/// `wasserstein_hinge_generator_loss`, under the name most papers use; weights and reduction as
/// there.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{hinge_generator_loss, WeightedLossOptions};
/// let device = Device::default();
/// let critic = Tensor::<2>::from_floats([[0.5], [1.5]], &device);
/// let loss = hinge_generator_loss(critic, &WeightedLossOptions::default()).unwrap();
/// assert_eq!(loss.into_scalar::<f32>(), -1.0);
/// ```
pub fn hinge_generator_loss<const D: usize>(
    discriminator_gen_outputs: Tensor<D>,
    options: &WeightedLossOptions<D>,
) -> Result<Tensor<D>> {
    wasserstein_generator_loss(discriminator_gen_outputs, options)
}

/// Feature matching loss (Salimans et al. 2016): the squared L2 distance between the batch means
/// of the discriminator's intermediate features on real and on generated data,
/// `‖mean_b f(x) - mean_b f(G(z))‖²`. Result shape `[1; D]`.
///
/// Features are `[batch, ...]`; the batch sizes may differ, every other dimension must agree.
/// The generator minimises this; detach `real_features` if the discriminator must not get a
/// gradient from it.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::feature_matching_loss;
/// let device = Device::default();
/// let real = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device); // mean [2, 3]
/// let fake = Tensor::<2>::from_floats([[0.0, 3.0]], &device); // mean [0, 3]
/// let loss = feature_matching_loss(real, fake).unwrap();
/// assert_eq!(loss.into_scalar::<f32>(), 4.0);
/// ```
pub fn feature_matching_loss<const D: usize>(
    real_features: Tensor<D>,
    generated_features: Tensor<D>,
) -> Result<Tensor<D>> {
    let (real_shape, gen_shape) = (real_features.dims(), generated_features.dims());
    if real_shape[1..] != gen_shape[1..] {
        return Err(RganError::shape(
            "real_features",
            &real_shape,
            format!("but `generated_features` has shape {gen_shape:?}; all dimensions but the batch must agree"),
        ));
    }
    for (name, shape) in [("real_features", &real_shape), ("generated_features", &gen_shape)] {
        if shape[0] == 0 {
            return Err(RganError::shape(name, shape, "which has an empty batch; its mean is undefined"));
        }
    }
    let dtype = real_features.dtype();
    let difference = real_features.mean_dim(0) - generated_features.mean_dim(0).cast(dtype);
    Ok(crate::ops::sum(difference.square()).reshape([1usize; D]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::test_util::{check_gradients, t64, value};
    use crate::losses::{Reduction, Weights};

    #[test]
    fn hinge_generator_loss_closed_form_and_gradient() {
        let device = Device::default();
        let outputs = t64(&[0.5, -2.0, 4.0, 1.5], [2, 2], &device);
        let loss = hinge_generator_loss(outputs.clone(), &WeightedLossOptions::default()).unwrap();
        assert_eq!(loss.dims(), [1, 1]);
        assert!((value(loss) + 1.0).abs() < 1e-12);
        // Weighted sum with column weights [1, 0]: -(0.5 + 4) = -4.5
        let opts = WeightedLossOptions {
            weights: Weights::Tensor(t64(&[1.0, 0.0], [1, 2], &device)),
            reduction: Reduction::Sum,
        };
        assert!((value(hinge_generator_loss(outputs, &opts).unwrap()) + 4.5).abs() < 1e-12);
        // d/dx of -mean(x) is -1/n; the second input is unused.
        check_gradients(
            |g, other| hinge_generator_loss(g, &WeightedLossOptions::default()).unwrap() + other.sum().mul_scalar(0.0),
            (&[0.5, -2.0, 4.0], [3]),
            (&[1.0], [1]),
        );
    }

    #[test]
    fn feature_matching_closed_form_and_gradient() {
        let device = Device::default();
        let real = [1.0, 2.0, 3.0, 4.0, 5.0, 0.0]; // mean [3, 2]
        let fake = [0.0, 1.0, 2.0, 5.0]; // mean [1, 3]
        let loss = feature_matching_loss(t64(&real, [3, 2], &device), t64(&fake, [2, 2], &device)).unwrap();
        assert_eq!(loss.dims(), [1, 1]);
        assert!((value(loss) - 5.0).abs() < 1e-12); // 2^2 + (-1)^2
        check_gradients(|r, g| feature_matching_loss(r, g).unwrap(), (&real, [3, 2]), (&fake, [2, 2]));
    }

    #[test]
    fn feature_matching_shape_errors_name_both_arguments() {
        let device = Device::default();
        let err = feature_matching_loss(t64(&[0.0; 6], [2, 3], &device), t64(&[0.0; 4], [2, 2], &device)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("real_features") && msg.contains("[2, 3]"), "{msg}");
        assert!(msg.contains("generated_features") && msg.contains("[2, 2]"), "{msg}");
        let err = feature_matching_loss(t64(&[], [0, 2], &device), t64(&[0.0; 4], [2, 2], &device)).unwrap_err();
        assert!(err.to_string().contains("empty batch"), "{err}");
    }
}
