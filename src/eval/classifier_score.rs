//! The classifier (Inception) score: TF-GAN's `classifier_score_from_logits`, its streaming
//! variant, and the "mean ± std over splits" protocol of Salimans et al.

use burn::prelude::*;

use super::{MatrixRef, host, min_rows};
use crate::error::{Result, RganError};

/// `softmax(row)` and `log_softmax(row)`, computed stably (max subtracted).
fn softmax_and_log(row: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = row.iter().map(|&x| (x - max).exp()).sum();
    let log_sum = sum.ln();
    let log_p: Vec<f64> = row.iter().map(|&x| x - max - log_sum).collect();
    let p = log_p.iter().map(|&l| l.exp()).collect();
    (p, log_p)
}

fn check_logits(logits: MatrixRef) -> Result<()> {
    min_rows("logits", logits, 1, "the classifier score")?;
    if logits.cols() == 0 {
        return Err(RganError::shape("logits", &logits.shape(), "but at least one class is needed"));
    }
    Ok(())
}

/// [`classifier_score_from_logits`] on a host matrix `[batch, classes]` of logits.
///
/// ```
/// let logits = [2.0, 0.0, 0.0, 2.0];
/// let m = rgan::eval::MatrixRef::new("logits", &logits, 2, 2).unwrap();
/// let score = rgan::eval::classifier_score_from_logits_f64(m).unwrap();
/// assert!(score > 1.0 && score < 2.0);
/// ```
pub fn classifier_score_from_logits_f64(logits: MatrixRef) -> Result<f64> {
    check_logits(logits)?;
    let (n, c) = (logits.rows(), logits.cols());
    let rows: Vec<(Vec<f64>, Vec<f64>)> = (0..n).map(|i| softmax_and_log(logits.row(i))).collect();
    let mut q = vec![0.0; c];
    for (p, _) in &rows {
        for (qj, pj) in q.iter_mut().zip(p) {
            *qj += pj;
        }
    }
    let log_q: Vec<f64> = q.iter().map(|&s| (s / n as f64).ln()).collect();
    let mut total = 0.0;
    for (p, log_p) in &rows {
        let kl: f64 = (0..c).map(|j| p[j] * (log_p[j] - log_q[j])).sum();
        total += kl;
    }
    Ok((total / n as f64).exp())
}

/// TF-GAN's `classifier_score_from_logits`: `p = softmax(logits)`, `q = mean_b p`, and
/// `exp(mean_b KL(p || q))` over the whole batch (one number, no splits), in f64.
///
/// A classifier that is confident and uses all classes evenly scores the number of classes;
/// one that always predicts the same distribution scores 1.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// // Two samples, each certain of a different class: the score is close to 2.
/// let logits = Tensor::<2>::from_floats([[20.0, 0.0], [0.0, 20.0]], &device);
/// let score = rgan::eval::classifier_score_from_logits(&logits).unwrap();
/// assert!((score - 2.0).abs() < 1e-6);
/// ```
pub fn classifier_score_from_logits(logits: &Tensor<2>) -> Result<f64> {
    classifier_score_from_logits_f64(host(logits, "logits")?.view())
}

/// TF-GAN's `classifier_score_from_logits_streaming`: feed chunks of logits with
/// [`update`](Self::update), read the score over everything fed with [`value`](Self::value).
///
/// It keeps the running sum of `p(y|x)` and of `sum_j p log_softmax` in f64; the score is
/// `exp(E[sum_j p log p] - sum_j q log q)`, which equals [`classifier_score_from_logits`] on the
/// concatenated chunks.
///
/// ```
/// use burn::prelude::*;
/// use rgan::eval::*;
/// let device = Device::default();
/// let a = Tensor::<2>::from_floats([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]], &device);
/// let b = Tensor::<2>::from_floats([[0.5, 0.5, 3.0]], &device);
/// let mut streaming = ClassifierScoreStreaming::new();
/// streaming.update(&a).unwrap();
/// streaming.update(&b).unwrap();
/// let all = Tensor::cat(vec![a, b], 0);
/// let batch = classifier_score_from_logits(&all).unwrap();
/// assert!((streaming.value().unwrap() - batch).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClassifierScoreStreaming {
    count: usize,
    sum_p: Vec<f64>,
    sum_p_log_p: f64,
}

impl ClassifierScoreStreaming {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a chunk of logits `[batch, classes]`.
    pub fn update(&mut self, logits: &Tensor<2>) -> Result<()> {
        self.update_f64(host(logits, "logits")?.view())
    }

    /// Adds a chunk of logits from a host matrix.
    ///
    /// ```
    /// let mut s = rgan::eval::ClassifierScoreStreaming::new();
    /// let m = rgan::eval::MatrixRef::new("logits", &[0.0, 1.0], 1, 2).unwrap();
    /// s.update_f64(m).unwrap();
    /// assert_eq!(s.count(), 1);
    /// ```
    pub fn update_f64(&mut self, logits: MatrixRef) -> Result<()> {
        check_logits(logits)?;
        if self.count > 0 && logits.cols() != self.sum_p.len() {
            return Err(RganError::shape(
                "logits",
                &logits.shape(),
                format!("but earlier chunks had {} classes", self.sum_p.len()),
            ));
        }
        if self.count == 0 {
            self.sum_p = vec![0.0; logits.cols()];
        }
        for i in 0..logits.rows() {
            let (p, log_p) = softmax_and_log(logits.row(i));
            for (s, pj) in self.sum_p.iter_mut().zip(&p) {
                *s += pj;
            }
            self.sum_p_log_p += p.iter().zip(&log_p).map(|(p, l)| p * l).sum::<f64>();
        }
        self.count += logits.rows();
        Ok(())
    }

    /// The number of samples fed so far.
    ///
    /// ```
    /// assert_eq!(rgan::eval::ClassifierScoreStreaming::new().count(), 0);
    /// ```
    pub fn count(&self) -> usize {
        self.count
    }

    /// The score over every sample fed so far; an error before the first update.
    ///
    /// ```
    /// assert!(rgan::eval::ClassifierScoreStreaming::new().value().is_err());
    /// ```
    pub fn value(&self) -> Result<f64> {
        if self.count == 0 {
            return Err(RganError::invalid("logits", "no logits were fed to the streaming classifier score"));
        }
        let n = self.count as f64;
        let q_log_q: f64 = self
            .sum_p
            .iter()
            .map(|&s| {
                let q = s / n;
                if q > 0.0 { q * q.ln() } else { 0.0 }
            })
            .sum();
        Ok((self.sum_p_log_p / n - q_log_q).exp())
    }
}

/// [`inception_score_splits`] on a host matrix of logits.
///
/// ```
/// let logits = [3.0, 0.0, 0.0, 3.0, 3.0, 0.0, 0.0, 3.0];
/// let m = rgan::eval::MatrixRef::new("logits", &logits, 4, 2).unwrap();
/// let (mean, std) = rgan::eval::inception_score_splits_f64(m, 2).unwrap();
/// assert!(mean > 1.0 && std.abs() < 1e-12);
/// ```
pub fn inception_score_splits_f64(logits: MatrixRef, splits: usize) -> Result<(f64, f64)> {
    check_logits(logits)?;
    let n = logits.rows();
    if splits == 0 || splits > n {
        return Err(RganError::invalid(
            "splits",
            format!("must be between 1 and the number of samples ({n}), got {splits}"),
        ));
    }
    let c = logits.cols();
    let mut scores = Vec::with_capacity(splits);
    for k in 0..splits {
        let (start, end) = (k * n / splits, (k + 1) * n / splits);
        let part = MatrixRef::new("logits", &logits.data()[start * c..end * c], end - start, c)?;
        scores.push(classifier_score_from_logits_f64(part)?);
    }
    let mean = scores.iter().sum::<f64>() / splits as f64;
    let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / splits as f64;
    Ok((mean, var.sqrt()))
}

/// The Inception score as peers report it (Salimans et al. 2016, torch-fidelity, StudioGAN):
/// the samples are cut in order into `splits` (usually 10) nearly equal parts
/// (`[k*n/splits, (k+1)*n/splits)`), [`classifier_score_from_logits`] is computed on each, and
/// the mean and the population std (numpy's `np.std`) of those scores are returned.
///
/// TF-GAN itself has no splits: use [`classifier_score_from_logits`] for its number.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let logits = Tensor::<2>::from_floats([[4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [0.0, 4.0]], &device);
/// let (mean, std) = rgan::eval::inception_score_splits(&logits, 2).unwrap();
/// assert!(mean > 1.5 && std < 1e-12);
/// assert!(rgan::eval::inception_score_splits(&logits, 5).is_err());
/// ```
pub fn inception_score_splits(logits: &Tensor<2>, splits: usize) -> Result<(f64, f64)> {
    inception_score_splits_f64(host(logits, "logits")?.view(), splits)
}
