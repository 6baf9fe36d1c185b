use burn::prelude::*;
use burn::tensor::{DType, TensorData};
fn main() {
    let dev = Device::default().autodiff();
    let t: Tensor<2> = Tensor::from_data(TensorData::new(vec![1.0f64, 2.0], [1, 2]), &dev);
    println!("from_data f64: {:?}", t.dtype());
    let w = t.clone().cast(DType::F64).require_grad();
    println!("cast: {:?}", w.dtype());
    let p = burn::module::Param::from_tensor(w);
    println!("param val: {:?}", p.val().dtype());
    let mut l = burn::nn::LinearConfig::new(2, 2).init(&dev);
    l.weight =
        burn::module::Param::from_tensor(Tensor::from_data(TensorData::new(vec![1.0f64, 2.0, 3.0, 4.0], [2, 2]), &dev));
    println!("linear weight: {:?}", l.weight.val().dtype());
}
