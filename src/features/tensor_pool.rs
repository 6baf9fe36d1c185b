//! The historical buffer of generated batches (Shrivastava et al. 2017), as TF-GAN's
//! `features/random_tensor_pool.py` (`tensor_pool`).
//!
//! Whole batches are pooled, as in TF-GAN (not single images as in the CycleGAN paper). While the
//! pool holds fewer than `pool_size` batches, each call stores its input and returns it. Once it
//! is full, each call takes out a random stored batch and stores the input in its place; with
//! probability `pooling_probability` it returns the batch taken out, otherwise the input.
//! `pool_size = 0` turns the pool off. Batches are kept on the host as [`TensorData`], and the
//! random draws come from rgan's own [`Rng`], so the whole pool can be saved with serde and
//! restored exactly.

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

use crate::error::{Result, RganError};
use crate::rng::Rng;

/// TF-GAN's default `pool_size` (50).
pub const POOL_SIZE: usize = 50;
/// TF-GAN's default `pooling_probability` (0.5).
pub const POOLING_PROBABILITY: f64 = 0.5;

/// A pool of past batches, each a list of tensors (e.g. generator inputs and generated data,
/// pooled together as TF-GAN's `tensor_pool` does with a tuple).
///
/// ```
/// use burn::prelude::*;
/// use rgan::features::TensorPool;
/// use rgan::rng::Rng;
/// let device = Device::default();
/// let mut pool = TensorPool::new(1, 1.0, Rng::seed_from_u64(0)).unwrap();
/// let a = Tensor::<2>::zeros([2, 3], &device);
/// let b = Tensor::<2>::ones([2, 3], &device);
/// assert_eq!(pool.pool(a.clone()).unwrap().into_data(), a.to_data()); // filling: the input
/// assert_eq!(pool.pool(b).unwrap().into_data(), a.into_data()); // full, p = 1: the old batch
/// // The state (pooled batches and the generator) round-trips through serde.
/// let saved = serde_json::to_string(&pool).unwrap();
/// let restored: TensorPool = serde_json::from_str(&saved).unwrap();
/// assert_eq!(restored.len(), 1);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TensorPool {
    pool_size: usize,
    pooling_probability: f64,
    rng: Rng,
    pool: Vec<Vec<TensorData>>,
}

impl TensorPool {
    /// An empty pool; errors when `pooling_probability` is outside `[0, 1]` (as TF-GAN).
    /// TF-GAN's defaults are [`POOL_SIZE`] 50 and [`POOLING_PROBABILITY`] 0.5.
    ///
    /// ```
    /// use rgan::features::TensorPool;
    /// use rgan::rng::Rng;
    /// assert!(TensorPool::new(50, 0.5, Rng::seed_from_u64(1)).is_ok());
    /// let err = TensorPool::new(50, 1.5, Rng::seed_from_u64(1)).unwrap_err().to_string();
    /// assert!(err.contains("pooling_probability"));
    /// ```
    pub fn new(pool_size: usize, pooling_probability: f64, rng: Rng) -> Result<Self> {
        if !(0.0..=1.0).contains(&pooling_probability) {
            return Err(RganError::invalid("pooling_probability", format!("{pooling_probability} is outside [0, 1]")));
        }
        Ok(Self { pool_size, pooling_probability, rng, pool: Vec::new() })
    }

    /// The capacity, in batches.
    ///
    /// ```
    /// use rgan::features::TensorPool;
    /// use rgan::rng::Rng;
    /// assert_eq!(TensorPool::new(3, 0.5, Rng::seed_from_u64(0)).unwrap().pool_size(), 3);
    /// ```
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// The probability of returning a pooled batch once the pool is full.
    ///
    /// ```
    /// use rgan::features::TensorPool;
    /// use rgan::rng::Rng;
    /// assert_eq!(TensorPool::new(3, 0.25, Rng::seed_from_u64(0)).unwrap().pooling_probability(), 0.25);
    /// ```
    pub fn pooling_probability(&self) -> f64 {
        self.pooling_probability
    }

    /// How many batches are stored.
    ///
    /// ```
    /// use rgan::features::TensorPool;
    /// use rgan::rng::Rng;
    /// assert_eq!(TensorPool::new(3, 0.5, Rng::seed_from_u64(0)).unwrap().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.pool.len()
    }

    /// Whether nothing is stored yet.
    ///
    /// ```
    /// use rgan::features::TensorPool;
    /// use rgan::rng::Rng;
    /// assert!(TensorPool::new(3, 0.5, Rng::seed_from_u64(0)).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.pool.is_empty()
    }

    fn check_structure(&self, values: &[TensorData]) -> Result<()> {
        if let Some(stored) = self.pool.first() {
            let shapes = |v: &[TensorData]| v.iter().map(|d| d.shape().to_vec()).collect::<Vec<_>>();
            let (got, want) = (shapes(values), shapes(stored));
            let dtypes_match = values.iter().zip(stored).all(|(a, b)| a.dtype() == b.dtype());
            if got != want || !dtypes_match {
                let flat: Vec<usize> = got.iter().flatten().copied().collect();
                return Err(RganError::shape(
                    "input_values",
                    &flat,
                    format!(
                        "(shapes {got:?}) but the pooled batches have shapes {want:?} and the same dtypes; every call must pool the same structure"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// One call of TF-GAN's `tensor_pool` on host data: returns either `values` or a previously
    /// stored batch (see the [module documentation](self)). Every call must pass the same number
    /// of tensors with the same shapes and dtypes.
    ///
    /// ```
    /// use burn::tensor::TensorData;
    /// use rgan::features::TensorPool;
    /// use rgan::rng::Rng;
    /// let mut pool = TensorPool::new(0, 0.5, Rng::seed_from_u64(0)).unwrap();
    /// let batch = vec![TensorData::new(vec![1.0f32, 2.0], [2])];
    /// assert_eq!(pool.apply(batch.clone()).unwrap(), batch);
    /// assert!(pool.is_empty());
    /// ```
    pub fn apply(&mut self, values: Vec<TensorData>) -> Result<Vec<TensorData>> {
        Ok(match self.select(values)? {
            Selection::Input(values) => values,
            Selection::Pooled(old) => old,
        })
    }

    /// Stores `values` and decides what to return, without converting the input when it is
    /// returned itself.
    fn select<T>(&mut self, input: T) -> Result<Selection<T>>
    where
        T: ToHost,
    {
        if self.pool_size == 0 {
            return Ok(Selection::Input(input));
        }
        let data = input.to_host();
        self.check_structure(&data)?;
        if self.pool.len() < self.pool_size {
            self.pool.push(data);
            return Ok(Selection::Input(input));
        }
        let index = self.rng.below(self.pool.len());
        let old = std::mem::replace(&mut self.pool[index], data);
        if self.rng.next_f64() < self.pooling_probability {
            Ok(Selection::Pooled(old))
        } else {
            Ok(Selection::Input(input))
        }
    }

    /// [`apply`](Self::apply) for one tensor. When the input itself is returned it is the same
    /// tensor (gradients still flow); a pooled batch comes back as a new tensor on the input's
    /// device.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::TensorPool;
    /// use rgan::rng::Rng;
    /// let device = Device::default();
    /// let mut pool = TensorPool::new(2, 0.0, Rng::seed_from_u64(0)).unwrap();
    /// for i in 0..5 {
    ///     let x = Tensor::<1>::full([3], i as f32, &device);
    ///     assert_eq!(pool.pool(x.clone()).unwrap().into_data(), x.into_data()); // p = 0
    /// }
    /// assert_eq!(pool.len(), 2);
    /// ```
    pub fn pool<const D: usize>(&mut self, values: Tensor<D>) -> Result<Tensor<D>> {
        let device = values.device();
        Ok(match self.select(vec![values])? {
            Selection::Input(mut v) => v.remove(0),
            Selection::Pooled(mut old) => Tensor::from_data(old.remove(0), &device),
        })
    }

    /// [`apply`](Self::apply) for a pair pooled together, such as `(generator_inputs,
    /// generated_data)` as TF-GAN's `gan_loss` pools them.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::features::TensorPool;
    /// use rgan::rng::Rng;
    /// let device = Device::default();
    /// let mut pool = TensorPool::new(1, 1.0, Rng::seed_from_u64(0)).unwrap();
    /// let z0 = Tensor::<2>::zeros([2, 4], &device);
    /// let x0 = Tensor::<4>::zeros([2, 1, 3, 3], &device);
    /// pool.pool_pair(z0.clone(), x0).unwrap();
    /// let (z, x) = pool.pool_pair(z0.ones_like(), Tensor::<4>::ones([2, 1, 3, 3], &device)).unwrap();
    /// assert_eq!(z.into_data(), z0.into_data());
    /// assert_eq!(x.sum().into_scalar::<f32>(), 0.0);
    /// ```
    pub fn pool_pair<const D1: usize, const D2: usize>(
        &mut self,
        first: Tensor<D1>,
        second: Tensor<D2>,
    ) -> Result<(Tensor<D1>, Tensor<D2>)> {
        let (d1, d2) = (first.device(), second.device());
        Ok(match self.select((first, second))? {
            Selection::Input(pair) => pair,
            Selection::Pooled(mut old) => {
                let b = old.pop().expect("two tensors");
                let a = old.pop().expect("two tensors");
                (Tensor::from_data(a, &d1), Tensor::from_data(b, &d2))
            }
        })
    }
}

enum Selection<T> {
    Input(T),
    Pooled(Vec<TensorData>),
}

trait ToHost {
    fn to_host(&self) -> Vec<TensorData>;
}

impl ToHost for Vec<TensorData> {
    fn to_host(&self) -> Vec<TensorData> {
        self.clone()
    }
}

impl<const D: usize> ToHost for Vec<Tensor<D>> {
    fn to_host(&self) -> Vec<TensorData> {
        self.iter().map(|t| t.to_data()).collect()
    }
}

impl<const D1: usize, const D2: usize> ToHost for (Tensor<D1>, Tensor<D2>) {
    fn to_host(&self) -> Vec<TensorData> {
        vec![self.0.to_data(), self.1.to_data()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_pooled_batches_about_as_often_as_asked() {
        let device = Device::default();
        let mut pool = TensorPool::new(5, 0.3, Rng::seed_from_u64(42)).unwrap();
        let mut pooled = 0;
        let calls = 2000;
        for i in 0..calls {
            let x = Tensor::<1>::full([1], i as f32, &device);
            let y = pool.pool(x).unwrap().into_scalar::<f32>();
            if y != i as f32 {
                assert!(y < i as f32);
                pooled += 1;
            }
        }
        let rate = pooled as f64 / (calls - 5) as f64;
        assert!((rate - 0.3).abs() < 0.04, "{rate}");
    }

    #[test]
    fn restored_pools_continue_identically() {
        let device = Device::default();
        let mut pool = TensorPool::new(3, 0.5, Rng::seed_from_u64(7)).unwrap();
        for i in 0..6 {
            pool.pool(Tensor::<1>::full([2], i as f32, &device)).unwrap();
        }
        let mut restored: TensorPool = serde_json::from_str(&serde_json::to_string(&pool).unwrap()).unwrap();
        for i in 6..20 {
            let a = pool.pool(Tensor::<1>::full([2], i as f32, &device)).unwrap().into_data();
            let b = restored.pool(Tensor::<1>::full([2], i as f32, &device)).unwrap().into_data();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn rejects_a_changed_structure() {
        let device = Device::default();
        let mut pool = TensorPool::new(3, 0.5, Rng::seed_from_u64(7)).unwrap();
        pool.pool(Tensor::<2>::zeros([2, 3], &device)).unwrap();
        let err = pool.pool(Tensor::<2>::zeros([1, 3], &device)).unwrap_err().to_string();
        assert!(err.contains("input_values") && err.contains("[2, 3]"), "{err}");
    }
}
