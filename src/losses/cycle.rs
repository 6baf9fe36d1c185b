//! CycleGAN's cycle-consistency loss (Zhu et al. 2017).

use burn::prelude::*;

use super::minimax::check_same_shape;
use super::reduction::{Reduction, Weights, compute_weighted_loss};
use crate::error::Result;

/// `tf.compat.v1.losses.absolute_difference` with default weights and reduction: the mean of
/// `|labels - predictions|` over all elements, shape `[1]`.
fn mean_absolute_difference<const D: usize>(
    labels: Tensor<D>,
    predictions: Tensor<D>,
    labels_argument: &str,
    predictions_argument: &str,
) -> Result<Tensor<1>> {
    check_same_shape(predictions_argument, &predictions.dims(), labels_argument, &labels.dims())?;
    let losses = (labels - predictions).abs();
    let mean = compute_weighted_loss(losses, &Weights::default(), Reduction::SumByNonzeroWeights, "weights")?;
    Ok(mean.reshape([1]))
}

/// Cycle-consistency loss, TF-GAN's `cycle_consistency_loss`:
/// `(mean|x - G(F(x))| + mean|y - F(G(y))|) / 2`, each mean over all elements (pixel-wise L1
/// normalised by the data size, as in the CycleGAN code). Note that TF-GAN *averages* the two
/// directions, so a CycleGAN weight λ = 10 acts as 5 per direction.
///
/// `x` and `y` may have different shapes and ranks; each reconstruction must have its data's
/// shape. The result has shape `[1]`.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::cycle_consistency_loss;
/// let device = Device::default();
/// let x = Tensor::<2>::from_floats([[0.0, 1.0]], &device);
/// let x_rec = Tensor::<2>::from_floats([[0.5, 1.0]], &device); // mean |.| = 0.25
/// let y = Tensor::<1>::from_floats([2.0], &device);
/// let y_rec = Tensor::<1>::from_floats([1.25], &device); // 0.75
/// let loss = cycle_consistency_loss(x, x_rec, y, y_rec).unwrap();
/// assert_eq!(loss.into_scalar::<f32>(), 0.5);
/// ```
pub fn cycle_consistency_loss<const DX: usize, const DY: usize>(
    data_x: Tensor<DX>,
    reconstructed_data_x: Tensor<DX>,
    data_y: Tensor<DY>,
    reconstructed_data_y: Tensor<DY>,
) -> Result<Tensor<1>> {
    let loss_x2x = mean_absolute_difference(data_x, reconstructed_data_x, "data_x", "reconstructed_data_x")?;
    let loss_y2y = mean_absolute_difference(data_y, reconstructed_data_y, "data_y", "reconstructed_data_y")?;
    let dtype = loss_x2x.dtype();
    Ok((loss_x2x + loss_y2y.cast(dtype)).div_scalar(2.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::test_util::t64;

    #[test]
    fn reconstruction_of_another_shape_is_an_error() {
        let device = Device::default();
        let x = t64(&[0.0; 4], [2, 2], &device);
        let err = cycle_consistency_loss(x.clone(), t64(&[0.0; 2], [1, 2], &device), x.clone(), x).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("reconstructed_data_x") && msg.contains("[1, 2]"), "{msg}");
        assert!(msg.contains("`data_x` has shape [2, 2]"), "{msg}");
    }
}
