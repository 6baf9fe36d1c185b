//! Building blocks the recipes' networks share.

use burn::nn::BatchNorm;
use burn::prelude::*;

use crate::model::BatchNormMode;
use crate::ops::{Activation, batch_norm_layer, batch_norm_train};

/// A batch norm layer in the given mode, followed by `activation` (fused on the CPU backend,
/// [`crate::ops`]).
pub(crate) fn batch_norm_act<const D: usize>(
    layer: &BatchNorm,
    x: Tensor<D>,
    mode: BatchNormMode,
    activation: Activation,
) -> Tensor<D> {
    match mode {
        BatchNormMode::Layer => batch_norm_layer(layer, x, activation),
        BatchNormMode::MovingAverages => activation.apply(burn::tensor::module::batch_norm(
            x,
            layer.gamma.val(),
            layer.beta.val(),
            layer.running_mean.value(),
            layer.running_var.value(),
            layer.epsilon,
        )),
        BatchNormMode::BatchStatistics => {
            batch_norm_train(x, layer.gamma.val(), layer.beta.val(), layer.epsilon, activation).0
        }
    }
}
