//! Activations that flow through a critic, and the tape of values its input gradient reuses.

use burn::prelude::*;

use crate::error::{Result, RganError};

/// What flows between critic layers: feature vectors `[batch, features]` or feature maps
/// `[batch, channels, height, width]` (NCHW, as burn).
///
/// ```
/// use burn::prelude::*;
/// use rgan::penalties::Activation;
/// let x = Activation::from(Tensor::<2>::zeros([4, 3], &Device::default()));
/// assert_eq!(x.dims(), vec![4, 3]);
/// ```
#[derive(Clone, Debug)]
pub enum Activation {
    /// Feature vectors, `[batch, features]`.
    Features(Tensor<2>),
    /// Feature maps, `[batch, channels, height, width]`.
    Maps(Tensor<4>),
}

impl From<Tensor<2>> for Activation {
    fn from(t: Tensor<2>) -> Self {
        Self::Features(t)
    }
}

impl From<Tensor<4>> for Activation {
    fn from(t: Tensor<4>) -> Self {
        Self::Maps(t)
    }
}

impl Activation {
    /// The shape.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Self::Features(t) => t.dims().to_vec(),
            Self::Maps(t) => t.dims().to_vec(),
        }
    }

    /// The feature vectors, or an error naming `layer` when these are feature maps.
    pub fn features(self, layer: &str) -> Result<Tensor<2>> {
        match self {
            Self::Features(t) => Ok(t),
            Self::Maps(t) => Err(RganError::shape(
                format!("{layer} input"),
                &t.dims(),
                "but this layer takes feature vectors [batch, features]; flatten the maps first",
            )),
        }
    }

    /// The feature maps, or an error naming `layer` when these are feature vectors.
    pub fn maps(self, layer: &str) -> Result<Tensor<4>> {
        match self {
            Self::Maps(t) => Ok(t),
            Self::Features(t) => Err(RganError::shape(
                format!("{layer} input"),
                &t.dims(),
                "but this layer takes feature maps [batch, channels, height, width]",
            )),
        }
    }

    /// Applies `f2` to feature vectors or `f4` to feature maps.
    pub fn map(self, f2: impl FnOnce(Tensor<2>) -> Tensor<2>, f4: impl FnOnce(Tensor<4>) -> Tensor<4>) -> Self {
        match self {
            Self::Features(t) => Self::Features(f2(t)),
            Self::Maps(t) => Self::Maps(f4(t)),
        }
    }

    /// Elementwise sum of two activations of the same kind and shape.
    pub fn add(self, other: Self, what: &str) -> Result<Self> {
        let (a, b) = (self.dims(), other.dims());
        if a != b {
            return Err(RganError::shape(what, &a, format!("but the other operand has shape {b:?}")));
        }
        Ok(match (self, other) {
            (Self::Features(x), Self::Features(y)) => Self::Features(x + y),
            (Self::Maps(x), Self::Maps(y)) => Self::Maps(x + y),
            _ => unreachable!("equal shapes have equal ranks"),
        })
    }

    /// A tensor of ones with this shape, dtype and device.
    pub fn ones_like(&self) -> Self {
        self.clone().map(|t| t.ones_like(), |t| t.ones_like())
    }
}

/// The values a critic's forward pass records for its input gradient, in a stack: each layer
/// pushes in [`CriticLayer::forward_taped`](super::CriticLayer::forward_taped) and pops, in
/// reverse order, in [`CriticLayer::input_gradient`](super::CriticLayer::input_gradient).
///
/// The tape also carries the critic's conditioning (e.g. one-hot labels), a constant for every
/// gradient.
///
/// ```
/// use burn::prelude::*;
/// use rgan::penalties::Tape;
/// let labels = Tensor::<2>::eye(3, &Device::default());
/// let tape = Tape::with_conditioning(labels);
/// assert_eq!(tape.conditioning().unwrap().dims(), [3, 3]);
/// ```
#[derive(Debug, Default)]
pub struct Tape {
    saved: Vec<Saved>,
    conditioning: Option<Tensor<2>>,
}

impl Tape {
    /// An empty tape for an unconditional critic.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tape for a critic conditioned on `conditioning` (`[batch, k]`).
    pub fn with_conditioning(conditioning: Tensor<2>) -> Self {
        Self { saved: Vec::new(), conditioning: Some(conditioning) }
    }

    /// The conditioning, if any.
    pub fn conditioning(&self) -> Option<&Tensor<2>> {
        self.conditioning.as_ref()
    }

    /// Records a value for the input gradient.
    pub fn push(&mut self, value: impl Into<Activation>) {
        self.saved.push(Saved::Value(value.into()));
    }

    /// Records a shape for the input gradient.
    pub fn push_shape(&mut self, shape: &[usize]) {
        self.saved.push(Saved::Shape(shape.to_vec()));
    }

    fn pop_saved(&mut self, layer: &str) -> Result<Saved> {
        self.saved.pop().ok_or_else(|| {
            RganError::invalid("tape", format!("{layer}: nothing recorded; call forward_taped before input_gradient"))
        })
    }

    /// Takes back the most recent entry, which must be a shape.
    pub fn pop_shape(&mut self, layer: &str) -> Result<Vec<usize>> {
        match self.pop_saved(layer)? {
            Saved::Shape(shape) => Ok(shape),
            Saved::Value(_) => {
                Err(RganError::invalid("tape", format!("{layer}: expected a shape on the tape, found a tensor")))
            }
        }
    }

    /// Takes back the most recent value; an error (naming `layer`) when the tape is empty, which
    /// means `input_gradient` was called without the matching `forward_taped`.
    pub fn pop(&mut self, layer: &str) -> Result<Activation> {
        match self.pop_saved(layer)? {
            Saved::Value(value) => Ok(value),
            Saved::Shape(_) => {
                Err(RganError::invalid("tape", format!("{layer}: expected a tensor on the tape, found a shape")))
            }
        }
    }

    /// [`Tape::pop`], expecting feature vectors.
    pub fn pop_features(&mut self, layer: &str) -> Result<Tensor<2>> {
        self.pop(layer)?.features(layer)
    }

    /// [`Tape::pop`], expecting feature maps.
    pub fn pop_maps(&mut self, layer: &str) -> Result<Tensor<4>> {
        self.pop(layer)?.maps(layer)
    }

    /// How many values are recorded.
    pub fn len(&self) -> usize {
        self.saved.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.saved.is_empty()
    }
}

/// One entry of a [`Tape`].
#[derive(Debug)]
enum Saved {
    Value(Activation),
    Shape(Vec<usize>),
}
