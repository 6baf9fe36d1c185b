//! The CPU kernels as a burn backend extension: computed on flex, recorded with their backward
//! passes on autodiff.

mod gemm;
mod norm;
mod simd;
mod skinny;
mod window;

use burn::backend::AutodiffBackend;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, binary, unary};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};

use gemm::Matrix;
pub(crate) use simd::vectorized;

/// The instruction set the kernels run with: `avx512`, `avx2` or `default`.
pub(crate) fn capability() -> &'static str {
    match simd::detected() {
        simd::Isa::Avx512 => "avx512",
        simd::Isa::Avx2 => "avx2",
        simd::Isa::None => "default",
    }
}
pub(crate) use window::{Pool, Window};

/// rgan's CPU kernels as a burn backend extension.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait CpuKernels: Backend {
    /// `lhs @ rhs` for rank-2 tensors.
    fn matmul_2d(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Convolution of `input` `[batch, in, big…]` with `weight` `[out, in, kh, kw]`.
    fn conv2d_nchw(input: FloatTensor<Self>, weight: FloatTensor<Self>, window: Window) -> FloatTensor<Self>;
    /// Transposed convolution of `input` `[batch, in, small…]` with `weight` `[in, out, kh, kw]`.
    fn conv_transpose2d_nchw(input: FloatTensor<Self>, weight: FloatTensor<Self>, window: Window) -> FloatTensor<Self>;
    /// `Σ_b small[b] @ im2col(big[b])ᵀ` as `[small channels, big channels, kh, kw]`: the weight
    /// gradient of a convolution (big = its input, small = its output gradient) and of a
    /// transposed one (big = its output gradient, small = its input). Not differentiable.
    fn conv2d_weight_grad(big: FloatTensor<Self>, small: FloatTensor<Self>, window: Window) -> FloatTensor<Self>;
    /// Batch norm of `x` `[batch, channels, …]` with the batch's statistics, then the activation
    /// of negative slope `slope` (`None`: none): the output, the mean and the biased variance.
    fn batch_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        slope: Option<f32>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
    /// The gradients of [`batch_norm_act`](Self::batch_norm_act) in `x`, `gamma` and `beta`.
    /// Not differentiable.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_act_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        epsilon: f64,
        slope: Option<f32>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
    /// Pools each `[H, W]` plane of `input` `[N, C, H, W]` over the window. Forward only: on
    /// autodiff the result is a constant.
    fn pool2d_planes(input: FloatTensor<Self>, window: Window, kind: Pool) -> FloatTensor<Self>;
    /// `max(0, conv2d(input, weight) · scale + shift)` per output channel. Forward only: on
    /// autodiff the result is a constant.
    fn conv2d_affine_relu(
        input: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        window: Window,
    ) -> FloatTensor<Self>;
    /// `(x @ w) / σ` from the product `xw = x @ w` (a constant), with `σ = uᵀ w v` given as
    /// `sigma` `[1, 1]` (`u` `[rows, 1]` and `v` `[cols, 1]` constants): a spectrally normalized
    /// product, differentiable in `x` and `w`, whose weight gradient folds the rank-one term
    /// through `σ` into the product's own gradient.
    fn spectral_matmul_product(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        u: FloatTensor<Self>,
        v: FloatTensor<Self>,
        sigma: FloatTensor<Self>,
        xw: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
    /// `x + bias` with `bias` `[channels]` broadcast over `x` `[batch, channels, …]`.
    fn channel_bias(x: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self>;
    /// The per-channel sum of `grad` `[batch, channels, …]`: the bias's gradient. Not
    /// differentiable.
    fn channel_bias_backward(grad: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `g` where `x > 0` and `slope · g` where `x ≤ 0`; differentiable in `g` only (the mask is
    /// constant).
    fn scale_nonpositive(g: FloatTensor<Self>, x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self>;
    /// A leaky ReLU of negative slope `slope`.
    fn leaky_relu_act(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self>;
    /// The leaky ReLU's input gradient. Not differentiable.
    fn leaky_relu_act_backward(x: FloatTensor<Self>, output_grad: FloatTensor<Self>, slope: f32) -> FloatTensor<Self>;
}

/// Whether `tensor` is f32 on the CPU device (plain or autodiff).
pub(super) fn on_cpu<const D: usize>(tensor: &Tensor<D>) -> bool {
    let cpu = Device::flex();
    let device = tensor.device();
    tensor.dtype() == DType::F32 && (device == cpu || device == cpu.autodiff())
}

pub(super) fn matmul(lhs: Tensor<2>, rhs: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::matmul_2d(lhs.into_dispatch(), rhs.into_dispatch()))
}

pub(super) fn conv2d(input: Tensor<4>, weight: Tensor<4>, window: Window) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::conv2d_nchw(input.into_dispatch(), weight.into_dispatch(), window))
}

pub(super) fn conv_transpose2d(input: Tensor<4>, weight: Tensor<4>, window: Window) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::conv_transpose2d_nchw(
        input.into_dispatch(),
        weight.into_dispatch(),
        window,
    ))
}

pub(super) fn batch_norm_act<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
    slope: Option<f32>,
) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    let (out, mean, var) = <Dispatch as CpuKernels>::batch_norm_act(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
        slope,
    );
    (Tensor::from_dispatch(out), Tensor::from_dispatch(mean), Tensor::from_dispatch(var))
}

pub(super) fn channel_bias<const D: usize>(x: Tensor<D>, bias: Tensor<1>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::channel_bias(x.into_dispatch(), bias.into_dispatch()))
}

pub(super) fn scale_nonpositive<const D: usize>(g: Tensor<D>, x: Tensor<D>, slope: f32) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::scale_nonpositive(g.into_dispatch(), x.into_dispatch(), slope))
}

pub(super) fn leaky_relu<const D: usize>(x: Tensor<D>, slope: f32) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::leaky_relu_act(x.into_dispatch(), slope))
}

/// Whether `tensor` is f32 on the plain CPU device (no autodiff): the inference-only kernels.
pub(super) fn on_plain_cpu<const D: usize>(tensor: &Tensor<D>) -> bool {
    tensor.dtype() == DType::F32 && tensor.device() == Device::flex()
}

/// Pools each `[H, W]` plane of a plain CPU tensor `[N, C, H, W]` (forward only).
pub(super) fn pool2d(input: Tensor<4>, window: Window, kind: Pool) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::pool2d_planes(input.into_dispatch(), window, kind))
}

/// `max(0, conv2d(input, weight) · scale + shift)` per output channel, on plain CPU tensors
/// (forward only): a convolution with an inference batch norm and a ReLU folded in.
pub(super) fn conv2d_affine_relu(
    input: Tensor<4>,
    weight: Tensor<4>,
    scale: Tensor<1>,
    shift: Tensor<1>,
    window: Window,
) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::conv2d_affine_relu(
        input.into_dispatch(),
        weight.into_dispatch(),
        scale.into_dispatch(),
        shift.into_dispatch(),
        window,
    ))
}

pub(super) fn spectral_matmul(x: Tensor<2>, w: Tensor<2>, u: Tensor<2>, v: Tensor<2>, sigma: Tensor<2>) -> Tensor<2> {
    let xw = matmul(x.clone().detach(), w.clone().detach());
    spectral_matmul_product(x, w, u, v, sigma, xw)
}

pub(super) fn spectral_matmul_product(
    x: Tensor<2>,
    w: Tensor<2>,
    u: Tensor<2>,
    v: Tensor<2>,
    sigma: Tensor<2>,
    xw: Tensor<2>,
) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as CpuKernels>::spectral_matmul_product(
        x.into_dispatch(),
        w.into_dispatch(),
        u.into_dispatch(),
        v.into_dispatch(),
        sigma.into_dispatch(),
        xw.into_dispatch(),
    ))
}

/// A flex tensor's view as a strided matrix (rank 2).
fn matrix(t: &FloatTensor<Flex>) -> Matrix {
    let layout = t.layout();
    let storage = t.storage::<f32>();
    let start = layout.start_offset();
    assert!(start <= storage.len(), "a view starts past its storage");
    let strides = layout.strides();
    // SAFETY: `start` is within the storage (checked above); flex keeps a view's strides and
    // shape inside its storage.
    Matrix { ptr: unsafe { storage.as_ptr().add(start) }, row_stride: strides[0], col_stride: strides[1] }
}

/// A flex tensor's values in row-major order, copied only when the view is not contiguous.
fn contiguous(t: FloatTensor<Flex>) -> FloatTensor<Flex> {
    if t.layout().is_contiguous() { t } else { t.to_contiguous() }
}

fn values(t: &FloatTensor<Flex>) -> &[f32] {
    let start = t.layout().start_offset();
    &t.storage::<f32>()[start..start + t.layout().num_elements()]
}

fn flex_tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FloatTensor<Flex> {
    Flex::float_from_data(TensorData::new(values, shape), &Default::default())
}

fn norm_layout(t: &FloatTensor<Flex>) -> norm::Layout {
    let shape = t.layout().shape();
    let (batch, channels) = (shape[0], shape[1]);
    norm::Layout { batch, channels, spatial: shape.num_elements() / (batch * channels).max(1) }
}

fn dims4(t: &FloatTensor<Flex>) -> [usize; 4] {
    let shape = t.layout().shape();
    [shape[0], shape[1], shape[2], shape[3]]
}

impl CpuKernels for Flex {
    fn matmul_2d(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        if lhs.dtype() != DType::F32 || rhs.dtype() != DType::F32 || lhs.layout().num_dims() != 2 {
            return Flex::float_matmul(lhs, rhs);
        }
        let [m, k] = [lhs.layout().shape()[0], lhs.layout().shape()[1]];
        let n = rhs.layout().shape()[1];
        let out = gemm::product(m, n, k, matrix(&lhs), matrix(&rhs));
        flex_tensor(out, [m, n])
    }

    fn conv2d_nchw(input: FloatTensor<Self>, weight: FloatTensor<Self>, window: Window) -> FloatTensor<Self> {
        let (input, weight) = (contiguous(input), contiguous(weight));
        let [batch, big_channels, ..] = dims4(&input);
        let small_channels = dims4(&weight)[0];
        let out = window::lower(values(&input), batch, big_channels, values(&weight), small_channels, &window, None);
        flex_tensor(out, [batch, small_channels, window.small[0], window.small[1]])
    }

    fn conv_transpose2d_nchw(input: FloatTensor<Self>, weight: FloatTensor<Self>, window: Window) -> FloatTensor<Self> {
        let (input, weight) = (contiguous(input), contiguous(weight));
        let [batch, small_channels, ..] = dims4(&input);
        let big_channels = dims4(&weight)[1];
        let out = window::raise(values(&input), batch, small_channels, values(&weight), big_channels, &window);
        flex_tensor(out, [batch, big_channels, window.big[0], window.big[1]])
    }

    fn conv2d_weight_grad(big: FloatTensor<Self>, small: FloatTensor<Self>, window: Window) -> FloatTensor<Self> {
        let (big, small) = (contiguous(big), contiguous(small));
        let [batch, big_channels, ..] = dims4(&big);
        let small_channels = dims4(&small)[1];
        let out = window::weight_grad(values(&big), values(&small), batch, big_channels, small_channels, &window);
        flex_tensor(out, [small_channels, big_channels, window.kernel[0], window.kernel[1]])
    }

    fn batch_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        slope: Option<f32>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (x, gamma, beta) = (contiguous(x), contiguous(gamma), contiguous(beta));
        let layout = norm_layout(&x);
        let (out, mean, var) =
            norm::batch_norm_forward(values(&x), layout, values(&gamma), values(&beta), epsilon, slope);
        let channels = layout.channels;
        (flex_tensor(out, x.layout().shape().clone()), flex_tensor(mean, [channels]), flex_tensor(var, [channels]))
    }

    fn batch_norm_act_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        epsilon: f64,
        slope: Option<f32>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let [x, gamma, beta, mean, variance, output_grad] =
            [x, gamma, beta, mean, variance, output_grad].map(contiguous);
        let layout = norm_layout(&x);
        let (dx, gamma_grad, beta_grad) = norm::batch_norm_backward(
            values(&x),
            values(&output_grad),
            layout,
            values(&gamma),
            values(&beta),
            values(&mean),
            values(&variance),
            epsilon,
            slope,
        );
        let channels = layout.channels;
        (
            flex_tensor(dx, x.layout().shape().clone()),
            flex_tensor(gamma_grad, [channels]),
            flex_tensor(beta_grad, [channels]),
        )
    }

    fn pool2d_planes(input: FloatTensor<Self>, window: Window, kind: Pool) -> FloatTensor<Self> {
        let input = contiguous(input);
        let [n, c, ..] = dims4(&input);
        let out = window::pool(values(&input), n * c, &window, kind);
        flex_tensor(out, [n, c, window.small[0], window.small[1]])
    }

    fn conv2d_affine_relu(
        input: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        window: Window,
    ) -> FloatTensor<Self> {
        let [input, weight, scale, shift] = [input, weight, scale, shift].map(contiguous);
        let [batch, big_channels, ..] = dims4(&input);
        let small_channels = dims4(&weight)[0];
        let affine = window::Affine { scale: values(&scale), shift: values(&shift) };
        let out =
            window::lower(values(&input), batch, big_channels, values(&weight), small_channels, &window, Some(affine));
        flex_tensor(out, [batch, small_channels, window.small[0], window.small[1]])
    }

    fn spectral_matmul_product(
        _x: FloatTensor<Self>,
        _w: FloatTensor<Self>,
        _u: FloatTensor<Self>,
        _v: FloatTensor<Self>,
        sigma: FloatTensor<Self>,
        xw: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Flex::float_div(xw, sigma)
    }

    fn channel_bias(x: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        let (x, bias) = (contiguous(x), contiguous(bias));
        flex_tensor(norm::bias_forward(values(&x), norm_layout(&x), values(&bias)), x.layout().shape().clone())
    }

    fn channel_bias_backward(grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let grad = contiguous(grad);
        let layout = norm_layout(&grad);
        flex_tensor(norm::bias_backward(values(&grad), layout), [layout.channels])
    }

    fn scale_nonpositive(g: FloatTensor<Self>, x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        let (g, x) = (contiguous(g), contiguous(x));
        flex_tensor(norm::scale_nonpositive(values(&g), values(&x), slope), g.layout().shape().clone())
    }

    fn leaky_relu_act(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        let x = contiguous(x);
        flex_tensor(norm::leaky_relu_forward(values(&x), slope), x.layout().shape().clone())
    }

    fn leaky_relu_act_backward(x: FloatTensor<Self>, output_grad: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        let (x, output_grad) = (contiguous(x), contiguous(output_grad));
        flex_tensor(norm::leaky_relu_backward(values(&x), values(&output_grad), slope), x.layout().shape().clone())
    }
}

/// A two-input operation's backward state: each input, kept only when the other takes a
/// gradient, and the operation's settings.
type Kept<B, E> = (Option<FloatTensor<B>>, Option<FloatTensor<B>>, E);

/// Records the two-input operation `op` on autodiff, computing it with `forward` on the inner
/// backend and keeping what its backward needs ([`Kept`]).
fn record_binary<B, C, O, E>(
    op: O,
    lhs: FloatTensor<Autodiff<B, C>>,
    rhs: FloatTensor<Autodiff<B, C>>,
    settings: E,
    forward: impl FnOnce(FloatTensor<B>, FloatTensor<B>) -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>>
where
    B: CpuKernels,
    C: CheckpointStrategy,
    E: Clone + Send + std::fmt::Debug + 'static,
    O: Backward<B, 2, State = Kept<B, E>>,
{
    let lhs_kept = rhs.is_tracked().then(|| lhs.primitive().clone());
    let rhs_kept = lhs.is_tracked().then(|| rhs.primitive().clone());
    match op.prepare::<C>([lhs.node(), rhs.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            prep.finish((lhs_kept, rhs_kept, settings), forward(lhs.into_primitive(), rhs.into_primitive()))
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(lhs.into_primitive(), rhs.into_primitive())),
    }
}

/// The backward of `(x @ w) / σ` ([`CpuKernels::spectral_matmul_product`]).
#[derive(Debug)]
struct SpectralMatmul;

impl<B: CpuKernels> Backward<B, 2> for SpectralMatmul {
    // x, w, u, v, the output and σ.
    type State = [FloatTensor<B>; 6];

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x, w, u, v, y, sigma] = ops.state;
        let [node_x, node_w] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        // y = p / σ with p = x w: dL/dp = g / σ, and dL/dσ = −Σ(g ⊙ y) / σ.
        let scaled = B::float_div(grad.clone(), sigma.clone());
        if let Some(node) = node_w {
            let shape = Shape::new([1, 1]);
            let d_sigma =
                B::float_neg(B::float_div(B::float_reshape(B::float_sum(B::float_mul(grad, y)), shape), sigma));
            // dL/dw = xᵀ (g / σ) + dL/dσ · u vᵀ, as one product with one more row:
            // [x; uᵀ]ᵀ [g / σ; dL/dσ · vᵀ].
            let lhs = B::float_cat(vec![x.clone(), B::float_transpose(u)], 0);
            let rhs = B::float_cat(vec![scaled.clone(), B::float_mul(d_sigma, B::float_transpose(v))], 0);
            grads.register::<B>(node.id, B::matmul_2d(B::float_transpose(lhs), rhs));
        }
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::matmul_2d(scaled, B::float_transpose(w)));
        }
    }
}

impl<B: CpuKernels, C: CheckpointStrategy> CpuKernels for Autodiff<B, C> {
    fn matmul_2d(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Matmul2d;

        impl<B: CpuKernels> Backward<B, 2> for Matmul2d {
            type State = Kept<B, ()>;

            fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
                let (lhs, rhs, ()) = ops.state;
                binary::<B, _, _>(
                    ops.parents,
                    ops.node,
                    grads,
                    |grad| B::matmul_2d(grad, B::float_transpose(rhs.expect("rhs kept for lhs's gradient"))),
                    |grad| B::matmul_2d(B::float_transpose(lhs.expect("lhs kept for rhs's gradient")), grad),
                );
            }
        }

        record_binary::<B, C, _, _>(Matmul2d, lhs, rhs, (), B::matmul_2d)
    }

    fn conv2d_nchw(input: FloatTensor<Self>, weight: FloatTensor<Self>, window: Window) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Conv2d;

        impl<B: CpuKernels> Backward<B, 2> for Conv2d {
            type State = Kept<B, Window>;

            fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
                let (input, weight, window) = ops.state;
                binary::<B, _, _>(
                    ops.parents,
                    ops.node,
                    grads,
                    |grad| {
                        B::conv_transpose2d_nchw(grad, weight.expect("weight kept for the input's gradient"), window)
                    },
                    |grad| B::conv2d_weight_grad(input.expect("input kept for the weight's gradient"), grad, window),
                );
            }
        }

        record_binary::<B, C, _, _>(Conv2d, input, weight, window, |input, weight| {
            B::conv2d_nchw(input, weight, window)
        })
    }

    fn conv_transpose2d_nchw(input: FloatTensor<Self>, weight: FloatTensor<Self>, window: Window) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct ConvTranspose2d;

        impl<B: CpuKernels> Backward<B, 2> for ConvTranspose2d {
            type State = Kept<B, Window>;

            fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
                let (input, weight, window) = ops.state;
                binary::<B, _, _>(
                    ops.parents,
                    ops.node,
                    grads,
                    |grad| B::conv2d_nchw(grad, weight.expect("weight kept for the input's gradient"), window),
                    |grad| B::conv2d_weight_grad(grad, input.expect("input kept for the weight's gradient"), window),
                );
            }
        }

        record_binary::<B, C, _, _>(ConvTranspose2d, input, weight, window, |input, weight| {
            B::conv_transpose2d_nchw(input, weight, window)
        })
    }

    fn conv2d_weight_grad(big: FloatTensor<Self>, small: FloatTensor<Self>, window: Window) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::conv2d_weight_grad(
            big.into_primitive(),
            small.into_primitive(),
            window,
        ))
    }

    fn batch_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        slope: Option<f32>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct BatchNormAct;

        type Kept<B> = [FloatTensor<B>; 5];

        impl<B: CpuKernels> Backward<B, 3> for BatchNormAct {
            // x, gamma, beta, mean, variance; epsilon; slope.
            type State = (Kept<B>, f64, Option<f32>);

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [node_x, node_gamma, node_beta] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let ([x, gamma, beta, mean, variance], epsilon, slope) = ops.state;
                let (dx, dgamma, dbeta) =
                    B::batch_norm_act_backward(x, gamma, beta, mean, variance, grad, epsilon, slope);
                for (node, grad) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, grad);
                    }
                }
            }
        }

        let prepared = BatchNormAct.prepare::<C>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful();
        let (x, gamma, beta) = (x.into_primitive(), gamma.into_primitive(), beta.into_primitive());
        let (out, mean, var) = B::batch_norm_act(x.clone(), gamma.clone(), beta.clone(), epsilon, slope);
        let out = match prepared {
            OpsKind::Tracked(prep) => prep.finish(([x, gamma, beta, mean.clone(), var.clone()], epsilon, slope), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        (out, <Self as AutodiffBackend>::from_inner(mean), <Self as AutodiffBackend>::from_inner(var))
    }

    fn batch_norm_act_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        epsilon: f64,
        slope: Option<f32>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (dx, dgamma, dbeta) = B::batch_norm_act_backward(
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
            mean.into_primitive(),
            variance.into_primitive(),
            output_grad.into_primitive(),
            epsilon,
            slope,
        );
        let wrap = <Self as AutodiffBackend>::from_inner;
        (wrap(dx), wrap(dgamma), wrap(dbeta))
    }

    fn pool2d_planes(input: FloatTensor<Self>, window: Window, kind: Pool) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::pool2d_planes(input.into_primitive(), window, kind))
    }

    fn conv2d_affine_relu(
        input: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        window: Window,
    ) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::conv2d_affine_relu(
            input.into_primitive(),
            weight.into_primitive(),
            scale.into_primitive(),
            shift.into_primitive(),
            window,
        ))
    }

    fn spectral_matmul_product(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        u: FloatTensor<Self>,
        v: FloatTensor<Self>,
        sigma: FloatTensor<Self>,
        xw: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let prepared = SpectralMatmul.prepare::<C>([x.node(), w.node()]).compute_bound().stateful();
        let [x, w, u, v, sigma, xw] = [x, w, u, v, sigma, xw].map(|t| t.into_primitive());
        let y = B::spectral_matmul_product(x.clone(), w.clone(), u.clone(), v.clone(), sigma.clone(), xw);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish([x, w, u, v, y.clone(), sigma], y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn channel_bias(x: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct ChannelBias;

        impl<B: CpuKernels> Backward<B, 2> for ChannelBias {
            type State = ();

            fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
                binary::<B, _, _>(ops.parents, ops.node, grads, |grad| grad, |grad| B::channel_bias_backward(grad));
            }
        }

        match ChannelBias.prepare::<C>([x.node(), bias.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((), B::channel_bias(x.into_primitive(), bias.into_primitive())),
            OpsKind::UnTracked(prep) => prep.finish(B::channel_bias(x.into_primitive(), bias.into_primitive())),
        }
    }

    fn channel_bias_backward(grad: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::channel_bias_backward(grad.into_primitive()))
    }

    fn scale_nonpositive(g: FloatTensor<Self>, x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct ScaleNonpositive;

        impl<B: CpuKernels> Backward<B, 1> for ScaleNonpositive {
            // The mask's input, and the slope: the map is its own adjoint.
            type State = (FloatTensor<B>, f32);

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let (x, slope) = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| B::scale_nonpositive(grad, x, slope));
            }
        }

        let x = x.into_primitive();
        match ScaleNonpositive.prepare::<C>([g.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                prep.finish((x.clone(), slope), B::scale_nonpositive(g.into_primitive(), x, slope))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::scale_nonpositive(g.into_primitive(), x, slope)),
        }
    }

    fn leaky_relu_act(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LeakyRelu;

        impl<B: CpuKernels> Backward<B, 1> for LeakyRelu {
            type State = (FloatTensor<B>, f32);

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let (x, slope) = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| B::leaky_relu_act_backward(x, grad, slope));
            }
        }

        match LeakyRelu.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                prep.finish((x.clone(), slope), B::leaky_relu_act(x, slope))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::leaky_relu_act(x.into_primitive(), slope)),
        }
    }

    fn leaky_relu_act_backward(x: FloatTensor<Self>, output_grad: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::leaky_relu_act_backward(
            x.into_primitive(),
            output_grad.into_primitive(),
            slope,
        ))
    }
}
