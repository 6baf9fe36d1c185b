//! A shuffling batcher whose position can be saved and restored.

use burn::prelude::*;
use burn::tensor::TensorData;

use super::ImageDataset;
use crate::error::{Result, RganError};
use crate::rng::Rng;

/// Where a [`Batcher`] stands: the epoch, the index of the next example in that epoch's
/// permutation, and the seed the permutations are drawn from. Saved in checkpoints.
///
/// ```
/// let state = rgan::data::BatcherState { epoch: 2, index: 64, seed: 7 };
/// let json = serde_json::to_string(&state).unwrap();
/// assert_eq!(serde_json::from_str::<rgan::data::BatcherState>(&json).unwrap(), state);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatcherState {
    /// The current epoch (0-based).
    pub epoch: u64,
    /// The position of the next example in the epoch's permutation.
    pub index: usize,
    /// The seed of the permutations.
    pub seed: u64,
}

/// A batch: images `[N, C, H, W]` in `[-1, 1]` and their labels `[N]`.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The images.
    pub images: Tensor<4>,
    /// The labels.
    pub labels: Tensor<1, Int>,
}

/// Yields shuffled batches of a fixed size, reshuffling every epoch and dropping the last
/// incomplete batch (TF-GAN's `drop_remainder=True`). Each epoch's permutation is drawn from an
/// [`Rng`] seeded by `(seed, epoch)`, so a saved [`BatcherState`] resumes exactly.
///
/// TF-GAN's example shuffles through a 10000-example buffer; this batcher draws a full
/// permutation instead (a uniform shuffle).
///
/// ```
/// use rgan::data::Batcher;
/// let mut b = Batcher::new(10, 4, 0).unwrap();
/// let first = b.next_indices();
/// let second = b.next_indices();
/// assert_eq!((first.len(), b.state().epoch), (4, 0));
/// b.next_indices(); // only 2 left: a new epoch starts
/// assert_eq!(b.state().epoch, 1);
/// let mut resumed = Batcher::from_state(10, 4, b.state()).unwrap();
/// assert_eq!(resumed.next_indices(), b.next_indices());
/// # let _ = (first, second);
/// ```
#[derive(Clone, Debug)]
pub struct Batcher {
    len: usize,
    batch_size: usize,
    state: BatcherState,
    permutation: Vec<usize>,
}

fn permutation(len: usize, seed: u64, epoch: u64) -> Vec<usize> {
    Rng::seed_from_u64(seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15)).permutation(len)
}

impl Batcher {
    /// A batcher over `len` examples starting at epoch 0.
    ///
    /// Errors if `batch_size` is 0 or larger than `len`.
    ///
    /// ```
    /// assert!(rgan::data::Batcher::new(10, 11, 0).is_err());
    /// ```
    pub fn new(len: usize, batch_size: usize, seed: u64) -> Result<Self> {
        Self::from_state(len, batch_size, BatcherState { epoch: 0, index: 0, seed })
    }

    /// A batcher resuming from a saved state.
    ///
    /// ```
    /// use rgan::data::{Batcher, BatcherState};
    /// let b = Batcher::from_state(10, 2, BatcherState { epoch: 3, index: 4, seed: 1 }).unwrap();
    /// assert_eq!(b.state().index, 4);
    /// ```
    pub fn from_state(len: usize, batch_size: usize, state: BatcherState) -> Result<Self> {
        if batch_size == 0 {
            return Err(RganError::invalid("batch_size", "must be at least 1"));
        }
        if batch_size > len {
            return Err(RganError::invalid(
                "batch_size",
                format!("is {batch_size} but the data set holds only {len} examples"),
            ));
        }
        if state.index > len {
            return Err(RganError::invalid(
                "state.index",
                format!("is {} but the data set holds only {len} examples", state.index),
            ));
        }
        Ok(Self { len, batch_size, state, permutation: permutation(len, state.seed, state.epoch) })
    }

    /// The position to save.
    pub fn state(&self) -> BatcherState {
        self.state
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The indices of the next batch, starting a new epoch (new permutation) when fewer than
    /// `batch_size` examples remain.
    pub fn next_indices(&mut self) -> Vec<usize> {
        if self.state.index + self.batch_size > self.len {
            self.state.epoch += 1;
            self.state.index = 0;
            self.permutation = permutation(self.len, self.state.seed, self.state.epoch);
        }
        let start = self.state.index;
        self.state.index += self.batch_size;
        self.permutation[start..start + self.batch_size].to_vec()
    }

    /// The next batch of `data` as tensors on `device`.
    ///
    /// Errors if `data` does not hold as many examples as the batcher was made for.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::data::{Batcher, IdxImages, Mnist};
    /// let m = Mnist { images: IdxImages { count: 3, rows: 1, cols: 1, pixels: vec![0, 255, 0] }, labels: vec![1, 2, 3] };
    /// let mut b = Batcher::new(3, 2, 0).unwrap();
    /// let batch = b.next_batch(&m, &Device::default()).unwrap();
    /// assert_eq!(batch.images.dims(), [2, 1, 1, 1]);
    /// ```
    pub fn next_batch<D: ImageDataset + ?Sized>(&mut self, data: &D, device: &Device) -> Result<Batch> {
        if data.len() != self.len {
            return Err(RganError::invalid(
                "data",
                format!("holds {} examples but the batcher was made for {}", data.len(), self.len),
            ));
        }
        let indices = self.next_indices();
        let [c, h, w] = data.image_shape();
        let mut pixels = Vec::with_capacity(indices.len() * c * h * w);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in &indices {
            data.extend_image(i, &mut pixels);
            labels.push(data.label(i));
        }
        let n = indices.len();
        Ok(Batch {
            images: Tensor::from_data(TensorData::new(pixels, [n, c, h, w]), device),
            labels: Tensor::from_data(TensorData::new(labels, [n]), device),
        })
    }
}
