//! Pooling for inference: the forwards of burn's `AvgPool2d` and `MaxPool2d` layers.

use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::prelude::*;

use super::conv::padding_pairs;
#[cfg(feature = "flex")]
use super::kernels::{self, Pool, Window};

/// burn's `nn::pool::AvgPool2d::forward`. For a plain (not autodiff) f32 input on the CPU
/// backend without `ceil_mode`, the window sums are added row by row over each plane, split
/// over the threads by planes (burn's loops are scalar and divide at every output).
///
/// ```
/// use burn::prelude::*;
/// use burn::nn::{PaddingConfig2d, pool::AvgPool2dConfig};
/// let device = Device::default();
/// let pool = AvgPool2dConfig::new([3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).with_count_include_pad(false).init();
/// let x = Tensor::<4>::random([2, 3, 6, 5], burn::tensor::Distribution::Default, &device);
/// let expected = pool.forward(x.clone()).into_data();
/// rgan::ops::avg_pool2d_layer(&pool, x).into_data().assert_approx_eq::<f32>(&expected, burn::tensor::Tolerance::default());
/// ```
pub fn avg_pool2d_layer(layer: &AvgPool2d, input: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if !layer.ceil_mode {
        let kind = if layer.count_include_pad { Pool::MeanOfWindow } else { Pool::MeanOfValid };
        if let Some(window) = pool_window(&input, &layer.padding, layer.kernel_size, layer.stride) {
            return kernels::pool2d(input, window, kind);
        }
    }
    layer.forward(input)
}

/// burn's `nn::pool::MaxPool2d::forward`; like [`avg_pool2d_layer`] for a plain f32 CPU input
/// without dilation or `ceil_mode`.
///
/// ```
/// use burn::prelude::*;
/// use burn::nn::pool::MaxPool2dConfig;
/// let device = Device::default();
/// let pool = MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).init();
/// let x = Tensor::<4>::random([2, 3, 9, 8], burn::tensor::Distribution::Default, &device);
/// let expected = pool.forward(x.clone()).into_data();
/// assert_eq!(rgan::ops::max_pool2d_layer(&pool, x).into_data(), expected);
/// ```
pub fn max_pool2d_layer(layer: &MaxPool2d, input: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if !layer.ceil_mode && layer.dilation == [1, 1] {
        if let Some(window) = pool_window(&input, &layer.padding, layer.kernel_size, layer.stride) {
            return kernels::pool2d(input, window, Pool::Max);
        }
    }
    layer.forward(input)
}

/// The pool's window over this input, or `None` to leave it to burn (autodiff, another device
/// or dtype, a window larger than the padded input).
#[cfg(feature = "flex")]
fn pool_window(
    input: &Tensor<4>,
    padding: &burn::nn::PaddingConfig2d,
    kernel: [usize; 2],
    stride: [usize; 2],
) -> Option<Window> {
    let [_, _, height, width] = input.dims();
    let [(top, bottom), (left, right)] = padding_pairs(padding, [height, width], kernel, stride);
    let (padded_h, padded_w) = (height + top + bottom, width + left + right);
    if !kernels::on_plain_cpu(input) || padded_h < kernel[0] || padded_w < kernel[1] || kernel.contains(&0) {
        return None;
    }
    // A window entirely in the padding has no valid pixel: leave such layers to burn.
    if top >= kernel[0] || left >= kernel[1] || bottom >= kernel[0] || right >= kernel[1] {
        return None;
    }
    Some(Window {
        kernel,
        stride,
        pad: [top, left],
        big: [height, width],
        small: [(padded_h - kernel[0]) / stride[0] + 1, (padded_w - kernel[1]) / stride[1] + 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::PaddingConfig2d;
    use burn::nn::pool::{AvgPool2dConfig, MaxPool2dConfig};
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn pools_match_burn() {
        let device = Device::default();
        let x = Tensor::<4>::random([3, 4, 11, 9], Distribution::Normal(0.0, 1.0), &device);
        for (kernel, stride, padding) in [
            ([3, 3], [1, 1], PaddingConfig2d::Explicit(1, 1, 1, 1)),
            ([3, 3], [2, 2], PaddingConfig2d::Valid),
            ([2, 3], [2, 1], PaddingConfig2d::Explicit(1, 0, 0, 2)),
            ([3, 3], [2, 2], PaddingConfig2d::Same),
        ] {
            for include in [false, true] {
                let pool = AvgPool2dConfig::new(kernel)
                    .with_strides(stride)
                    .with_padding(padding.clone())
                    .with_count_include_pad(include)
                    .init();
                let expected = pool.forward(x.clone()).into_data();
                avg_pool2d_layer(&pool, x.clone()).into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
            }
            let pool = MaxPool2dConfig::new(kernel).with_strides(stride).with_padding(padding).init();
            assert_eq!(max_pool2d_layer(&pool, x.clone()).into_data(), pool.forward(x.clone()).into_data());
        }
    }
}
