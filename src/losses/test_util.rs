//! Helpers for the losses' unit tests: float64 tensors and central finite differences.

use burn::prelude::*;
use burn::tensor::{DType, TensorData};

/// A float64 tensor.
pub(crate) fn t64<const D: usize>(values: &[f64], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), (device, DType::F64))
}

/// The single value of a reduced loss, as f64.
pub(crate) fn value<const D: usize>(t: Tensor<D>) -> f64 {
    assert_eq!(t.shape().num_elements(), 1, "not a reduced loss: {:?}", t.dims());
    t.into_scalar::<f64>()
}

/// All values of a tensor, as f64.
pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_into_vec::<f64>().unwrap()
}

/// Checks the autodiff gradient of `loss(a, b)` with respect to both float64 inputs against
/// central finite differences (step 1e-6, tolerance 1e-7 + 1e-6 relative).
pub(crate) fn check_gradients<const D: usize>(
    loss: impl Fn(Tensor<D>, Tensor<D>) -> Tensor<D>,
    a: (&[f64], [usize; D]),
    b: (&[f64], [usize; D]),
) {
    let device = Device::default().autodiff();
    let ta = t64(a.0, a.1, &device).require_grad();
    let tb = t64(b.0, b.1, &device).require_grad();
    let grads = loss(ta.clone(), tb.clone()).sum().backward();
    let analytic = [values(ta.grad(&grads).expect("grad of a")), values(tb.grad(&grads).expect("grad of b"))];

    let plain = Device::default();
    let eval = |va: &[f64], vb: &[f64]| value(loss(t64(va, a.1, &plain), t64(vb, b.1, &plain)));
    let h = 1e-6;
    for (which, analytic) in analytic.iter().enumerate() {
        let n = if which == 0 { a.0.len() } else { b.0.len() };
        for i in 0..n {
            let (mut plus_a, mut plus_b, mut minus_a, mut minus_b) =
                (a.0.to_vec(), b.0.to_vec(), a.0.to_vec(), b.0.to_vec());
            if which == 0 {
                plus_a[i] += h;
                minus_a[i] -= h;
            } else {
                plus_b[i] += h;
                minus_b[i] -= h;
            }
            let numeric = (eval(&plus_a, &plus_b) - eval(&minus_a, &minus_b)) / (2.0 * h);
            let got = analytic[i];
            assert!(
                (got - numeric).abs() <= 1e-7 + 1e-6 * numeric.abs(),
                "input {which} element {i}: autodiff {got}, finite difference {numeric}"
            );
        }
    }
}
