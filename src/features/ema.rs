//! An exponential moving average (EMA) of the generator's parameters, for sampling with smoother
//! weights (Karras et al. 2018; Yazıcı et al. 2019).
//!
//! TF-GAN has no generator EMA of its own (a TF user would apply
//! `tf.train.ExponentialMovingAverage` to the generator's variables); this follows that class
//! without `num_updates` or zero-debiasing: after each generator step
//! `avg ← decay·avg + (1 - decay)·param` for every float tensor of the module, starting from a
//! copy of the generator.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;

use super::replace_value;
use crate::error::{Result, RganError};

/// rgan's default EMA decay, `0.999` (ProGAN's; TF's `ExponentialMovingAverage` has no default).
pub const GENERATOR_EMA_DECAY: f64 = 0.999;

/// Configuration of a [`GeneratorEma`]: `decay` defaults to 0.999.
///
/// ```
/// use rgan::features::GeneratorEmaConfig;
/// assert_eq!(GeneratorEmaConfig::new().decay, 0.999);
/// ```
#[derive(Config, Debug)]
pub struct GeneratorEmaConfig {
    /// Weight of the old average at each update, in `[0, 1]`.
    #[config(default = 0.999)]
    pub decay: f64,
}

impl GeneratorEmaConfig {
    /// Starts an average at a copy of `generator`; errors when `decay` is outside `[0, 1]`.
    ///
    /// ```
    /// use burn::nn::LinearConfig;
    /// use burn::prelude::*;
    /// use rgan::features::GeneratorEmaConfig;
    /// let g = LinearConfig::new(2, 2).init(&Device::default());
    /// assert!(GeneratorEmaConfig::new().init(&g).is_ok());
    /// assert!(GeneratorEmaConfig::new().with_decay(1.5).init(&g).is_err());
    /// ```
    pub fn init<M: Module>(&self, generator: &M) -> Result<GeneratorEma<M>> {
        GeneratorEma::new(generator, self.decay)
    }
}

/// The moving average of a module's float tensors (parameters and `RunningState` buffers, such
/// as batch-norm statistics, alike), kept as a separate module in validation mode.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::prelude::*;
/// use rgan::features::GeneratorEma;
/// let device = Device::default();
/// let g0 = LinearConfig::new(1, 1).init(&device);
/// let mut ema = GeneratorEma::new(&g0, 0.5).unwrap();
/// let mut g1 = g0.clone();
/// g1.weight = g1.weight.map(|w| w.add_scalar(2.0));
/// ema.update(&g1).unwrap();
/// let moved = ema.averaged().weight.val() - g0.weight.val();
/// assert!((moved.into_scalar::<f32>() - 1.0).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct GeneratorEma<M> {
    /// The decay.
    pub decay: f64,
    /// How many updates have been applied.
    pub num_updates: usize,
    averaged: M,
}

/// Collects every float tensor of a module by parameter id, flattened and outside autodiff.
struct Collector {
    values: HashMap<ParamId, (Vec<usize>, Tensor<1>)>,
}

impl ModuleVisitor for Collector {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val().detach().inner();
        let shape = value.dims().to_vec();
        let n: usize = shape.iter().product();
        self.values.insert(param.id, (shape, value.reshape([n])));
    }
}

/// Moves every float tensor of the average toward the collected values.
struct Averager {
    decay: f64,
    values: HashMap<ParamId, (Vec<usize>, Tensor<1>)>,
    error: Option<RganError>,
}

impl ModuleMapper for Averager {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some((shape, new)) = self.values.remove(&param.id) else {
            self.error.get_or_insert_with(|| {
                RganError::invalid("generator", "it lacks a parameter of the averaged model; pass the same generator (or a clone of it) at every update")
            });
            return param;
        };
        let avg_shape = param.val().dims().to_vec();
        if shape != avg_shape {
            self.error.get_or_insert_with(|| {
                RganError::shape(
                    "generator",
                    &shape,
                    format!("(one parameter) but the averaged model's has shape {avg_shape:?}"),
                )
            });
            return param;
        }
        let decay = self.decay;
        param.map(|avg| {
            replace_value(avg, |avg| {
                let dims = avg.dims();
                let new = new.to_device(&avg.device()).cast(avg.dtype()).reshape(dims);
                avg.mul_scalar(decay) + new.mul_scalar(1.0 - decay)
            })
        })
    }
}

impl<M: Module> GeneratorEma<M> {
    /// Starts the average at a copy of `generator`; errors when `decay` is outside `[0, 1]`.
    ///
    /// ```
    /// use burn::nn::LinearConfig;
    /// use burn::prelude::*;
    /// use rgan::features::GeneratorEma;
    /// let g = LinearConfig::new(3, 2).init(&Device::default());
    /// let ema = GeneratorEma::new(&g, 0.999).unwrap();
    /// assert_eq!(ema.averaged().weight.val().into_data(), g.weight.val().into_data());
    /// assert!(GeneratorEma::new(&g, -0.1).unwrap_err().to_string().contains("decay"));
    /// ```
    pub fn new(generator: &M, decay: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&decay) {
            return Err(RganError::invalid("decay", format!("{decay} is outside [0, 1]")));
        }
        // `valid()` gives a copy without autodiff whose running states are new buffers (a plain
        // clone would share them with the generator).
        let averaged = generator.valid();
        Ok(Self { decay, num_updates: 0, averaged })
    }

    /// One step of the average toward `generator`'s current values (call it after each generator
    /// step): `avg ← decay·avg + (1 - decay)·param`. Errors when `generator` does not have the
    /// averaged model's parameters (it must be the same module, as updated by the optimizer).
    ///
    /// ```
    /// use burn::nn::LinearConfig;
    /// use burn::prelude::*;
    /// use rgan::features::GeneratorEma;
    /// let device = Device::default();
    /// let g = LinearConfig::new(2, 2).init(&device);
    /// let mut ema = GeneratorEma::new(&g, 0.9).unwrap();
    /// ema.update(&g).unwrap();
    /// assert_eq!(ema.num_updates, 1);
    /// let other = LinearConfig::new(2, 2).init(&device);
    /// assert!(ema.update(&other).is_err());
    /// ```
    pub fn update(&mut self, generator: &M) -> Result<()> {
        let mut collector = Collector { values: HashMap::new() };
        generator.visit(&mut collector);
        let mut averager = Averager { decay: self.decay, values: collector.values, error: None };
        let averaged = self.averaged.clone().map(&mut averager);
        if let Some(error) = averager.error {
            return Err(error);
        }
        self.averaged = averaged;
        self.num_updates += 1;
        Ok(())
    }

    /// A copy of the averaged generator, in validation mode (no autodiff, training flags off, as
    /// `Module::valid` gives) and ready for sampling.
    ///
    /// ```
    /// use burn::nn::LinearConfig;
    /// use burn::prelude::*;
    /// use rgan::features::GeneratorEma;
    /// let g = LinearConfig::new(2, 3).init(&Device::default());
    /// assert_eq!(GeneratorEma::new(&g, 0.99).unwrap().averaged().weight.dims(), [2, 3]);
    /// ```
    pub fn averaged(&self) -> M {
        self.averaged.clone()
    }

    /// The averaged generator, consuming the average.
    ///
    /// ```
    /// use burn::nn::LinearConfig;
    /// use burn::prelude::*;
    /// use rgan::features::GeneratorEma;
    /// let g = LinearConfig::new(2, 3).init(&Device::default());
    /// let avg = GeneratorEma::new(&g, 0.99).unwrap().into_averaged();
    /// assert_eq!(avg.weight.dims(), [2, 3]);
    /// ```
    pub fn into_averaged(self) -> M {
        self.averaged
    }

    /// Replaces the average (e.g. with one loaded from a checkpoint); it is kept in validation mode.
    ///
    /// ```
    /// use burn::nn::LinearConfig;
    /// use burn::prelude::*;
    /// use rgan::features::GeneratorEma;
    /// let g = LinearConfig::new(2, 3).init(&Device::default());
    /// let mut ema = GeneratorEma::new(&g, 0.99).unwrap();
    /// ema.set_averaged(g.clone());
    /// assert_eq!(ema.averaged().weight.val().into_data(), g.weight.val().into_data());
    /// ```
    pub fn set_averaged(&mut self, averaged: M) {
        self.averaged = averaged.valid();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};

    #[derive(Module, Debug)]
    struct Generator {
        linear: Linear,
        norm: BatchNorm,
    }

    #[test]
    fn matches_the_closed_form_after_several_updates() {
        // With the generator fixed at p, after k updates: avg = d^k a0 + (1 - d^k) p.
        let device = Device::default();
        let g0 =
            Generator { linear: LinearConfig::new(2, 3).init(&device), norm: BatchNormConfig::new(3).init(&device) };
        let decay = 0.8;
        let mut ema = GeneratorEma::new(&g0, decay).unwrap();
        let mut p = g0.clone();
        p.linear.weight = p.linear.weight.map(|w| w.mul_scalar(-3.0).add_scalar(1.0));
        // `p` shares its running statistics with `g0` (a clone), not with the average.
        p.norm.running_var.update(Tensor::ones([3], &device).mul_scalar(5.0));
        let _ = p.norm.running_var.value_sync();
        for _ in 0..4 {
            ema.update(&p).unwrap();
        }
        let dk: f64 = decay.powi(4);
        let a0 = g0.linear.weight.val();
        let expected = a0.mul_scalar(dk) + p.linear.weight.val().mul_scalar(1.0 - dk);
        let got = ema.averaged().linear.weight.val();
        got.into_data().assert_approx_eq::<f32>(&expected.into_data(), burn::tensor::Tolerance::default());
        let var = ema.averaged().norm.running_var.value().into_data().try_to_vec::<f32>().unwrap();
        let expected_var = dk + 5.0 * (1.0 - dk);
        assert!(var.iter().all(|v| (*v as f64 - expected_var).abs() < 1e-5), "{var:?}");
        assert_eq!(ema.num_updates, 4);
    }

    #[test]
    fn works_with_an_autodiff_generator_and_stays_detached() {
        let device = Device::default().autodiff();
        let g = LinearConfig::new(2, 2).init(&device);
        let mut ema = GeneratorEma::new(&g, 0.5).unwrap();
        let loss = g.forward(Tensor::<2>::ones([1, 2], &device)).sum();
        let _ = loss.backward();
        ema.update(&g).unwrap();
        let avg = ema.averaged();
        avg.weight
            .val()
            .into_data()
            .assert_approx_eq::<f32>(&g.weight.val().into_data(), burn::tensor::Tolerance::default());
        assert!(!avg.weight.val().is_require_grad());
    }
}
