//! Every critic layer's input gradient, and the parameter gradients of every penalty (WGAN-GP,
#![allow(deprecated)]
//! R1, R2, DRAGAN), checked against central finite differences in f64.

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::nn::conv::Conv2dConfig;
use burn::nn::pool::AvgPool2dConfig;
use burn::nn::{BatchNorm, BatchNormConfig, LeakyReluConfig, LinearConfig, PaddingConfig2d, Relu, Sigmoid, Tanh};
use burn::prelude::*;
use burn::tensor::{DType, Gradients, TensorData};
use rgan::penalties::{
    Activation, Concat, ConcatConditioning, CriticLayer, Flatten, GradientPenaltyOptions, LayerNormConfig,
    MinibatchStddev, Residual, SequentialCritic, Tape, Unflatten, critic_input_gradient, dragan_penalty, r1_penalty,
    r2_penalty, wasserstein_gradient_penalty_with_alpha,
};
use rgan::rng::Rng;

const H: f64 = 1e-5;

fn device() -> Device {
    Device::default().autodiff()
}

fn tensor_f64<const D: usize>(values: Vec<f64>, shape: [usize; D]) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), (&device(), DType::F64))
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().to_vec::<f64>().expect("f64 data")
}

/// Re-initializes every float parameter in f64 from a seeded normal distribution.
struct InitF64(Rng);

impl ModuleMapper for InitF64 {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let rng = &mut self.0;
        if !param.val().is_require_grad() {
            // Running statistics (batch norm): keep them, in f64.
            return param.map(|t| t.cast(DType::F64));
        }
        param.map(|t| rng.normal_dtype(t.dims(), 0.0, 0.6, DType::F64, &device()).require_grad())
    }
}

/// Collects every float parameter's values, in visiting order.
#[derive(Default)]
struct Collect(Vec<(Vec<usize>, Vec<f64>)>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        if !t.is_require_grad() {
            return;
        }
        self.0.push((t.dims().to_vec(), to_vec(t)));
    }
}

/// Collects every float parameter's gradient (zeros when it has none), in visiting order.
struct CollectGrads<'a>(&'a Gradients, Vec<Vec<f64>>);

impl ModuleVisitor for CollectGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        if !t.is_require_grad() {
            return;
        }
        let g = t.grad(self.0).map(to_vec).unwrap_or_else(|| vec![0.0; t.dims().iter().product()]);
        self.1.push(g);
    }
}

/// Adds `delta` to element `element` of the `index`-th float parameter.
struct Perturb {
    index: usize,
    element: usize,
    delta: f64,
    seen: usize,
}

impl ModuleMapper for Perturb {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if !param.val().is_require_grad() {
            return param;
        }
        let this = self.seen;
        self.seen += 1;
        if this != self.index {
            return param;
        }
        let (element, delta) = (self.element, self.delta);
        param.map(|t| {
            let dims: [usize; D] = t.dims();
            let mut v = to_vec(t);
            v[element] += delta;
            tensor_f64(v, dims).require_grad()
        })
    }
}

fn close(what: &str, exact: f64, numeric: f64) {
    let tol = 1e-6 + 1e-5 * exact.abs().max(numeric.abs());
    assert!((exact - numeric).abs() <= tol, "{what}: exact {exact:e} vs finite difference {numeric:e}");
}

/// A critic under test: a module that lists its layers.
trait TestCritic: Module + CriticLayer + Clone {}
impl<T: Module + CriticLayer + Clone> TestCritic for T {}

fn init<M: Module>(module: M, seed: u64) -> M {
    module.map(&mut InitF64(Rng::seed_from_u64(seed)))
}

fn input<const D: usize>(shape: [usize; D], seed: u64) -> Tensor<D> {
    Rng::seed_from_u64(seed).normal_dtype(shape, 0.0, 1.0, DType::F64, &device())
}

fn forward_sum<C: CriticLayer, const D: usize>(critic: &C, x: Tensor<D>, labels: Option<Tensor<2>>) -> f64 {
    let mut tape = labels.map(Tape::with_conditioning).unwrap_or_default();
    let act = match D {
        2 => Activation::Features(x.reshape([0, 0])),
        _ => {
            let d = x.dims();
            Activation::Maps(x.reshape([d[0], d[1], d[2], d[3]]))
        }
    };
    match critic.forward_taped(act, &mut tape).expect("forward") {
        Activation::Features(t) => t.sum().into_scalar::<f64>(),
        Activation::Maps(t) => t.sum().into_scalar::<f64>(),
    }
}

/// The layer chain's exact input gradient against central differences of `sum(critic(x))`.
fn check_input_gradient<C: CriticLayer, const D: usize>(
    name: &str,
    critic: &C,
    x: Tensor<D>,
    labels: Option<Tensor<2>>,
) {
    let exact = to_vec(critic_input_gradient(critic, x.clone(), labels.clone()).expect("input gradient"));
    let dims: [usize; D] = x.dims();
    let base = to_vec(x);
    for (i, &e) in exact.iter().enumerate() {
        let at = |d: f64| {
            let mut v = base.clone();
            v[i] += d;
            forward_sum(critic, tensor_f64(v, dims), labels.clone())
        };
        close(&format!("{name}: d/dx[{i}]"), e, (at(H) - at(-H)) / (2.0 * H));
    }
}

/// The exact parameter gradients of `penalty(critic)` against central differences (up to
/// `per_param` elements of each parameter).
fn check_param_gradients<C: TestCritic>(name: &str, critic: &C, penalty: impl Fn(&C) -> Tensor<1>) {
    let grads = penalty(critic).sum().backward();
    let mut collect = CollectGrads(&grads, Vec::new());
    critic.visit(&mut collect);
    let exact = collect.1;
    let mut params = Collect::default();
    critic.visit(&mut params);
    assert!(!params.0.is_empty(), "{name}: no parameters");
    let mut nonzero = 0;
    for (index, (_, values)) in params.0.iter().enumerate() {
        let n = values.len();
        for element in (0..n).step_by((n / 5).max(1)) {
            let at = |delta: f64| {
                let perturbed = critic.clone().map(&mut Perturb { index, element, delta, seen: 0 });
                penalty(&perturbed).sum().into_scalar::<f64>()
            };
            let numeric = (at(H) - at(-H)) / (2.0 * H);
            let e = exact[index][element];
            nonzero += usize::from(e.abs() > 1e-9);
            close(&format!("{name}: d penalty / d param{index}[{element}]"), e, numeric);
        }
    }
    assert!(nonzero > 0, "{name}: every checked parameter gradient is zero");
}

fn gp_options() -> GradientPenaltyOptions {
    GradientPenaltyOptions::default()
}

/// Checks one critic on one input shape: input gradient, and the parameter gradients of
/// WGAN-GP, R1, R2 and DRAGAN.
fn check_critic<C: TestCritic, const D: usize>(name: &str, critic: C, shape: [usize; D], labels: Option<Tensor<2>>) {
    let real = input(shape, 1);
    let fake = input(shape, 2);
    check_input_gradient(name, &critic, real.clone(), labels.clone());
    let mut alpha_shape = [1usize; D];
    alpha_shape[0] = shape[0];
    let alpha = Rng::seed_from_u64(3).uniform_dtype(alpha_shape, 0.0, 1.0, DType::F64, &device());
    let opts = gp_options();
    check_param_gradients(&format!("{name} WGAN-GP"), &critic, |c| {
        wasserstein_gradient_penalty_with_alpha(c, real.clone(), fake.clone(), alpha.clone(), labels.clone(), &opts)
            .expect("gp")
            .penalty
    });
    check_param_gradients(&format!("{name} R1"), &critic, |c| {
        r1_penalty(c, real.clone(), labels.clone(), 10.0).expect("r1").penalty
    });
    check_param_gradients(&format!("{name} R2"), &critic, |c| {
        r2_penalty(c, fake.clone(), labels.clone(), 1.0).expect("r2").penalty
    });
    check_param_gradients(&format!("{name} DRAGAN"), &critic, |c| {
        dragan_penalty(c, real.clone(), labels.clone(), 0.5, &mut Rng::seed_from_u64(4), &opts).expect("dragan").penalty
    });
}

macro_rules! sequential_critic {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Module, Debug)]
        struct $name { $($field: $ty),* }
        impl SequentialCritic for $name {
            fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
                vec![$(&self.$field),*]
            }
        }
    };
}

sequential_critic!(ConvStride2 {
    conv1: burn::nn::conv::Conv2d,
    act: burn::nn::LeakyRelu,
    conv2: burn::nn::conv::Conv2d,
    act2: Tanh,
    flatten: Flatten,
    dense: burn::nn::Linear,
});

#[test]
fn conv_stride_2_even_and_odd_kernels_same_and_explicit_padding() {
    let d = device();
    // 4x4 kernel, stride 2, SAME on a 7x7 input (asymmetric padding), then 3x3 stride 2 with
    // explicit asymmetric padding.
    let critic = ConvStride2 {
        conv1: Conv2dConfig::new([2, 3], [4, 4]).with_stride([2, 2]).with_padding(PaddingConfig2d::Same).init(&d),
        act: LeakyReluConfig::new().with_negative_slope(0.2).init(),
        conv2: Conv2dConfig::new([3, 2], [3, 3])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Explicit(0, 1, 1, 0))
            .init(&d),
        act2: Tanh,
        flatten: Flatten,
        dense: LinearConfig::new(2 * 2 * 2, 1).init(&d),
    };
    check_critic("conv k4 s2 SAME / k3 s2 explicit", init(critic, 10), [2, 2, 7, 7], None);
    // Even kernel, stride 2, no padding, even input.
    let critic = ConvStride2 {
        conv1: Conv2dConfig::new([2, 3], [2, 2]).with_stride([2, 2]).init(&d),
        act: LeakyReluConfig::new().with_negative_slope(0.2).init(),
        conv2: Conv2dConfig::new([3, 2], [3, 3]).with_padding(PaddingConfig2d::Same).init(&d),
        act2: Tanh,
        flatten: Flatten,
        dense: LinearConfig::new(2 * 3 * 3, 1).init(&d),
    };
    check_critic("conv k2 s2 VALID / k3 s1 SAME", init(critic, 11), [2, 2, 6, 6], None);
}

sequential_critic!(BatchNormMaps {
    conv: burn::nn::conv::Conv2d,
    norm: BatchNorm,
    act: Relu,
    pool: burn::nn::pool::AvgPool2d,
    flatten: Flatten,
    dense: burn::nn::Linear,
});

#[test]
fn batch_norm_in_training_mode_relu_and_average_pooling() {
    let d = device();
    let critic = BatchNormMaps {
        conv: Conv2dConfig::new([2, 3], [3, 3]).with_padding(PaddingConfig2d::Same).init(&d),
        norm: BatchNormConfig::new(3).init(&d),
        act: Relu,
        pool: AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
        flatten: Flatten,
        dense: LinearConfig::new(3 * 2 * 2, 1).init(&d),
    };
    check_critic("batch norm (train) maps + avg pool", init(critic, 12), [3, 2, 5, 5], None);
}

sequential_critic!(BatchNormFeatures {
    l1: burn::nn::Linear,
    norm: BatchNorm,
    act: Sigmoid,
    stddev: MinibatchStddev,
    l2: burn::nn::Linear,
});

#[test]
fn batch_norm_on_features_train_and_eval_sigmoid_minibatch_stddev() {
    let d = device();
    let make = || BatchNormFeatures {
        l1: LinearConfig::new(4, 6).init(&d),
        norm: BatchNormConfig::new(6).init(&d),
        act: Sigmoid,
        stddev: MinibatchStddev::default(),
        l2: LinearConfig::new(7, 1).init(&d),
    };
    check_critic("batch norm (train) features + minibatch stddev", init(make(), 13), [5, 4], None);
    let mut eval = init(make(), 14);
    eval.norm.training = eval.norm.training.clone().with_value(false);
    // Inference uses the running statistics: give them plausible values.
    eval.norm.running_mean = burn::module::RunningState::new(input([6], 5).mul_scalar(0.3));
    eval.norm.running_var = burn::module::RunningState::new(input([6], 6).abs().add_scalar(0.5));
    check_critic("batch norm (eval) features", eval, [5, 4], None);
}

sequential_critic!(LayerNormMaps {
    conv: burn::nn::conv::Conv2d,
    norm: rgan::penalties::LayerNorm,
    act: burn::nn::LeakyRelu,
    stddev: MinibatchStddev,
    flatten: Flatten,
    dense: burn::nn::Linear,
});

#[test]
fn layer_norm_over_channels_and_space_with_minibatch_stddev() {
    let d = device();
    let critic = LayerNormMaps {
        conv: Conv2dConfig::new([2, 3], [3, 3]).with_stride([2, 2]).with_padding(PaddingConfig2d::Same).init(&d),
        norm: LayerNormConfig::new(3).init(&d),
        act: LeakyReluConfig::new().with_negative_slope(0.2).init(),
        stddev: MinibatchStddev::default(),
        flatten: Flatten,
        dense: LinearConfig::new(4 * 3 * 3, 1).init(&d),
    };
    check_critic("layer norm maps + minibatch stddev", init(critic, 15), [3, 2, 6, 6], None);
}

sequential_critic!(Branch { l: burn::nn::Linear, act: Tanh });

sequential_critic!(ResidualConcat {
    l1: burn::nn::Linear,
    block: Residual<Branch>,
    both: Concat<Branch, Sigmoid>,
    norm: rgan::penalties::LayerNorm,
    l2: burn::nn::Linear,
});

#[test]
fn residual_and_concatenation() {
    let d = device();
    let branch = |i, o| Branch { l: LinearConfig::new(i, o).init(&d), act: Tanh };
    let critic = ResidualConcat {
        l1: LinearConfig::new(3, 4).init(&d),
        block: Residual::new(branch(4, 4)),
        both: Concat::new(branch(4, 2), Sigmoid),
        norm: LayerNormConfig::new(6).init(&d),
        l2: LinearConfig::new(6, 1).init(&d),
    };
    check_critic("residual + concat + layer norm features", init(critic, 16), [4, 3], None);
}

sequential_critic!(Conditional {
    labels_in: ConcatConditioning,
    conv: burn::nn::conv::Conv2d,
    act: burn::nn::LeakyRelu,
    flatten: Flatten,
    labels_out: ConcatConditioning,
    dense: burn::nn::Linear,
    unflatten: Unflatten,
    conv2: burn::nn::conv::Conv2d,
    flatten2: Flatten,
    head: burn::nn::Linear,
});

#[test]
fn conditional_critic_with_constant_labels_and_reshapes() {
    let d = device();
    let critic = Conditional {
        labels_in: ConcatConditioning,
        conv: Conv2dConfig::new([2 + 3, 2], [4, 4]).with_stride([2, 2]).with_padding(PaddingConfig2d::Same).init(&d),
        act: LeakyReluConfig::new().with_negative_slope(0.2).init(),
        flatten: Flatten,
        labels_out: ConcatConditioning,
        dense: LinearConfig::new(2 * 3 * 3 + 3, 8).init(&d),
        unflatten: Unflatten { channels: 2, height: 2, width: 2 },
        conv2: Conv2dConfig::new([2, 1], [2, 2]).init(&d),
        flatten2: Flatten,
        head: LinearConfig::new(1, 1).init(&d),
    };
    let labels = tensor_f64(vec![1., 0., 0., 0., 1., 0., 0., 0., 1.], [3, 3]);
    check_critic("conditional (labels as channels and features)", init(critic, 17), [3, 2, 5, 5], Some(labels));
}

/// An ACGAN-style critic with two heads: the penalty uses the source head only.
#[derive(Module, Debug)]
struct TwoHeads {
    trunk: burn::nn::Linear,
    act: burn::nn::LeakyRelu,
    source: burn::nn::Linear,
    classes: burn::nn::Linear,
}

impl SequentialCritic for TwoHeads {
    fn critic_layers(&self) -> Vec<&dyn CriticLayer> {
        vec![&self.trunk, &self.act, &self.source]
    }
}

#[test]
fn several_heads_penalize_the_source_output() {
    let d = device();
    let critic = init(
        TwoHeads {
            trunk: LinearConfig::new(3, 5).init(&d),
            act: LeakyReluConfig::new().with_negative_slope(0.2).init(),
            source: LinearConfig::new(5, 1).init(&d),
            classes: LinearConfig::new(5, 4).init(&d),
        },
        18,
    );
    check_critic("two heads", critic.clone(), [4, 3], None);
    let r1 = r1_penalty(&critic, input([4, 3], 1), None, 10.0).expect("r1");
    let grads = r1.penalty.backward();
    assert!(critic.classes.weight.val().grad(&grads).is_none(), "the class head does not affect the penalty");
}

#[test]
fn unsupported_layer_settings_are_errors() {
    let d = device();
    let dilated = Conv2dConfig::new([1, 1], [3, 3]).with_dilation([2, 2]).init(&d);
    let err = critic_input_gradient(&dilated, Tensor::<4>::zeros([1, 1, 8, 8], &d), None).unwrap_err();
    assert!(err.to_string().contains("dilation"), "{err}");
    let grouped = Conv2dConfig::new([2, 2], [3, 3]).with_groups(2).init(&d);
    let err = critic_input_gradient(&grouped, Tensor::<4>::zeros([1, 2, 8, 8], &d), None).unwrap_err();
    assert!(err.to_string().contains("groups"), "{err}");
    let padded = AvgPool2dConfig::new([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init();
    assert!(critic_input_gradient(&padded, Tensor::<4>::zeros([1, 1, 4, 4], &d), None).is_err());
    // Shape errors name the argument and both shapes.
    let linear = LinearConfig::new(3, 1).init(&d);
    let err = critic_input_gradient(&linear, Tensor::<2>::zeros([2, 4], &d), None).unwrap_err().to_string();
    assert!(err.contains("[2, 4]") && err.contains("[3, _]"), "{err}");
    let err = wasserstein_gradient_penalty_with_alpha(
        &linear,
        Tensor::<2>::zeros([2, 3], &d),
        Tensor::<2>::zeros([3, 3], &d),
        Tensor::<2>::zeros([2, 1], &d),
        None,
        &gp_options(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("generated_data") && err.contains("[3, 3]") && err.contains("[2, 3]"), "{err}");
    let cond = ConcatConditioning;
    let err = critic_input_gradient(&cond, Tensor::<2>::zeros([2, 3], &d), None).unwrap_err().to_string();
    assert!(err.contains("conditioning"), "{err}");
}

sequential_critic!(SpectralNormAndGroups {
    conv: rgan::features::SpectralNormConv2d,
    inorm: rgan::features::InstanceNorm,
    act: burn::nn::LeakyRelu,
    conv2: burn::nn::conv::Conv2d,
    gnorm: rgan::features::GroupNorm,
    flatten: Flatten,
    dense: rgan::features::SpectralNormLinear,
});

#[test]
fn spectral_norm_instance_norm_and_group_norm() {
    let d = device();
    let mut critic = init(
        SpectralNormAndGroups {
            conv: rgan::features::SpectralNormConv2dConfig::new([2, 3], [4, 4])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Same)
                .init(&d),
            inorm: rgan::features::InstanceNormConfig::new(3).init(&d),
            act: LeakyReluConfig::new().with_negative_slope(0.2).init(),
            conv2: Conv2dConfig::new([3, 4], [3, 3]).with_padding(PaddingConfig2d::Same).init(&d),
            gnorm: rgan::features::GroupNormConfig::new(2, 4).init(&d).expect("2 groups divide 4 channels"),
            flatten: Flatten,
            dense: rgan::features::SpectralNormLinearConfig::new(4 * 3 * 3, 1).init(&d),
        },
        19,
    );
    // Evaluation mode keeps `u` fixed, so that every finite-difference evaluation normalizes the
    // same way (in training mode each forward advances the power iteration, as in TF-GAN).
    critic.conv.training = critic.conv.training.clone().with_value(false);
    critic.dense.training = critic.dense.training.clone().with_value(false);
    check_critic("spectral norm conv/linear + instance norm + group norm", critic, [3, 2, 5, 5], None);
}

#[test]
fn spectral_norm_in_training_mode_advances_u_once_per_penalty() {
    let d = device();
    let layer = init(rgan::features::SpectralNormLinearConfig::new(3, 1).init(&d), 20);
    let before = layer.u.value();
    let gp = r1_penalty(&layer, input([2, 3], 1), None, 1.0).expect("r1");
    let after = layer.u.value_sync();
    assert!(to_vec(before.sub(after.clone())).iter().any(|v| v.abs() > 0.0), "u did not advance");
    // A [3, 1] weight has rank one: one power iteration finds sigma = |w| exactly, so the critic's
    // input gradient W / sigma has norm 1 for every example.
    for norm in to_vec(gp.per_example_grad_sq_norm) {
        assert!((norm - 1.0).abs() < 1e-6, "squared gradient norm {norm}, expected 1");
    }
}
