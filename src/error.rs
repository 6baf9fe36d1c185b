//! The library's error type.

/// Everything that can go wrong in rgan: the message names the argument or file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum RganError {
    /// An argument's shape does not fit: names the argument, its shape and what it should match.
    #[error("`{argument}` has shape {shape:?}, {expected}")]
    ShapeMismatch {
        /// The argument's name, as in TF-GAN.
        argument: String,
        /// Its actual shape.
        shape: Vec<usize>,
        /// What it should have been, naming the other argument and its shape.
        expected: String,
    },
    /// An argument's value is out of range or inconsistent.
    #[error("`{argument}`: {reason}")]
    InvalidArgument {
        /// The argument's name.
        argument: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A critic layer's configuration that the exact input gradient does not support.
    #[error("{layer}: the exact input gradient does not support {what}")]
    UnsupportedLayer {
        /// The layer's type.
        layer: String,
        /// The unsupported setting.
        what: String,
    },
    /// Training diverged: a loss became NaN or infinite, and the update was not applied.
    #[error(
        "`{loss}` is {value} at step {step}: training diverged and stopped before applying the update; {kept}. Try \
         a lower learning rate or another --seed"
    )]
    Diverged {
        /// The loss's name (`generator_loss`, `discriminator_loss`, …).
        loss: String,
        /// Its value.
        value: f64,
        /// The global step being trained (1-based).
        step: usize,
        /// Which checkpoint is kept.
        kept: String,
    },
    /// Training diverged without a loss showing it: weights or generated images hold NaN or
    /// infinite values, so no checkpoint of them is written.
    #[error(
        "{what} hold NaN or infinite values at step {step}: training diverged and this step is not saved; {kept}. \
         Try a lower learning rate or another --seed"
    )]
    NotFinite {
        /// What holds them (`the weights in generator.bpk`, `the sample grid`, …).
        what: String,
        /// The global step.
        step: usize,
        /// Which checkpoint is kept.
        kept: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file's path.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl RganError {
    /// A [`RganError::ShapeMismatch`].
    pub fn shape(argument: impl Into<String>, shape: &[usize], expected: impl Into<String>) -> Self {
        Self::ShapeMismatch { argument: argument.into(), shape: shape.to_vec(), expected: expected.into() }
    }

    /// An [`RganError::InvalidArgument`].
    pub fn invalid(argument: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument { argument: argument.into(), reason: reason.into() }
    }

    /// An [`RganError::File`].
    ///
    /// ```
    /// let e = rgan::RganError::file("/tmp/x.bpk", "cannot read: gone");
    /// assert_eq!(e.to_string(), "/tmp/x.bpk: cannot read: gone");
    /// ```
    pub fn file(path: impl AsRef<std::path::Path>, reason: impl Into<String>) -> Self {
        Self::File { path: path.as_ref().to_path_buf(), reason: reason.into() }
    }

    /// An [`RganError::UnsupportedLayer`].
    pub fn unsupported(layer: impl Into<String>, what: impl Into<String>) -> Self {
        Self::UnsupportedLayer { layer: layer.into(), what: what.into() }
    }
}

/// `Result` with [`RganError`].
pub type Result<T, E = RganError> = std::result::Result<T, E>;
