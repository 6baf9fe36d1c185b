//! rgan's own CPU kernels for the hot paths of GAN training (matrix products, convolutions,
//! transposed convolutions, batch norm fused with its activation, leaky ReLU), with their
//! backward passes, and inference-only pooling and convolution with batch norm and ReLU.
//!
//! burn's CPU backend (flex) computes these correctly but slowly for the shapes of a GAN at small
//! batch sizes: a matrix product zero-fills its output and then copies it to re-align it before
//! gemm overwrites it, and it hands a 32-row product to gemm's own thread split, which suits
//! square matrices. The functions here take the same inputs as burn's and give the same values up
//! to float rounding; on any other device, or for another dtype, they are burn's own operation.
//!
//! They are a burn backend extension (`#[backend_extension(Flex, Autodiff)]`): the flex
//! implementation computes, and the autodiff implementation records a backward pass that calls
//! the same kernels for the gradients. Products of a batch against a large weight, single-channel
//! convolutions and the plain loops (batch norm, activations, im2col) run AVX-512 or AVX2, chosen
//! at run time (`RGAN_CPU_CAPABILITY=avx2` or `default` caps the choice).

mod conv;
#[cfg(feature = "flex")]
mod kernels;
mod matmul;
mod norm;
mod pool;
mod reduce;

pub use conv::{
    conv_transpose2d, conv_transpose2d_layer, conv2d, conv2d_batch_norm_relu, conv2d_input_gradient, conv2d_layer,
};
pub use matmul::{linear, linear_layer, matmul, spectral_matmul};
pub(crate) use matmul::{on_cpu_kernels, spectral_matmul_product};
pub use norm::{Activation, batch_norm_layer, batch_norm_train, leaky_relu, scale_nonpositive};
pub use pool::{avg_pool2d_layer, max_pool2d_layer};
pub use reduce::{ROW as SUM_ROW, mean, sum};

/// The instruction set rgan's CPU kernels run with on this processor: `"avx512"`, `"avx2"` or
/// `"default"` (gemm and plain loops), after `RGAN_CPU_CAPABILITY`'s cap. Float results can
/// differ in their last bits between the three, so a bit-for-bit recording holds for one of them.
///
/// ```
/// assert!(["avx512", "avx2", "default"].contains(&rgan::ops::cpu_capability()));
/// ```
pub fn cpu_capability() -> &'static str {
    #[cfg(feature = "flex")]
    {
        kernels::capability()
    }
    #[cfg(not(feature = "flex"))]
    {
        "default"
    }
}

/// Runs `f` compiled for the processor's best vector instructions (AVX-512 or AVX2, found at run
/// time), for plain loops over f32 slices; the values are the same as without.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(feature = "flex")]
    {
        kernels::vectorized(f)
    }
    #[cfg(not(feature = "flex"))]
    {
        f()
    }
}
