//! Conditioning by projection and addition (Reed et al. 2016), as TF-GAN's
//! `features/conditioning_utils.py`.
//!
//! `condition_tensor(tensor, conditioning)` flattens the conditioning to `[B, F]`, projects it with
//! a dense layer (kernel `[F, N]`, bias `[N]`) to `N = prod(tensor.shape[1..])` values per example,
//! reshapes that to the tensor's shape (row-major, whatever the layout) and adds it.
//! `condition_tensor_from_onehot` first looks up a learned embedding of the labels'
//! `argmax`. TF-GAN creates the dense layer and the embedding itself (Glorot-uniform, zero bias);
//! the functions here take them as arguments, and the layers [`ConditionTensor`] and
//! [`ConditionTensorFromOnehot`] own them as parameters.

use burn::module::Param;
use burn::nn::{Initializer, Linear};
use burn::prelude::*;
use burn::tensor::module::linear;

use crate::error::{Result, RganError};

/// TF-GAN's default `embedding_size` of `condition_tensor_from_onehot` (256).
pub const EMBEDDING_SIZE: usize = 256;

/// TF-GAN's `condition_tensor`: `tensor + reshape(flatten(conditioning) @ kernel + bias,
/// tensor.shape)`.
///
/// `conditioning` must have rank ≥ 2 and the tensor's batch size; `kernel` must be `[F, N]` with
/// `F = prod(conditioning.shape[1..])`, `N = prod(tensor.shape[1..])`, and `bias` `[N]`.
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::condition_tensor;
/// let device = Device::default();
/// let tensor = Tensor::<2>::zeros([2, 3], &device);
/// let conditioning = Tensor::<2>::from_floats([[1.0], [2.0]], &device);
/// let kernel = Tensor::<2>::from_floats([[1.0, 0.0, -1.0]], &device);
/// let bias = Tensor::<1>::from_floats([0.5, 0.5, 0.5], &device);
/// let out = condition_tensor(tensor, conditioning, kernel, bias).unwrap();
/// assert_eq!(out.into_data().try_to_vec::<f32>().unwrap(), vec![1.5, 0.5, -0.5, 2.5, 0.5, -1.5]);
/// ```
pub fn condition_tensor<const D: usize, const C: usize>(
    tensor: Tensor<D>,
    conditioning: Tensor<C>,
    kernel: Tensor<2>,
    bias: Tensor<1>,
) -> Result<Tensor<D>> {
    let dims = tensor.dims();
    let cond_dims = conditioning.dims();
    if D < 1 {
        return Err(RganError::shape("tensor", &dims, "but it needs a batch axis"));
    }
    if C < 2 {
        return Err(RganError::shape(
            "conditioning",
            &cond_dims,
            format!("but it must be at least 2-D ([batch, ..]) to condition `tensor` of shape {dims:?}"),
        ));
    }
    if cond_dims[0] != dims[0] {
        return Err(RganError::shape(
            "conditioning",
            &cond_dims,
            format!("but `tensor` has shape {dims:?}; their batch sizes must be equal"),
        ));
    }
    let batch = dims[0];
    let features: usize = cond_dims[1..].iter().product();
    let num: usize = dims[1..].iter().product();
    if kernel.dims() != [features, num] {
        return Err(RganError::shape(
            "kernel",
            &kernel.dims(),
            format!(
                "but `conditioning` has shape {cond_dims:?} and `tensor` has shape {dims:?}; it must be [{features}, {num}]"
            ),
        ));
    }
    if bias.dims() != [num] {
        return Err(RganError::shape(
            "bias",
            &bias.dims(),
            format!("but `tensor` has shape {dims:?}; it must be [{num}]"),
        ));
    }
    let mapped = linear(conditioning.reshape([batch, features]), kernel, Some(bias));
    Ok(tensor + mapped.reshape(dims))
}

/// The rows of `embedding` picked by the `argmax` of each row of `one_hot_labels`.
fn embed(one_hot_labels: Tensor<2>, embedding: Tensor<2>, batch: usize) -> Result<Tensor<2>> {
    let [rows, classes] = one_hot_labels.dims();
    let emb_dims = embedding.dims();
    if emb_dims[0] != classes {
        return Err(RganError::shape(
            "embedding",
            &emb_dims,
            format!("but `one_hot_labels` has shape [{rows}, {classes}]; it must have {classes} rows, one per class"),
        ));
    }
    if rows != batch {
        return Err(RganError::shape(
            "one_hot_labels",
            &[rows, classes],
            format!("but the tensor to condition has batch size {batch}; they must be equal"),
        ));
    }
    if classes == 0 {
        return Err(RganError::shape("one_hot_labels", &[rows, classes], "but it must have at least one class"));
    }
    let ids = one_hot_labels.argmax(1).reshape([rows]);
    Ok(embedding.select(0, ids))
}

/// TF-GAN's `condition_tensor_from_onehot`: `condition_tensor(tensor,
/// embedding[argmax(one_hot_labels, 1)])` with the embedding `[num_classes, embedding_size]`
/// given (TF-GAN's variable `embedding`; `embedding_size` is its second dimension), then the dense
/// `kernel` `[embedding_size, N]` and `bias` `[N]`.
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::condition_tensor_from_onehot;
/// let device = Device::default();
/// let tensor = Tensor::<2>::zeros([2, 1], &device);
/// let labels = Tensor::<2>::from_floats([[0.0, 1.0], [1.0, 0.0]], &device);
/// let embedding = Tensor::<2>::from_floats([[10.0], [20.0]], &device);
/// let kernel = Tensor::<2>::from_floats([[1.0]], &device);
/// let bias = Tensor::<1>::zeros([1], &device);
/// let out = condition_tensor_from_onehot(tensor, labels, embedding, kernel, bias).unwrap();
/// assert_eq!(out.into_data().try_to_vec::<f32>().unwrap(), vec![20.0, 10.0]);
/// ```
pub fn condition_tensor_from_onehot<const D: usize>(
    tensor: Tensor<D>,
    one_hot_labels: Tensor<2>,
    embedding: Tensor<2>,
    kernel: Tensor<2>,
    bias: Tensor<1>,
) -> Result<Tensor<D>> {
    let batch = tensor.dims().first().copied().unwrap_or(0);
    let conditioning = embed(one_hot_labels, embedding, batch)?;
    condition_tensor(tensor, conditioning, kernel, bias)
}

/// Configuration of a [`ConditionTensor`] layer: the flattened conditioning size `F` and the
/// number of values per example of the conditioned tensor `N = prod(tensor.shape[1..])`. The
/// projection is initialised as TF's dense layer: Glorot-uniform kernel, zero bias.
///
/// ```
/// use rgan::features::ConditionTensorConfig;
/// let config = ConditionTensorConfig::new(10, 1024);
/// assert_eq!(config.conditioning_size, 10);
/// ```
#[derive(Config, Debug)]
pub struct ConditionTensorConfig {
    /// `F`: values per example of the flattened conditioning.
    pub conditioning_size: usize,
    /// `N`: values per example of the conditioned tensor.
    pub tensor_size: usize,
}

fn glorot_dense(fan_in: usize, fan_out: usize, device: &Device) -> Linear {
    Linear {
        weight: Initializer::XavierUniform { gain: 1.0 }.init_with(
            [fan_in, fan_out],
            Some(fan_in),
            Some(fan_out),
            device,
        ),
        bias: Some(Initializer::Zeros.init([fan_out], device)),
    }
}

impl ConditionTensorConfig {
    /// Builds the layer.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::ConditionTensorConfig;
    /// let layer = ConditionTensorConfig::new(3, 8).init(&Device::default());
    /// assert_eq!(layer.dense.weight.dims(), [3, 8]);
    /// ```
    pub fn init(&self, device: &Device) -> ConditionTensor {
        ConditionTensor { dense: glorot_dense(self.conditioning_size, self.tensor_size, device) }
    }
}

/// [`condition_tensor`] with a learned projection.
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::ConditionTensorConfig;
/// let device = Device::default();
/// let layer = ConditionTensorConfig::new(5, 2 * 3 * 3).init(&device);
/// let x = Tensor::<4>::zeros([4, 2, 3, 3], &device);
/// let y = layer.forward(x, Tensor::<2>::ones([4, 5], &device)).unwrap();
/// assert_eq!(y.dims(), [4, 2, 3, 3]);
/// ```
#[derive(Module, Debug)]
pub struct ConditionTensor {
    /// The projection: weight `[F, N]`, bias `[N]`.
    pub dense: Linear,
}

impl ConditionTensor {
    fn kernel_and_bias(&self) -> (Tensor<2>, Tensor<1>) {
        let kernel = self.dense.weight.val();
        let bias = match &self.dense.bias {
            Some(b) => b.val(),
            None => Tensor::<1>::zeros([kernel.dims()[1]], &kernel.device()).cast(kernel.dtype()),
        };
        (kernel, bias)
    }

    /// Adds the projected conditioning to `tensor`; errors as [`condition_tensor`] on shapes that
    /// do not fit.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::ConditionTensorConfig;
    /// let device = Device::default();
    /// let layer = ConditionTensorConfig::new(2, 3).init(&device);
    /// assert!(layer.forward(Tensor::<2>::zeros([1, 4], &device), Tensor::<2>::ones([1, 2], &device)).is_err());
    /// ```
    pub fn forward<const D: usize, const C: usize>(
        &self,
        tensor: Tensor<D>,
        conditioning: Tensor<C>,
    ) -> Result<Tensor<D>> {
        let (kernel, bias) = self.kernel_and_bias();
        condition_tensor(tensor, conditioning, kernel, bias)
    }
}

/// Configuration of a [`ConditionTensorFromOnehot`] layer: `num_classes`, `embedding_size`
/// (TF-GAN's default 256) and `tensor_size = prod(tensor.shape[1..])`. The embedding is
/// Glorot-uniform (TF's `get_variable` default), the projection as [`ConditionTensorConfig`].
///
/// ```
/// use rgan::features::ConditionTensorFromOnehotConfig;
/// let config = ConditionTensorFromOnehotConfig::new(10, 1024);
/// assert_eq!(config.embedding_size, 256);
/// ```
#[derive(Config, Debug)]
pub struct ConditionTensorFromOnehotConfig {
    /// Number of classes (columns of the one-hot labels).
    pub num_classes: usize,
    /// `N`: values per example of the conditioned tensor.
    pub tensor_size: usize,
    /// Width of the label embedding.
    #[config(default = 256)]
    pub embedding_size: usize,
}

impl ConditionTensorFromOnehotConfig {
    /// Builds the layer.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::ConditionTensorFromOnehotConfig;
    /// let layer = ConditionTensorFromOnehotConfig::new(10, 64).init(&Device::default());
    /// assert_eq!(layer.embedding.dims(), [10, 256]);
    /// ```
    pub fn init(&self, device: &Device) -> ConditionTensorFromOnehot {
        let embedding = Initializer::XavierUniform { gain: 1.0 }.init_with(
            [self.num_classes, self.embedding_size],
            Some(self.num_classes),
            Some(self.embedding_size),
            device,
        );
        ConditionTensorFromOnehot {
            embedding,
            condition: ConditionTensor { dense: glorot_dense(self.embedding_size, self.tensor_size, device) },
        }
    }
}

/// [`condition_tensor_from_onehot`] with a learned embedding and projection.
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::ConditionTensorFromOnehotConfig;
/// let device = Device::default();
/// let layer = ConditionTensorFromOnehotConfig::new(3, 4).with_embedding_size(6).init(&device);
/// let labels = Tensor::<2>::from_floats([[0.0, 0.0, 1.0]], &device);
/// let y = layer.forward(Tensor::<2>::zeros([1, 4], &device), labels).unwrap();
/// assert_eq!(y.dims(), [1, 4]);
/// ```
#[derive(Module, Debug)]
pub struct ConditionTensorFromOnehot {
    /// The label embedding `[num_classes, embedding_size]` (TF-GAN's variable `embedding`).
    pub embedding: Param<Tensor<2>>,
    /// The projection of the embedded labels.
    pub condition: ConditionTensor,
}

impl ConditionTensorFromOnehot {
    /// Adds the projected label embedding to `tensor`; errors on shapes that do not fit.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::ConditionTensorFromOnehotConfig;
    /// let device = Device::default();
    /// let layer = ConditionTensorFromOnehotConfig::new(3, 4).init(&device);
    /// let labels = Tensor::<2>::ones([1, 5], &device);
    /// let err = layer.forward(Tensor::<2>::zeros([1, 4], &device), labels).unwrap_err().to_string();
    /// assert!(err.contains("embedding") && err.contains("one_hot_labels"));
    /// ```
    pub fn forward<const D: usize>(&self, tensor: Tensor<D>, one_hot_labels: Tensor<2>) -> Result<Tensor<D>> {
        let (kernel, bias) = self.condition.kernel_and_bias();
        condition_tensor_from_onehot(tensor, one_hot_labels, self.embedding.val(), kernel, bias)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_both_arguments() {
        let device = Device::default();
        let t = Tensor::<2>::zeros([2, 3], &device);
        let err = condition_tensor(
            t.clone(),
            Tensor::<1>::ones([2], &device),
            Tensor::ones([1, 3], &device),
            Tensor::zeros([3], &device),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`conditioning`") && err.contains("`tensor`") && err.contains("[2, 3]"), "{err}");
        let err = condition_tensor(
            t.clone(),
            Tensor::<2>::ones([3, 1], &device),
            Tensor::ones([1, 3], &device),
            Tensor::zeros([3], &device),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`conditioning`") && err.contains("[3, 1]") && err.contains("[2, 3]"), "{err}");
        let err = condition_tensor(
            t,
            Tensor::<2>::ones([2, 2], &device),
            Tensor::ones([1, 3], &device),
            Tensor::zeros([3], &device),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`kernel`") && err.contains("[2, 3]"), "{err}");
    }

    #[test]
    fn embedding_and_projection_are_trained() {
        let device = Device::default().autodiff();
        let layer = ConditionTensorFromOnehotConfig::new(3, 4).with_embedding_size(5).init(&device);
        let labels = Tensor::<2>::from_floats([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], &device);
        let y = layer.forward(Tensor::<3>::zeros([2, 2, 2], &device), labels).unwrap();
        let grads = y.square().sum().backward();
        let g = layer.embedding.val().grad(&grads).unwrap();
        // Only the rows of the two used classes get a gradient.
        let row_norms = g.abs().sum_dim(1).into_data().try_to_vec::<f32>().unwrap();
        assert!(row_norms[0] > 0.0 && row_norms[1] > 0.0 && row_norms[2] == 0.0, "{row_norms:?}");
        assert!(layer.condition.dense.weight.val().grad(&grads).is_some());
    }
}
