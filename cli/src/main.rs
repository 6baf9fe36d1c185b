use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::{
    DType, TensorData,
    module::{conv_transpose2d, conv2d},
    ops::{ConvOptions, ConvTransposeOptions},
};

#[derive(Module, Debug)]
struct Mlp {
    l: Linear,
    w: Param<Tensor<2>>,
}

fn main() {
    let dev = Device::flex().autodiff();
    let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f64, 2.0, 3.0, 4.0], [2, 2]), &dev);
    println!("dtype {:?} autodiff {}", x.dtype(), x.is_autodiff());
    let w = Tensor::<2>::from_data(TensorData::new(vec![0.5f64, -1.0, 2.0, 0.25], [2, 2]), &dev).require_grad();
    let y = x.clone().matmul(w.clone()).tanh();
    // vjp manual: d/dx sum(tanh(xW)) = (1-y^2) W^T
    let gx = (y.clone().powi_scalar(2).neg() + 1.0).matmul(w.clone().transpose());
    let pen = gx.powi_scalar(2).sum();
    println!("pen {:?}", pen.to_data());
    let grads = pen.backward();
    let gw = w.grad(&grads).unwrap();
    println!("gw {:?} dtype {:?}", gw.to_data(), gw.dtype());
    // conv transpose differentiable wrt weight
    let k = Tensor::<4>::from_data(
        TensorData::new((0..2 * 3 * 3 * 3).map(|i| (i as f64) * 0.01).collect::<Vec<_>>(), [2, 3, 3, 3]),
        &dev,
    )
    .require_grad();
    let xin = Tensor::<4>::from_data(
        TensorData::new((0..1 * 3 * 6 * 6).map(|i| ((i as f64) * 0.37).sin()).collect::<Vec<_>>(), [1, 3, 6, 6]),
        &dev,
    );
    let yo = conv2d(xin.clone(), k.clone(), None, ConvOptions::new_with_padding([2, 2], [(0, 1), (0, 1)], [1, 1], 1));
    println!("conv out {:?}", yo.dims());
    let g = conv_transpose2d(
        yo.clone().ones_like(),
        k.clone(),
        None,
        ConvTransposeOptions::new([2, 2], [0, 0], [0, 0], [1, 1], 1),
    );
    println!("convT out {:?}", g.dims());
    let s = g.powi_scalar(2).sum();
    let gr = s.backward();
    println!("gk {:?}", k.grad(&gr).map(|t| t.dims()));
    let m = Mlp { l: LinearConfig::new(3, 2).init(&dev), w: Param::from_tensor(Tensor::zeros([2, 2], &dev)) };
    println!("linear weight dtype {:?}", m.l.weight.val().dtype());
    let dev64 = Device::flex();
    println!("supports f64 {}", dev64.supports_dtype(DType::F64));
}
