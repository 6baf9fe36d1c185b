//! Exact gradient penalties (WGAN-GP, R1, R2, DRAGAN) by explicit double backprop.
//!
//! burn's autodiff is first order: it cannot differentiate a gradient. So each critic layer
//! implements [`CriticLayer`]: besides its forward pass it writes its input gradient (the
//! vector-Jacobian product) in ordinary differentiable burn ops. The penalty built on that input
//! gradient is then an ordinary graph, and `penalty.backward()` gives the exact gradient with
//! respect to every weight — the same numbers TF computes by double backprop.
//!
//! A critic is built the way any burn module is (`#[derive(Module)]`), and lists its layers by
//! implementing [`SequentialCritic`].

mod compose;
mod feature_layers;
mod gradient_penalty;
mod layer;
mod layers;
mod tape;

pub use compose::{Concat, ConcatConditioning, Residual};
pub use gradient_penalty::{
    GradientPenalty, GradientPenaltyOptions, R1Penalty, critic_input_gradient, dragan_penalty, r1_penalty, r2_penalty,
    wasserstein_gradient_penalty, wasserstein_gradient_penalty_with_alpha,
};
pub use layer::{CriticLayer, SequentialCritic, chain_forward, chain_input_gradient};
pub use layers::{Flatten, LayerNorm, LayerNormConfig, MinibatchStddev, Unflatten};
#[allow(unused_imports)]
pub(crate) use layers::{
    conv2d_forward_taped, conv2d_input_gradient_taped, normalize, normalize_input_gradient, per_channel,
};
pub use tape::{Activation, Tape};
