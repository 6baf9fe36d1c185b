//! Compositions of critic layers: residual sums, concatenations and conditioning on labels.

use burn::prelude::*;

use super::layer::CriticLayer;
use super::tape::{Activation, Tape};
use crate::error::{Result, RganError};

/// `x + inner(x)`: a residual block around any critic layer (or chain).
///
/// ```
/// use burn::nn::Tanh;
/// use burn::prelude::*;
/// use rgan::penalties::{Activation, CriticLayer, Residual, Tape};
/// let block = Residual::new(Tanh);
/// let mut tape = Tape::new();
/// let x = Activation::from(Tensor::<2>::zeros([1, 2], &Device::default()));
/// let y = block.forward_taped(x, &mut tape).unwrap();
/// let dx = block.input_gradient(y.ones_like(), &mut tape).unwrap();
/// assert_eq!(dx.features("dx").unwrap().sum().into_scalar::<f32>(), 4.0); // (1 + tanh'(0)) * 2
/// ```
#[derive(Module, Debug)]
pub struct Residual<M> {
    /// The residual branch.
    pub inner: M,
}

impl<M> Residual<M> {
    /// A residual block around `inner`.
    pub fn new(inner: M) -> Self {
        Self { inner }
    }
}

impl<M: CriticLayer> CriticLayer for Residual<M> {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let branch = self.inner.forward_taped(input.clone(), tape)?;
        input.add(branch, "Residual branch output")
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        let through_branch = self.inner.input_gradient(output_gradient.clone(), tape)?;
        output_gradient.add(through_branch, "Residual branch input gradient")
    }
}

/// Two branches on the same input, concatenated along the feature/channel axis.
///
/// ```
/// use burn::nn::{Relu, Tanh};
/// use burn::prelude::*;
/// use rgan::penalties::{Activation, Concat, CriticLayer, Tape};
/// let both = Concat::new(Tanh, Relu);
/// let x = Activation::from(Tensor::<2>::ones([1, 2], &Device::default()));
/// assert_eq!(both.forward_taped(x, &mut Tape::new()).unwrap().dims(), vec![1, 4]);
/// ```
#[derive(Module, Debug)]
pub struct Concat<A, B> {
    /// The first branch (its outputs come first).
    pub first: A,
    /// The second branch.
    pub second: B,
}

impl<A, B> Concat<A, B> {
    /// Concatenates the outputs of `first` and `second`.
    pub fn new(first: A, second: B) -> Self {
        Self { first, second }
    }
}

impl<A: CriticLayer, B: CriticLayer> CriticLayer for Concat<A, B> {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let a = self.first.forward_taped(input.clone(), tape)?;
        let b = self.second.forward_taped(input, tape)?;
        let (da, db) = (a.dims(), b.dims());
        if da.len() != db.len() || da[0] != db[0] || da[2..] != db[2..] {
            return Err(RganError::shape("Concat first branch output", &da, format!("but the second is {db:?}")));
        }
        tape.push_shape(&da);
        Ok(match (a, b) {
            (Activation::Features(a), Activation::Features(b)) => Activation::Features(Tensor::cat(vec![a, b], 1)),
            (Activation::Maps(a), Activation::Maps(b)) => Activation::Maps(Tensor::cat(vec![a, b], 1)),
            _ => unreachable!("equal ranks"),
        })
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        let first_width = tape.pop_shape("Concat")?[1];
        let total = output_gradient.dims()[1];
        let (ga, gb) = match output_gradient {
            Activation::Features(g) => {
                let mut parts = g.split_with_sizes(vec![first_width, total - first_width], 1);
                let gb = parts.pop().expect("two parts");
                (Activation::Features(parts.pop().expect("two parts")), Activation::Features(gb))
            }
            Activation::Maps(g) => {
                let mut parts = g.split_with_sizes(vec![first_width, total - first_width], 1);
                let gb = parts.pop().expect("two parts");
                (Activation::Maps(parts.pop().expect("two parts")), Activation::Maps(gb))
            }
        };
        let from_b = self.second.input_gradient(gb, tape)?;
        let from_a = self.first.input_gradient(ga, tape)?;
        from_a.add(from_b, "Concat branch input gradients")
    }
}

/// Appends the critic's conditioning (e.g. one-hot labels `[batch, k]`, carried by the
/// [`Tape`]) to its input: as `k` more features, or as `k` constant channels of feature maps
/// (TF-GAN's conditional discriminator style). The labels are constants for every gradient.
///
/// ```
/// use burn::prelude::*;
/// use rgan::penalties::{Activation, ConcatConditioning, CriticLayer, Tape};
/// let device = Device::default();
/// let mut tape = Tape::with_conditioning(Tensor::<2>::eye(2, &device));
/// let x = Activation::from(Tensor::<4>::zeros([2, 3, 4, 4], &device));
/// let y = ConcatConditioning.forward_taped(x, &mut tape).unwrap();
/// assert_eq!(y.dims(), vec![2, 5, 4, 4]);
/// ```
#[derive(Module, Debug, Default)]
pub struct ConcatConditioning;

impl ConcatConditioning {
    fn labels(tape: &Tape, batch: usize) -> Result<Tensor<2>> {
        let labels = tape.conditioning().ok_or_else(|| {
            RganError::invalid(
                "conditioning",
                "ConcatConditioning needs conditioning; pass it to the penalty (Some(labels))",
            )
        })?;
        let dims = labels.dims();
        if dims[0] != batch {
            return Err(RganError::shape(
                "conditioning",
                &dims,
                format!("but the critic's input has batch size {batch}"),
            ));
        }
        Ok(labels.clone().detach())
    }
}

impl CriticLayer for ConcatConditioning {
    fn forward_taped(&self, input: Activation, tape: &mut Tape) -> Result<Activation> {
        let batch = input.dims()[0];
        let labels = Self::labels(tape, batch)?;
        Ok(match input {
            Activation::Features(x) => {
                let labels = labels.cast(x.dtype());
                Activation::Features(Tensor::cat(vec![x, labels], 1))
            }
            Activation::Maps(x) => {
                let [b, _, h, w] = x.dims();
                let [_, k] = labels.dims();
                let labels = labels.cast(x.dtype()).reshape([b, k, 1, 1]).expand([b, k, h, w]);
                Activation::Maps(Tensor::cat(vec![x, labels], 1))
            }
        })
    }

    fn input_gradient(&self, output_gradient: Activation, tape: &mut Tape) -> Result<Activation> {
        let dims = output_gradient.dims();
        let k = Self::labels(tape, dims[0])?.dims()[1];
        let c = dims[1] - k;
        Ok(output_gradient.map(|g| g.narrow(1, 0, c), |g| g.narrow(1, 0, c)))
    }
}
