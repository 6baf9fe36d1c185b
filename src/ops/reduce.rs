//! Sums of a whole tensor whose bits do not depend on the number of threads.
//!
//! burn-flex adds a tensor of 4 Mi elements or more (`sum`, `mean`) with rayon's
//! `par_chunks(…).sum()`, whose partial sums are combined as work stealing splits them: the last
//! bits of the result change with the thread count, and can change from run to run. A weight's
//! L2 loss (TF-GAN's MNIST weight decay on a 6272 × 1024 weight), a gradient norm or a pixel loss
//! on a large batch are such sums. These functions add rows of [`ROW`] values first (burn reduces
//! each row of a `sum_dim` in order, on one thread), then the row sums, so a result is the same
//! bits on any number of threads. Tensors of up to [`ROW`] values are burn's own `sum` and `mean`.

use burn::prelude::*;

/// The length of the rows a large sum is cut into.
pub const ROW: usize = 1 << 16;

/// The sum of every element of `t`, as a one-element tensor, in an order fixed by the shape.
///
/// ```
/// use burn::prelude::*;
/// let device = Default::default();
/// let t = Tensor::<1>::ones([200_000], &device);
/// assert_eq!(rgan::ops::sum(t).into_scalar::<f32>(), 200_000.0);
/// ```
pub fn sum<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    let n = t.shape().num_elements();
    if n <= ROW {
        return t.sum();
    }
    let flat: Tensor<1> = t.reshape([n]);
    let rows = n / ROW;
    let whole = flat.clone().slice(0..rows * ROW).reshape([rows, ROW]).sum_dim(1).sum();
    if rows * ROW == n { whole } else { whole + flat.slice(rows * ROW..n).sum() }
}

/// The mean of every element of `t`, as a one-element tensor: [`sum`] divided by the count.
///
/// ```
/// use burn::prelude::*;
/// let device = Default::default();
/// let t = Tensor::<2>::full([300, 1000], 0.5, &device);
/// assert_eq!(rgan::ops::mean(t).into_scalar::<f32>(), 0.5);
/// ```
pub fn mean<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    let n = t.shape().num_elements();
    if n <= ROW {
        return t.mean();
    }
    sum(t).div_scalar(n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Above `ROW` values, the sum is the same bits on 1, 2 and 3 threads, and close to the f64 sum.
    #[test]
    fn large_sums_are_the_same_on_any_number_of_threads() {
        let device = Default::default();
        let n = 5 * 841_331; // above burn-flex's 4 Mi threshold, not a whole number of rows
        let values: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.618).sin()).collect();
        let exact: f64 = values.iter().map(|&v| v as f64).sum();
        let t = Tensor::<1>::from_floats(values.as_slice(), &device).reshape([n / 5, 5]);
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| (sum(t.clone()).into_scalar::<f32>(), mean(t.clone()).into_scalar::<f32>()))
        };
        let one = on(1);
        for threads in [2, 3] {
            let (s, m) = on(threads);
            assert_eq!((s.to_bits(), m.to_bits()), (one.0.to_bits(), one.1.to_bits()), "{threads} threads");
        }
        assert!((one.0 as f64 - exact).abs() < 0.5, "{} vs {exact}", one.0);
    }
}
