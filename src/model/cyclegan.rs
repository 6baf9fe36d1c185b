//! TF-GAN's CycleGAN model (`cyclegan_model`, `CycleGANModel`; Zhu et al. 2017): two GAN models,
//! X→Y and Y→X, each generator translating images of one domain into the other, and the
//! reconstructions `G_y2x(G_x2y(x))` and `G_x2y(G_y2x(y))`.

use burn::prelude::*;

use super::gan::{GanDiscriminator, GanGenerator, GanModel, GanOutputs};
use crate::error::{Result, RganError};

/// The four networks of a CycleGAN: `model_x2y` (its generator maps X to Y, its discriminator
/// tells real Y from generated Y) and `model_y2x`.
#[derive(Clone, Debug)]
pub struct CycleGanModel<G, D> {
    /// The X→Y generator and the discriminator of domain Y.
    pub model_x2y: GanModel<G, D>,
    /// The Y→X generator and the discriminator of domain X.
    pub model_y2x: GanModel<G, D>,
}

/// A CycleGAN run on one batch of each domain (TF-GAN's `CycleGANModel` tuple, eager).
#[derive(Clone, Debug)]
pub struct CycleGanOutputs {
    /// X→Y: `generator_inputs` is `data_x`, `real_data` is `data_y`.
    pub model_x2y: GanOutputs<Tensor<4>>,
    /// Y→X: `generator_inputs` is `data_y`, `real_data` is `data_x`.
    pub model_y2x: GanOutputs<Tensor<4>>,
    /// `G_y2x(G_x2y(data_x))`.
    pub reconstructed_x: Tensor<4>,
    /// `G_x2y(G_y2x(data_y))`.
    pub reconstructed_y: Tensor<4>,
}

/// TF-GAN's `cyclegan_model`: both GAN models on `data_x` and `data_y` (`[batch, C, H, W]`
/// each), and the reconstructions. Errors, as TF-GAN's `check_shapes`, when the two batches or a
/// generator's output and its target domain differ in shape.
///
/// ```
/// use burn::nn::conv::{Conv2d, Conv2dConfig};
/// use burn::prelude::*;
/// use rgan::model::{CycleGanModel, DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, cyclegan_model};
///
/// #[derive(Module, Debug)]
/// struct Pixel { conv: Conv2d }
/// impl GanGenerator<Tensor<4>> for Pixel {
///     fn generate(&self, x: &Tensor<4>) -> rgan::Result<Tensor<4>> { Ok(self.conv.forward(x.clone()).tanh()) }
/// }
/// impl GanDiscriminator<Tensor<4>> for Pixel {
///     fn discriminate(&self, x: Tensor<4>, _: &Tensor<4>) -> rgan::Result<DiscriminatorOutput> {
///         let [n, _, h, w] = x.dims();
///         Ok(DiscriminatorOutput::logits(self.conv.forward(x).slice([0..n, 0..1]).reshape([n, h * w])))
///     }
/// }
/// let device = Device::default();
/// let net = || Pixel { conv: Conv2dConfig::new([3, 3], [1, 1]).init(&device) };
/// let model = CycleGanModel {
///     model_x2y: GanModel { generator: net(), discriminator: net() },
///     model_y2x: GanModel { generator: net(), discriminator: net() },
/// };
/// let out = cyclegan_model(&model, Tensor::zeros([2, 3, 4, 4], &device), Tensor::ones([2, 3, 4, 4], &device)).unwrap();
/// assert_eq!(out.reconstructed_x.dims(), [2, 3, 4, 4]);
/// assert_eq!(out.model_x2y.discriminator_real_outputs.logits.dims(), [2, 16]);
/// ```
pub fn cyclegan_model<G, D>(
    model: &CycleGanModel<G, D>,
    data_x: Tensor<4>,
    data_y: Tensor<4>,
) -> Result<CycleGanOutputs>
where
    G: GanGenerator<Tensor<4>>,
    D: GanDiscriminator<Tensor<4>>,
{
    let (x, y) = (data_x.dims(), data_y.dims());
    if x != y {
        return Err(RganError::shape("data_y", &y, format!("but data_x has shape {x:?}; they must be equal")));
    }
    let model_x2y = model.model_x2y.run(data_y.clone(), data_x.clone())?;
    let model_y2x = model.model_y2x.run(data_x, data_y)?;
    let reconstructed_x = model.model_y2x.generator.generate(&model_x2y.generated_data)?;
    let reconstructed_y = model.model_x2y.generator.generate(&model_y2x.generated_data)?;
    Ok(CycleGanOutputs { model_x2y, model_y2x, reconstructed_x, reconstructed_y })
}
