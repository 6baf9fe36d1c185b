//! Adam as one pass over each parameter's gradient and moments on the CPU.
//!
//! burn's [`Adam`] updates a parameter with about a dozen whole-tensor operations (scale the
//! first moment, scale the gradient, add, square, …), each a pass over memory. On the 12.8 M
//! parameters of TF-GAN's MNIST networks those passes are a sizeable part of a step
//! (docs/BENCHMARKS.md). [`FusedAdam`] computes the same floating-point operations, in the same
//! order, element by element in one pass on burn's CPU (flex) backend, so its results are those
//! of burn's Adam bit for bit, and it keeps burn's state type ([`AdamState`]), so checkpoints
//! written with either load into the other. On any other device, or for AMSGrad, it is burn's
//! Adam.
//!
//! Written by hand because burn has no fused optimizer for its CPU backend and no crate adds one.

use burn::optim::{Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::prelude::*;
use burn::tensor::DType;

/// Adam whose CPU step is one fused pass per parameter, with burn's numbers and state.
///
/// ```
/// use burn::optim::ModuleOptimizer;
/// let optimizer: ModuleOptimizer = rgan::train::FusedAdam::new(0.5, 0.999, 1e-8).into();
/// # let _ = optimizer;
/// ```
#[derive(Clone)]
pub struct FusedAdam {
    /// burn's Adam with the same settings: the reference semantics, and the step off the CPU.
    reference: Adam,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

impl FusedAdam {
    /// Adam with moment decays `beta_1`, `beta_2` and `epsilon` added to `sqrt(v̂)`, without
    /// weight decay, gradient clipping or AMSGrad (as [`AdamConfig`] with those set).
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32) -> Self {
        let reference = AdamConfig::new().with_beta_1(beta_1).with_beta_2(beta_2).with_epsilon(epsilon).build();
        Self { reference, beta_1, beta_2, epsilon }
    }

    /// Whether this step can run fused: f32 parameter and gradient on the CPU backend, and
    /// no AMSGrad maximum in the state.
    fn fusable<const D: usize>(tensor: &Tensor<D>, grad: &Tensor<D>, state: Option<&AdamState<D>>) -> bool {
        #[cfg(feature = "flex")]
        {
            let cpu = Device::flex();
            tensor.dtype() == DType::F32
                && grad.dtype() == DType::F32
                && grad.device() == cpu
                && tensor.device() == cpu
                && state.is_none_or(|state| {
                    state.momentum.max_moment_2.is_none()
                        && state.momentum.moment_1.dtype() == DType::F32
                        && state.momentum.moment_2.dtype() == DType::F32
                })
        }
        #[cfg(not(feature = "flex"))]
        {
            let _ = (tensor, grad, state);
            false
        }
    }
}

/// The per-step scalars of burn's Adam, computed as burn computes them (in f32).
#[derive(Clone, Copy, Debug)]
struct StepScalars {
    beta_1: f32,
    one_minus_beta_1: f32,
    beta_2: f32,
    one_minus_beta_2: f32,
    /// `sqrt(1 - β2ᵗ) / (1 - β1ᵗ)`.
    combined_factor: f32,
    /// `ε · sqrt(1 - β2ᵗ)`.
    epsilon_hat: f32,
    learning_rate: f32,
}

impl StepScalars {
    fn new(adam: &FusedAdam, time: usize, learning_rate: LearningRate) -> Self {
        let time = time as i32;
        let bias_correction2_sqrt = (1.0 - adam.beta_2.powi(time)).sqrt();
        Self {
            beta_1: adam.beta_1,
            one_minus_beta_1: 1.0 - adam.beta_1,
            beta_2: adam.beta_2,
            one_minus_beta_2: 1.0 - adam.beta_2,
            combined_factor: bias_correction2_sqrt / (1.0 - adam.beta_1.powi(time)),
            epsilon_hat: adam.epsilon * bias_correction2_sqrt,
            // burn's flex backend applies an f64 scalar to f32 data as `scalar as f32`.
            learning_rate: learning_rate as f32,
        }
    }

    /// The step `lr · m·c / (sqrt(v) + ε̂)`, as burn's `mul_scalar`, `div`, `sqrt`, `add_scalar`
    /// and `mul_scalar` round it.
    #[inline(always)]
    fn delta(&self, moment_1: f32, moment_2: f32) -> f32 {
        moment_1 * self.combined_factor / (moment_2.sqrt() + self.epsilon_hat) * self.learning_rate
    }

    /// Later steps: update both moments in place and overwrite `grad` with the step.
    #[inline(always)]
    fn update(&self, grad: &mut [f32], moment_1: &mut [f32], moment_2: &mut [f32]) {
        for ((g, m), v) in grad.iter_mut().zip(moment_1.iter_mut()).zip(moment_2.iter_mut()) {
            let gradient = *g;
            // Rust never contracts these into fused multiply-adds, so each product and sum is
            // rounded as in burn's separate tensor operations.
            *m = *m * self.beta_1 + gradient * self.one_minus_beta_1;
            *v = *v * self.beta_2 + gradient * gradient * self.one_minus_beta_2;
            *g = self.delta(*m, *v);
        }
    }

    /// The first step: the moments start from the gradient alone.
    #[inline(always)]
    fn first(&self, grad: &mut [f32], moment_1: &mut [f32], moment_2: &mut [f32]) {
        for ((g, m), v) in grad.iter_mut().zip(moment_1.iter_mut()).zip(moment_2.iter_mut()) {
            let gradient = *g;
            *m = gradient * self.one_minus_beta_1;
            *v = gradient * gradient * self.one_minus_beta_2;
            *g = self.delta(*m, *v);
        }
    }
}

/// Elements per parallel chunk: large enough that splitting costs nothing measurable.
const CHUNK: usize = 1 << 15;

/// Run `kernel` over matching chunks of the three slices, on rayon's pool. Each element is
/// independent, so the result does not depend on the split.
fn for_each_chunk(
    grad: &mut [f32],
    moment_1: &mut [f32],
    moment_2: &mut [f32],
    kernel: impl Fn(&mut [f32], &mut [f32], &mut [f32]) + Sync,
) {
    use rayon::prelude::*;
    grad.par_chunks_mut(CHUNK)
        .zip(moment_1.par_chunks_mut(CHUNK))
        .zip(moment_2.par_chunks_mut(CHUNK))
        .for_each(|((g, m), v)| kernel(g, m, v));
}

fn f32_slice(data: &mut burn::tensor::TensorData) -> &mut [f32] {
    // `fusable` checked the dtype; flex's buffers are aligned for their dtype.
    data.as_mut_slice::<f32>().expect("an f32 tensor's data is an f32 slice")
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if !Self::fusable(&tensor, &grad, state.as_ref()) {
            return self.reference.step(lr, tensor, grad, state);
        }
        let device = grad.device();
        // On flex, `into_data` hands over a tensor's buffer without copying when nothing else
        // holds it, and `from_data` wraps a buffer without copying.
        let mut grad = grad.into_data();
        let (time, mut moment_1, mut moment_2) = match state {
            Some(state) => {
                let momentum = state.momentum;
                (momentum.time + 1, momentum.moment_1.into_data(), momentum.moment_2.into_data())
            }
            None => {
                let zeros = || burn::tensor::TensorData::zeros::<f32, _>(grad.shape().clone());
                (1, zeros(), zeros())
            }
        };
        let scalars = StepScalars::new(self, time, lr);
        let (g, m, v) = (f32_slice(&mut grad), f32_slice(&mut moment_1), f32_slice(&mut moment_2));
        if time == 1 {
            for_each_chunk(g, m, v, |g, m, v| crate::ops::vectorized(|| scalars.first(g, m, v)));
        } else {
            for_each_chunk(g, m, v, |g, m, v| crate::ops::vectorized(|| scalars.update(g, m, v)));
        }
        let delta = Tensor::<D>::from_data(grad, &device);
        let momentum = AdaptiveMomentumState::new(
            time,
            Tensor::from_data(moment_1, &device),
            Tensor::from_data(moment_2, &device),
        );
        (tensor - delta, Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <Adam as Optimizer>::to_device(state, device)
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::optim::{GradientsParams, ModuleOptimizer};
    use burn::tensor::TensorData;

    use super::*;
    use crate::rng::Rng;

    /// A module with a matrix, a vector and a rank-4 kernel.
    #[derive(Module, Debug)]
    struct Weights {
        matrix: Param<Tensor<2>>,
        bias: Param<Tensor<1>>,
        kernel: Param<Tensor<4>>,
    }

    fn weights(rng: &mut Rng, device: &Device) -> Weights {
        Weights {
            matrix: Param::from_tensor(rng.normal([70, 300], 0.0, 1.0, device)),
            bias: Param::from_tensor(rng.normal([300], 0.0, 1.0, device)),
            kernel: Param::from_tensor(rng.normal([4, 3, 5, 5], 0.0, 1.0, device)),
        }
    }

    /// Gradients of a loss that makes every element's gradient differ, for `step` on `weights`.
    fn grads(weights: &Weights, step: usize) -> GradientsParams {
        let s = step as f32 + 1.0;
        let loss = (weights.matrix.val().powf_scalar(3.0) * s).sum()
            + (weights.bias.val().sin() * (0.5 * s)).sum()
            + (weights.kernel.val() * weights.kernel.val()).exp().mean() * 1e3;
        GradientsParams::from_grads(loss.backward(), weights)
    }

    fn values(weights: &Weights) -> Vec<TensorData> {
        vec![weights.matrix.val().into_data(), weights.bias.val().into_data(), weights.kernel.val().into_data()]
    }

    fn train(optimizer: &mut ModuleOptimizer, mut weights: Weights, steps: std::ops::Range<usize>) -> Weights {
        for step in steps {
            let grads = grads(&weights, step);
            // A changing learning rate, as a schedule would give.
            weights = optimizer.step(1e-3 / (step as f64 + 1.0), weights, grads);
        }
        weights
    }

    fn burn_adam() -> ModuleOptimizer {
        AdamConfig::new().with_beta_1(0.5).with_beta_2(0.999).with_epsilon(1e-8).init()
    }

    #[test]
    fn matches_burns_adam_bit_for_bit() {
        let device = Device::flex().autodiff();
        let start = weights(&mut Rng::seed_from_u64(3), &device);
        let mut fused: ModuleOptimizer = FusedAdam::new(0.5, 0.999, 1e-8).into();
        let mut reference = burn_adam();
        let fused_weights = train(&mut fused, start.clone(), 0..5);
        let reference_weights = train(&mut reference, start.clone(), 0..5);
        assert_ne!(values(&fused_weights), values(&start), "the steps changed nothing");
        assert_eq!(values(&fused_weights), values(&reference_weights));
    }

    #[test]
    fn moments_match_burns_adam_bit_for_bit() {
        let device = Device::flex();
        let mut rng = Rng::seed_from_u64(5);
        let fused = FusedAdam::new(0.5, 0.9, 1e-8);
        let reference = AdamConfig::new().with_beta_1(0.5).with_beta_2(0.9).with_epsilon(1e-8).build();
        let start = rng.normal([3, 1000], 0.0, 1.0, &device);
        assert!(FusedAdam::fusable(&start, &start, None), "a CPU f32 step takes the fused path");
        let (mut fused_param, mut fused_state) = (start.clone(), None);
        let (mut reference_param, mut reference_state) = (start, None);
        for step in 0..4 {
            // Gradients from tiny to large, zero included.
            let scale = 10f64.powi(step * 2 - 3);
            let grad = rng
                .normal([3, 1000], 0.0, scale, &device)
                .mask_fill(rng.uniform([3, 1000], 0.0, 1.0, &device).lower_elem(0.1), 0.0);
            (fused_param, fused_state) = fused.step(2e-4, fused_param, grad.clone(), fused_state);
            (reference_param, reference_state) = reference.step(2e-4, reference_param, grad, reference_state);
            let (f, r) = (fused_state.as_ref().unwrap(), reference_state.as_ref().unwrap());
            assert_eq!(f.momentum.time, r.momentum.time);
            assert_eq!(f.momentum.moment_1.to_data(), r.momentum.moment_1.to_data(), "m at step {step}");
            assert_eq!(f.momentum.moment_2.to_data(), r.momentum.moment_2.to_data(), "v at step {step}");
            assert_eq!(fused_param.to_data(), reference_param.to_data(), "parameter at step {step}");
        }
    }

    #[test]
    fn resumes_from_burns_adam_state_and_back() {
        let device = Device::flex().autodiff();
        let start = weights(&mut Rng::seed_from_u64(4), &device);
        let mut reference = burn_adam();
        let uninterrupted = train(&mut reference, start.clone(), 0..4);

        // Two steps with burn's Adam, then two with the fused one from its saved state.
        let mut first = burn_adam();
        let halfway = train(&mut first, start.clone(), 0..2);
        let mut fused: ModuleOptimizer = FusedAdam::new(0.5, 0.999, 1e-8).into();
        fused = fused.load_record(first.to_record());
        let resumed = train(&mut fused, halfway, 2..4);
        assert_eq!(values(&resumed), values(&uninterrupted));

        // And the other way round.
        let mut fused_first: ModuleOptimizer = FusedAdam::new(0.5, 0.999, 1e-8).into();
        let halfway = train(&mut fused_first, start, 0..2);
        let mut second = burn_adam().load_record(fused_first.to_record());
        assert_eq!(values(&train(&mut second, halfway, 2..4)), values(&uninterrupted));
    }

    #[test]
    fn first_step_is_the_closed_form() {
        // After one step from zero moments, m̂ = g and v̂ = g², so the step is lr·g/(|g| + ε).
        let device = Device::flex();
        let grad = [0.25f32, -2.0, 1e-3, 0.0];
        let (tensor, state) = FusedAdam::new(0.9, 0.999, 1e-8).step(
            0.1,
            Tensor::<1>::zeros([4], &device),
            Tensor::from_floats(grad, &device),
            None,
        );
        let state = state.expect("a state after a step");
        assert_eq!(state.momentum.time, 1);
        let got = tensor.into_data().try_to_vec::<f32>().unwrap();
        for (got, g) in got.iter().zip(grad) {
            let expected = -0.1 * f64::from(g) / (f64::from(g).abs() + 1e-8);
            assert!((f64::from(*got) - expected).abs() < 1e-6, "{got} vs {expected}");
        }
    }
}
