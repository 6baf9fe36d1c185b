//! Building blocks the recipes' networks share.

use burn::nn::BatchNorm;
use burn::prelude::*;

use crate::features::{ConditionTensorFromOnehot, ConditionTensorFromOnehotConfig};
use crate::model::{BatchNormMode, glorot_uniform, zeros};
use crate::ops::{Activation, batch_norm_layer, batch_norm_train};
use crate::rng::Rng;

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

/// TF-GAN's `condition_tensor_from_onehot` layer with Glorot-uniform embedding and projection
/// drawn from `rng`.
pub(crate) fn onehot_conditioning(
    rng: &mut Rng,
    num_classes: usize,
    tensor_size: usize,
    embedding_size: usize,
    device: &Device,
) -> ConditionTensorFromOnehot {
    let mut layer =
        ConditionTensorFromOnehotConfig::new(num_classes, tensor_size).with_embedding_size(embedding_size).init(device);
    layer.embedding = glorot_uniform(rng, [num_classes, embedding_size], num_classes, embedding_size, device);
    layer.condition.dense.weight =
        glorot_uniform(rng, [embedding_size, tensor_size], embedding_size, tensor_size, device);
    layer.condition.dense.bias = Some(zeros([tensor_size], device));
    layer
}
