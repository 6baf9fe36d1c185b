//! Matrix products of rank-2 tensors: [`matmul`] and the dense layer [`linear`].

use burn::prelude::*;

/// `lhs @ rhs` for matrices `[m, k] @ [k, n]`, equal to burn's `lhs.matmul(rhs)` up to float
/// rounding. On the CPU (flex) backend in f32 it writes the product straight into a fresh buffer
/// and splits it over the thread pool by output columns (or rows, whichever is longer); its
/// gradients, `g @ rhsᵀ` and `lhsᵀ @ g`, use the same kernel on the transposed views, without
/// copying them.
///
/// Panics, as burn's `matmul` does, when the inner dimensions differ.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let a = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device);
/// let b = Tensor::<2>::from_floats([[5.0], [6.0]], &device);
/// let c = rgan::ops::matmul(a, b);
/// assert_eq!(c.into_data().to_vec::<f32>().unwrap(), vec![17.0, 39.0]);
/// ```
pub fn matmul(lhs: Tensor<2>, rhs: Tensor<2>) -> Tensor<2> {
    let [m, k] = lhs.dims();
    let [k_rhs, n] = rhs.dims();
    assert_eq!(k, k_rhs, "matmul: lhs is [{m}, {k}] but rhs is [{k_rhs}, {n}]; the inner dimensions must match");
    #[cfg(feature = "flex")]
    if cpu::fast_path(&lhs, &rhs) {
        return cpu::matmul(lhs, rhs);
    }
    lhs.matmul(rhs)
}

/// A dense layer, `input @ weight + bias`, with `input` `[.., d_input]`, `weight`
/// `[d_input, d_output]` and `bias` `[d_output]`: burn's `module::linear`, with the product
/// computed by [`matmul`].
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let x = Tensor::<3>::ones([2, 4, 3], &device);
/// let w = Tensor::<2>::ones([3, 5], &device);
/// let b = Tensor::<1>::ones([5], &device);
/// let y = rgan::ops::linear(x, w, Some(b));
/// assert_eq!(y.dims(), [2, 4, 5]);
/// assert_eq!(y.into_data().to_vec::<f32>().unwrap()[0], 4.0);
/// ```
pub fn linear<const D: usize>(input: Tensor<D>, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<D> {
    let dims = input.dims();
    let [d_input, d_output] = weight.dims();
    let rows = input.shape().num_elements() / d_input.max(1);
    let out = matmul(input.reshape([rows, d_input]), weight);
    let out = match bias {
        Some(bias) => out.add(bias.unsqueeze()),
        None => out,
    };
    let mut out_dims = dims;
    out_dims[D - 1] = d_output;
    out.reshape(out_dims)
}

/// burn's `nn::Linear::forward`, with the product computed by [`matmul`].
///
/// Panics, as burn's does, when the input's last dimension is not the layer's `d_input`.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let layer = burn::nn::LinearConfig::new(3, 2).init(&device);
/// let x = Tensor::<2>::ones([4, 3], &device);
/// let expected = layer.forward(x.clone()).into_data();
/// let y = rgan::ops::linear_layer(&layer, x);
/// y.into_data().assert_approx_eq::<f32>(&expected, burn::tensor::Tolerance::default());
/// ```
pub fn linear_layer<const D: usize>(layer: &burn::nn::Linear, input: Tensor<D>) -> Tensor<D> {
    let weight = layer.weight.val();
    let [d_input, _] = weight.dims();
    let dims = input.dims();
    assert_eq!(dims[D - 1], d_input, "linear: the input is {dims:?} but the layer takes [.., {d_input}]");
    linear(input, weight, layer.bias.as_ref().map(|b| b.val()))
}

#[cfg(feature = "flex")]
mod cpu {
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, binary};
    use burn::backend::ops::FloatTensorOps;
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
    use burn::prelude::*;
    use burn::tensor::{DType, TensorData};

    /// The CPU kernels as a burn backend extension.
    #[backend_extension(Flex, Autodiff)]
    pub trait CpuKernels: Backend {
        /// `lhs @ rhs` for rank-2 tensors.
        fn matmul_2d(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self>;
    }

    /// Whether both matrices are f32 on the CPU device (plain or autodiff).
    pub(super) fn fast_path(lhs: &Tensor<2>, rhs: &Tensor<2>) -> bool {
        let cpu = Device::flex();
        let on_cpu = |t: &Tensor<2>| {
            let device = t.device();
            t.dtype() == DType::F32 && (device == cpu || device == cpu.clone().autodiff())
        };
        on_cpu(lhs) && on_cpu(rhs)
    }

    pub(super) fn matmul(lhs: Tensor<2>, rhs: Tensor<2>) -> Tensor<2> {
        Tensor::from_dispatch(<Dispatch as CpuKernels>::matmul_2d(lhs.into_dispatch(), rhs.into_dispatch()))
    }

    impl CpuKernels for Flex {
        fn matmul_2d(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
            if lhs.dtype() != DType::F32 || rhs.dtype() != DType::F32 || lhs.layout().num_dims() != 2 {
                return Flex::float_matmul(lhs, rhs);
            }
            let matrix = |t: &FloatTensor<Flex>| {
                let layout = t.layout();
                let storage = t.storage::<f32>();
                let start = layout.start_offset();
                assert!(start <= storage.len(), "matmul: a view starts past its storage");
                let strides = layout.strides();
                // SAFETY: `start` is within the storage (checked above); the strides and shape
                // are the view's own, which flex keeps inside its storage.
                Matrix { ptr: unsafe { storage.as_ptr().add(start) }, row_stride: strides[0], col_stride: strides[1] }
            };
            let [m, k] = [lhs.layout().shape()[0], lhs.layout().shape()[1]];
            let n = rhs.layout().shape()[1];
            let out = product(m, n, k, matrix(&lhs), matrix(&rhs));
            Flex::float_from_data(TensorData::new(out, [m, n]), &Default::default())
        }
    }

    impl<B: CpuKernels, C: CheckpointStrategy> CpuKernels for Autodiff<B, C> {
        fn matmul_2d(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
            #[derive(Debug)]
            struct Matmul2d;

            impl<B: CpuKernels> Backward<B, 2> for Matmul2d {
                type State = (Option<FloatTensor<B>>, Option<FloatTensor<B>>);

                fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
                    let (lhs, rhs) = ops.state;
                    binary::<B, _, _>(
                        ops.parents,
                        ops.node,
                        grads,
                        |grad| B::matmul_2d(grad, B::float_transpose(rhs.expect("rhs kept for lhs's gradient"))),
                        |grad| B::matmul_2d(B::float_transpose(lhs.expect("lhs kept for rhs's gradient")), grad),
                    );
                }
            }

            let lhs_tracked = lhs.is_tracked();
            let rhs_tracked = rhs.is_tracked();
            match Matmul2d.prepare::<C>([lhs.node(), rhs.node()]).compute_bound().stateful() {
                OpsKind::Tracked(prep) => {
                    let (lhs, rhs) = (lhs.into_primitive(), rhs.into_primitive());
                    let state = (rhs_tracked.then(|| lhs.clone()), lhs_tracked.then(|| rhs.clone()));
                    prep.finish(state, B::matmul_2d(lhs, rhs))
                }
                OpsKind::UnTracked(prep) => prep.finish(B::matmul_2d(lhs.into_primitive(), rhs.into_primitive())),
            }
        }
    }

    /// A strided f32 matrix view.
    #[derive(Clone, Copy)]
    struct Matrix {
        ptr: *const f32,
        row_stride: isize,
        col_stride: isize,
    }

    // SAFETY: the views are only read, while the tensors that own them are alive (for the whole
    // of `product`).
    unsafe impl Send for Matrix {}
    unsafe impl Sync for Matrix {}

    /// Work below which one thread computes the whole product (m·n·k multiply-adds).
    #[cfg(feature = "parallel")]
    const PARALLEL_WORK: usize = 1 << 21;

    /// The `[m, n]` row-major product of `lhs` `[m, k]` and `rhs` `[k, n]`.
    ///
    /// Written here rather than left to burn-flex because flex zero-fills and then copies every
    /// product's buffer before gemm writes it (two extra passes over a 25 MB weight gradient),
    /// and hands gemm the whole thread pool, which for a 32-row product splits the work into
    /// chunks too small to pay for their packing. Here gemm writes into a fresh buffer, and the
    /// output is cut into one block of columns (or rows) per thread, each a single-threaded gemm.
    fn product(m: usize, n: usize, k: usize, lhs: Matrix, rhs: Matrix) -> Vec<f32> {
        let len = m * n;
        if k == 0 {
            return vec![0.0; len];
        }
        let mut out: Vec<f32> = Vec::with_capacity(len);
        let dst = OutPtr(out.as_mut_ptr());
        let blocks = blocks(m, n, k);
        let split_columns = n >= m;
        let along = if split_columns { n } else { m };
        let block = along.div_ceil(blocks).next_multiple_of(16).min(along.max(1));
        let run = |b: usize| {
            let start = b * block;
            if start >= along {
                return;
            }
            let size = block.min(along - start);
            let (rows, cols) = if split_columns { (m, size) } else { (size, n) };
            let offset = |t: Matrix, by_rows: bool| {
                let stride = if by_rows { t.row_stride } else { t.col_stride };
                t.ptr.wrapping_offset(stride * start as isize)
            };
            let (dst_ptr, lhs_ptr, rhs_ptr) = if split_columns {
                (dst.at(start), lhs.ptr, offset(rhs, false))
            } else {
                (dst.at(start * n), offset(lhs, true), rhs.ptr)
            };
            // SAFETY: the block's rows × cols outputs lie inside `out`'s capacity and are
            // disjoint from every other block's; the input views are valid for their shapes.
            // `read_dst` is false, so gemm never reads the uninitialized output.
            unsafe {
                gemm::gemm(
                    rows,
                    cols,
                    k,
                    dst_ptr,
                    1,
                    n as isize,
                    false,
                    lhs_ptr,
                    lhs.col_stride,
                    lhs.row_stride,
                    rhs_ptr,
                    rhs.col_stride,
                    rhs.row_stride,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        };
        run_blocks(blocks, run);
        // SAFETY: the blocks together wrote every one of the `len` outputs.
        unsafe { out.set_len(len) };
        out
    }

    #[derive(Clone, Copy)]
    struct OutPtr(*mut f32);

    // SAFETY: each block writes its own disjoint part of the output.
    unsafe impl Send for OutPtr {}
    unsafe impl Sync for OutPtr {}

    impl OutPtr {
        fn at(self, offset: usize) -> *mut f32 {
            self.0.wrapping_add(offset)
        }
    }

    #[cfg(feature = "parallel")]
    fn blocks(m: usize, n: usize, k: usize) -> usize {
        if m.saturating_mul(n).saturating_mul(k) < PARALLEL_WORK {
            return 1;
        }
        rayon::current_num_threads().clamp(1, m.max(n).div_ceil(16))
    }

    #[cfg(not(feature = "parallel"))]
    fn blocks(_m: usize, _n: usize, _k: usize) -> usize {
        1
    }

    #[cfg(feature = "parallel")]
    fn run_blocks(blocks: usize, run: impl Fn(usize) + Sync + Send) {
        use rayon::prelude::*;
        if blocks == 1 {
            run(0);
        } else {
            (0..blocks).into_par_iter().for_each(run);
        }
    }

    #[cfg(not(feature = "parallel"))]
    fn run_blocks(blocks: usize, run: impl Fn(usize)) {
        (0..blocks).for_each(run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    fn random(dims: [usize; 2], device: &Device) -> Tensor<2> {
        Tensor::random(dims, Distribution::Normal(0.0, 1.0), device)
    }

    /// Shapes on both sides of the parallel threshold, with transposed and sliced views.
    #[test]
    fn matches_burns_matmul_on_views() {
        let device = Device::default();
        for [m, k, n] in [[1, 1, 1], [3, 5, 2], [32, 300, 70], [300, 32, 130], [33, 257, 17], [2, 0, 3]] {
            let a = random([m, k], &device);
            let b = random([k, n], &device);
            let expected = a.clone().matmul(b.clone()).into_data();
            matmul(a.clone(), b.clone()).into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
            // Transposed views of contiguous buffers.
            let at = random([k, m], &device);
            let bt = random([n, k], &device);
            let expected = at.clone().transpose().matmul(bt.clone().transpose()).into_data();
            matmul(at.transpose(), bt.transpose()).into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
        }
        // A view that starts inside its buffer and skips columns.
        let big = random([50, 50], &device);
        let a = big.clone().slice([3..35, 1..41]);
        let b = big.slice([5..45, 7..30]);
        let expected = a.clone().matmul(b.clone()).into_data();
        matmul(a, b).into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
    }

    #[test]
    fn gradients_match_burns_matmul() {
        let device = Device::default().autodiff();
        for [m, k, n] in [[4, 6, 3], [32, 400, 90], [200, 32, 60]] {
            let a = random([m, k], &device).require_grad();
            let b = random([k, n], &device).require_grad();
            let g = random([m, n], &device);
            let ours = matmul(a.clone(), b.clone()).mul(g.clone()).sum().backward();
            let theirs = a.clone().matmul(b.clone()).mul(g).sum().backward();
            for t in [&a, &b] {
                let expected = t.grad(&theirs).unwrap().into_data();
                t.grad(&ours).unwrap().into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
            }
        }
    }

    #[test]
    fn only_the_tracked_side_gets_a_gradient() {
        let device = Device::default().autodiff();
        let a = random([5, 4], &device).require_grad();
        let b = random([4, 3], &device);
        let grads = matmul(a.clone(), b.clone()).sum().backward();
        let expected = Tensor::<2>::ones([5, 3], &device).matmul(b.clone().transpose()).inner().into_data();
        a.grad(&grads).unwrap().into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
        assert!(b.grad(&grads).is_none());
    }

    #[test]
    fn linear_matches_burns_linear() {
        let device = Device::default();
        let x = Tensor::<3>::random([2, 7, 5], Distribution::Default, &device);
        let w = random([5, 4], &device);
        let b = Tensor::<1>::random([4], Distribution::Default, &device);
        let expected = burn::tensor::module::linear(x.clone(), w.clone(), Some(b.clone())).into_data();
        linear(x, w, Some(b)).into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
    }
}
