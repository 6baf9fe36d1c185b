//! 2-D convolutions and transposed convolutions: [`conv2d`], [`conv_transpose2d`] and the
//! forwards of burn's layers, [`conv2d_layer`] and [`conv_transpose2d_layer`].

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::module;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};

#[cfg(feature = "flex")]
use super::kernels::{self, Window};

/// burn's `module::conv2d` (NCHW input, weight `[out, in, kh, kw]`, padding pairs), equal up to
/// float rounding. On the CPU (flex) backend in f32, with one group and no dilation, it is an
/// im2col product per image, split over the threads by images, and its backward (input gradient
/// as a transposed convolution, weight gradient as one product per image) uses the same kernels.
///
/// Panics where burn's would: channel counts that differ, or a kernel larger than the padded
/// input.
///
/// ```
/// use burn::prelude::*;
/// use burn::tensor::ops::ConvOptions;
/// let device = Device::default();
/// let x = Tensor::<4>::ones([1, 1, 3, 3], &device);
/// let w = Tensor::<4>::ones([2, 1, 2, 2], &device);
/// let y = rgan::ops::conv2d(x, w, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1));
/// assert_eq!(y.dims(), [1, 2, 2, 2]);
/// assert_eq!(y.into_data().to_vec::<f32>().unwrap(), vec![4.0; 8]);
/// ```
pub fn conv2d(input: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, options: ConvOptions<2>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if let Some(window) = conv_window(&input, &weight, &options) {
        return with_bias(kernels::conv2d(input, weight, window), bias);
    }
    module::conv2d(input, weight, bias, options)
}

/// burn's `module::conv_transpose2d` (NCHW input, weight `[in, out, kh, kw]`), equal up to float
/// rounding; on the CPU backend in f32, with one group and no dilation, it is the adjoint of
/// [`conv2d`]'s product (a product per image, then col2im), and so is its backward.
///
/// ```
/// use burn::prelude::*;
/// use burn::tensor::ops::ConvTransposeOptions;
/// let device = Device::default();
/// let x = Tensor::<4>::ones([1, 1, 2, 2], &device);
/// let w = Tensor::<4>::ones([1, 1, 2, 2], &device);
/// let y = rgan::ops::conv_transpose2d(x, w, None, ConvTransposeOptions::new([2, 2], [0, 0], [0, 0], [1, 1], 1));
/// assert_eq!(y.dims(), [1, 1, 4, 4]);
/// assert_eq!(y.into_data().to_vec::<f32>().unwrap(), vec![1.0; 16]);
/// ```
pub fn conv_transpose2d(
    input: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvTransposeOptions<2>,
) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if let Some(window) = conv_transpose_window(&input, &weight, &options) {
        return with_bias(kernels::conv_transpose2d(input, weight, window), bias);
    }
    module::conv_transpose2d(input, weight, bias, options)
}

/// The input gradient of a [`conv2d`] (stride `stride`, padding pairs `padding`, one group, no
/// dilation) whose input was `[.., .., height, width]`: the transposed convolution of
/// `output_gradient` with the same weight, cropped to the input. Differentiable in both
/// arguments, which is what exact gradient penalties need.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let g = Tensor::<4>::ones([1, 2, 2, 2], &device);
/// let w = Tensor::<4>::ones([2, 1, 2, 2], &device);
/// let dx = rgan::ops::conv2d_input_gradient(g, w, [1, 1], [(0, 0), (0, 0)], [3, 3]);
/// assert_eq!(dx.into_data().to_vec::<f32>().unwrap(), vec![2.0, 4.0, 2.0, 4.0, 8.0, 4.0, 2.0, 4.0, 2.0]);
/// ```
pub fn conv2d_input_gradient(
    output_gradient: Tensor<4>,
    weight: Tensor<4>,
    stride: [usize; 2],
    padding: [(usize, usize); 2],
    [height, width]: [usize; 2],
) -> Tensor<4> {
    let [_, _, kh, kw] = weight.dims();
    #[cfg(feature = "flex")]
    {
        let [_, channels, small_h, small_w] = output_gradient.dims();
        if kernels::on_cpu(&output_gradient) && kernels::on_cpu(&weight) && weight.dims()[0] == channels {
            let window = Window {
                kernel: [kh, kw],
                stride,
                pad: [padding[0].0, padding[1].0],
                big: [height, width],
                small: [small_h, small_w],
            };
            return kernels::conv_transpose2d(output_gradient, weight, window);
        }
    }
    let padded = [height + padding[0].0 + padding[0].1, width + padding[1].0 + padding[1].1];
    let padding_out = [(padded[0] - kh) % stride[0], (padded[1] - kw) % stride[1]];
    let full = module::conv_transpose2d(
        output_gradient,
        weight,
        None,
        ConvTransposeOptions::new(stride, [0, 0], padding_out, [1, 1], 1),
    );
    let [b, c, _, _] = full.dims();
    full.slice([0..b, 0..c, padding[0].0..padding[0].0 + height, padding[1].0..padding[1].0 + width])
}

/// burn's `nn::conv::Conv2d::forward` (its padding, `Same` included), through [`conv2d`].
///
/// ```
/// use burn::prelude::*;
/// use burn::nn::{PaddingConfig2d, conv::Conv2dConfig};
/// let device = Device::default();
/// let layer = Conv2dConfig::new([2, 3], [4, 4]).with_padding(PaddingConfig2d::Same).init(&device);
/// let x = Tensor::<4>::ones([2, 2, 6, 6], &device);
/// let expected = layer.forward(x.clone()).into_data();
/// let y = rgan::ops::conv2d_layer(&layer, x);
/// y.into_data().assert_approx_eq::<f32>(&expected, burn::tensor::Tolerance::default());
/// ```
pub fn conv2d_layer(layer: &Conv2d, input: Tensor<4>) -> Tensor<4> {
    let options = layer_options(layer, &input);
    conv2d(input, layer.weight.val(), layer.bias.as_ref().map(|b| b.val()), options)
}

/// `relu(batch_norm(conv(input)))` with the batch norm's moving averages (inference), for a
/// plain (not autodiff) input: on the CPU backend in f32 the batch norm and the ReLU are applied
/// to each image's output as the convolution writes it. Elsewhere it is burn's three operations.
///
/// ```
/// use burn::prelude::*;
/// use burn::nn::{BatchNormConfig, conv::Conv2dConfig};
/// let device = Device::default();
/// let conv = Conv2dConfig::new([2, 3], [3, 3]).init(&device);
/// let bn = BatchNormConfig::new(3).init(&device);
/// let x = Tensor::<4>::random([2, 2, 5, 5], burn::tensor::Distribution::Default, &device);
/// let expected = burn::tensor::activation::relu(bn.forward(conv.forward(x.clone())));
/// let y = rgan::ops::conv2d_batch_norm_relu(&conv, &bn, x);
/// y.into_data().assert_approx_eq::<f32>(&expected.into_data(), burn::tensor::Tolerance::default());
/// ```
pub fn conv2d_batch_norm_relu(layer: &Conv2d, bn: &BatchNorm, input: Tensor<4>) -> Tensor<4> {
    let options = layer_options(layer, &input);
    #[cfg(feature = "flex")]
    if kernels::on_plain_cpu(&input) {
        let weight = layer.weight.val();
        if let Some(window) = conv_window(&input, &weight, &options) {
            let inv_std = bn.running_var.value().add_scalar(bn.epsilon).sqrt().recip();
            let scale = bn.gamma.val().mul(inv_std);
            let offset = match &layer.bias {
                Some(bias) => bias.val().sub(bn.running_mean.value()),
                None => bn.running_mean.value().neg(),
            };
            let shift = bn.beta.val().add(offset.mul(scale.clone()));
            return kernels::conv2d_affine_relu(input, weight, scale, shift, window);
        }
    }
    let x = conv2d(input, layer.weight.val(), layer.bias.as_ref().map(|b| b.val()), options);
    let x = module::batch_norm(
        x,
        bn.gamma.val(),
        bn.beta.val(),
        bn.running_mean.value(),
        bn.running_var.value(),
        bn.epsilon,
    );
    burn::tensor::activation::relu(x)
}

/// The options of a burn conv layer for this input (its padding resolved, `Same` included).
fn layer_options(layer: &Conv2d, input: &Tensor<4>) -> ConvOptions<2> {
    let [_, _, height, width] = input.dims();
    let pairs = padding_pairs(&layer.padding, [height, width], layer.kernel_size, layer.stride);
    ConvOptions::new_with_padding(layer.stride, pairs, layer.dilation, layer.groups)
}

/// A burn padding setting as `(before, after)` pairs for an input of `[height, width]`.
pub(super) fn padding_pairs(
    padding: &PaddingConfig2d,
    [height, width]: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> [(usize, usize); 2] {
    match *padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Same => {
            [same_padding(height, kernel[0], stride[0]), same_padding(width, kernel[1], stride[1])]
        }
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
    }
}

/// burn's `nn::conv::ConvTranspose2d::forward`, through [`conv_transpose2d`].
///
/// ```
/// use burn::prelude::*;
/// use burn::nn::conv::ConvTranspose2dConfig;
/// let device = Device::default();
/// let layer = ConvTranspose2dConfig::new([3, 2], [4, 4]).with_stride([2, 2]).with_padding([1, 1]).init(&device);
/// let x = Tensor::<4>::ones([2, 3, 5, 5], &device);
/// let expected = layer.forward(x.clone()).into_data();
/// let y = rgan::ops::conv_transpose2d_layer(&layer, x);
/// y.into_data().assert_approx_eq::<f32>(&expected, burn::tensor::Tolerance::default());
/// ```
pub fn conv_transpose2d_layer(layer: &ConvTranspose2d, input: Tensor<4>) -> Tensor<4> {
    let options =
        ConvTransposeOptions::new(layer.stride, layer.padding, layer.padding_out, layer.dilation, layer.groups);
    conv_transpose2d(input, layer.weight.val(), layer.bias.as_ref().map(|b| b.val()), options)
}

/// burn's `Same` padding `(before, after)` of one axis (it leaves dilation out, and so does this).
fn same_padding(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = if out > 0 { ((out - 1) * stride + kernel).saturating_sub(size) } else { 0 };
    (total / 2, total - total / 2)
}

/// `out + bias` per channel: one pass each way over the threads on the CPU backend (burn's
/// broadcast addition and its reduction for the bias's gradient run on one thread).
#[cfg(feature = "flex")]
fn with_bias(out: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    match bias {
        Some(bias) if kernels::on_cpu(&bias) && bias.dims()[0] == out.dims()[1] => kernels::channel_bias(out, bias),
        Some(bias) => {
            let channels = bias.dims()[0];
            out.add(bias.reshape([1, channels, 1, 1]))
        }
        None => out,
    }
}

/// The window of a convolution the kernels compute, or `None` to leave it to burn (another
/// device or dtype, groups, dilation, or shapes burn would reject).
#[cfg(feature = "flex")]
fn conv_window(input: &Tensor<4>, weight: &Tensor<4>, options: &ConvOptions<2>) -> Option<Window> {
    let [_, channels, height, width] = input.dims();
    let [_, weight_channels, kh, kw] = weight.dims();
    if !kernels::on_cpu(input) || !kernels::on_cpu(weight) || options.groups != 1 || options.dilation != [1, 1] {
        return None;
    }
    let [(top, bottom), (left, right)] = options.padding;
    let (padded_h, padded_w) = (height + top + bottom, width + left + right);
    if channels != weight_channels || kh == 0 || kw == 0 || padded_h < kh || padded_w < kw {
        return None;
    }
    let [sh, sw] = options.stride;
    Some(Window {
        kernel: [kh, kw],
        stride: [sh, sw],
        pad: [top, left],
        big: [height, width],
        small: [(padded_h - kh) / sh + 1, (padded_w - kw) / sw + 1],
    })
}

/// The window of a transposed convolution the kernels compute (output size by burn's formula),
/// or `None` to leave it to burn.
#[cfg(feature = "flex")]
fn conv_transpose_window(input: &Tensor<4>, weight: &Tensor<4>, options: &ConvTransposeOptions<2>) -> Option<Window> {
    let [_, channels, height, width] = input.dims();
    let [weight_channels, _, kh, kw] = weight.dims();
    if !kernels::on_cpu(input) || !kernels::on_cpu(weight) || options.groups != 1 || options.dilation != [1, 1] {
        return None;
    }
    if channels != weight_channels || kh == 0 || kw == 0 || height == 0 || width == 0 {
        return None;
    }
    let [sh, sw] = options.stride;
    let [ph, pw] = options.padding;
    let big = |size: usize, s: usize, k: usize, p: usize, out: usize| ((size - 1) * s + k + out).checked_sub(2 * p);
    let (Some(big_h), Some(big_w)) =
        (big(height, sh, kh, ph, options.padding_out[0]), big(width, sw, kw, pw, options.padding_out[1]))
    else {
        return None;
    };
    Some(Window { kernel: [kh, kw], stride: [sh, sw], pad: [ph, pw], big: [big_h, big_w], small: [height, width] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData, Tolerance};

    fn random(dims: [usize; 4], device: &Device) -> Tensor<4> {
        Tensor::random(dims, Distribution::Normal(0.0, 1.0), device)
    }

    /// `ours` and `theirs` (both on autodiff) have the same values, and the same gradients in
    /// `maps` and `bias` for a random output gradient.
    fn assert_same_values_and_gradients(ours: Tensor<4>, theirs: Tensor<4>, maps: [&Tensor<4>; 2], bias: &Tensor<1>) {
        assert_eq!(ours.dims(), theirs.dims());
        let close = |a: TensorData, b: TensorData| a.assert_approx_eq::<f32>(&b, Tolerance::default());
        close(ours.clone().inner().into_data(), theirs.clone().inner().into_data());
        let g = random(ours.dims(), &ours.device());
        let ours = ours.mul(g.clone()).sum().backward();
        let theirs = theirs.mul(g).sum().backward();
        for t in maps {
            close(t.grad(&ours).unwrap().into_data(), t.grad(&theirs).unwrap().into_data());
        }
        close(bias.grad(&ours).unwrap().into_data(), bias.grad(&theirs).unwrap().into_data());
    }

    /// (input, weight, stride, padding pairs) of convolutions: the MNIST networks' layers at a
    /// small batch, and odd shapes.
    fn conv_cases() -> Vec<([usize; 4], [usize; 4], [usize; 2], [(usize, usize); 2])> {
        vec![
            ([3, 1, 28, 28], [4, 1, 4, 4], [2, 2], [(1, 1), (1, 1)]),
            ([3, 5, 14, 14], [6, 5, 4, 4], [2, 2], [(1, 1), (1, 1)]),
            ([2, 4, 12, 12], [1, 4, 4, 4], [1, 1], [(1, 2), (1, 2)]),
            ([2, 3, 7, 9], [2, 3, 3, 2], [2, 3], [(0, 2), (1, 0)]),
        ]
    }

    #[test]
    fn conv2d_matches_burn_with_gradients() {
        let device = Device::default().autodiff();
        for (xs, ws, stride, padding) in conv_cases() {
            let options = ConvOptions::new_with_padding(stride, padding, [1, 1], 1);
            let x = random(xs, &device).require_grad();
            let w = random(ws, &device).require_grad();
            let b = Tensor::<1>::random([ws[0]], Distribution::Default, &device).require_grad();
            let ours = conv2d(x.clone(), w.clone(), Some(b.clone()), options.clone());
            let theirs = module::conv2d(x.clone(), w.clone(), Some(b.clone()), options);
            assert_same_values_and_gradients(ours, theirs, [&x, &w], &b);
        }
    }

    #[test]
    fn conv_transpose2d_matches_burn_with_gradients() {
        let device = Device::default().autodiff();
        // (input, weight [in, out, kh, kw], stride, padding, padding_out)
        let cases = [
            ([3, 6, 7, 7], [6, 4, 4, 4], [2, 2], [1, 1], [0, 0]),
            ([2, 4, 14, 14], [4, 3, 4, 4], [2, 2], [1, 1], [0, 0]),
            ([2, 3, 5, 4], [3, 2, 3, 2], [2, 3], [1, 0], [1, 2]),
            ([1, 2, 3, 3], [2, 2, 3, 3], [1, 1], [0, 0], [0, 0]),
        ];
        for (xs, ws, stride, padding, padding_out) in cases {
            let options = ConvTransposeOptions::new(stride, padding, padding_out, [1, 1], 1);
            let x = random(xs, &device).require_grad();
            let w = random(ws, &device).require_grad();
            let b = Tensor::<1>::random([ws[1]], Distribution::Default, &device).require_grad();
            let ours = conv_transpose2d(x.clone(), w.clone(), Some(b.clone()), options.clone());
            let theirs = module::conv_transpose2d(x.clone(), w.clone(), Some(b.clone()), options);
            assert_same_values_and_gradients(ours, theirs, [&x, &w], &b);
        }
    }

    #[test]
    fn input_gradient_is_the_autodiff_gradient() {
        let device = Device::default().autodiff();
        for (xs, ws, stride, padding) in conv_cases() {
            let x = random(xs, &device).require_grad();
            let w = random(ws, &device);
            let options = ConvOptions::new_with_padding(stride, padding, [1, 1], 1);
            let y = module::conv2d(x.clone(), w.clone(), None, options);
            let g = random(y.dims(), &device);
            let expected = x.grad(&y.mul(g.clone()).sum().backward()).unwrap();
            let ours = conv2d_input_gradient(g.inner(), w.inner(), stride, padding, [xs[2], xs[3]]);
            ours.into_data().assert_approx_eq::<f32>(&expected.into_data(), Tolerance::default());
        }
    }

    /// The tests above compare the kernels, not burn with itself.
    #[test]
    fn the_default_device_takes_the_kernels() {
        for device in [Device::default(), Device::default().autodiff()] {
            let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
            let window = conv_window(&random([1, 2, 3, 3], &device), &random([1, 2, 2, 2], &device), &options);
            assert_eq!(window.map(|w| w.small), Some([2, 2]));
        }
    }

    #[test]
    fn views_and_no_bias() {
        let device = Device::default();
        let x = random([2, 6, 9, 9], &device).permute([0, 1, 3, 2]);
        let w = random([3, 6, 3, 3], &device);
        let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let expected = module::conv2d(x.clone(), w.clone(), None, options.clone()).into_data();
        conv2d(x, w, None, options).into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
    }
}
