//! Image grids: TF-GAN's `image_grid`, `python_image_grid` and `image_reshaper`.
//!
//! Layout: all three work on **NHWC** images (`[batch, height, width, channels]`), as TF-GAN
//! does; rgan's networks produce NCHW (`[batch, channels, height, width]`), so call
//! `images.permute([0, 2, 3, 1])` first. (For a PNG of NCHW samples see
//! [`crate::train::image_grid`].)

use burn::prelude::*;

use crate::error::{Result, RganError};

/// Tiles `rows * cols` NHWC images `[rows*cols, h, w, c]` row-major into `[rows, cols, h, w, c]`
/// and then `[1, rows*h, cols*w, c]`.
fn tile(images: Tensor<4>, rows: usize, cols: usize) -> Tensor<4> {
    let [_, h, w, c] = images.dims();
    images.reshape([rows, cols, h, w, c]).swap_dims(1, 2).reshape([1, rows * h, cols * w, c])
}

/// TF-GAN's `image_grid(input_tensor, grid_shape, image_shape=(32, 32), num_channels=3)`: tiles a
/// batch of `B = rows * cols` images row-major into one `[1, rows*h, cols*w, c]` image.
///
/// `input` is either NHWC `[B, h, w, c]` (`D = 4`) or flattened `[B, h*w*c]` (`D = 2`, reshaped
/// first); `grid_shape` is `[rows, cols]`, `image_shape` `[h, w]`. The result keeps the input's
/// dtype and device.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// // Four 1x1 grey images 0, 1, 2, 3 in a 2x2 grid.
/// let images = Tensor::<2>::from_floats([[0.0], [1.0], [2.0], [3.0]], &device);
/// let grid = rgan::eval::image_grid(&images, [2, 2], [1, 1], 1).unwrap();
/// assert_eq!(grid.dims(), [1, 2, 2, 1]);
/// assert_eq!(grid.into_data().try_to_vec::<f32>().unwrap(), vec![0.0, 1.0, 2.0, 3.0]);
/// ```
pub fn image_grid<const D: usize>(
    input: &Tensor<D>,
    grid_shape: [usize; 2],
    image_shape: [usize; 2],
    num_channels: usize,
) -> Result<Tensor<4>> {
    let dims = input.dims();
    let [rows, cols] = grid_shape;
    let [h, w] = image_shape;
    if D != 2 && D != 4 {
        return Err(RganError::shape("input_tensor", &dims, "but it must be [B, h, w, c] or [B, h*w*c]"));
    }
    if dims[0] != rows * cols {
        return Err(RganError::shape(
            "input_tensor",
            &dims,
            format!("but grid_shape {grid_shape:?} holds {} images", rows * cols),
        ));
    }
    let wanted: Vec<usize> =
        if D == 4 { vec![rows * cols, h, w, num_channels] } else { vec![rows * cols, h * w * num_channels] };
    if dims[..] != wanted[..] {
        return Err(RganError::shape(
            "input_tensor",
            &dims,
            format!("but image_shape {image_shape:?} with {num_channels} channels needs {wanted:?}"),
        ));
    }
    if rows * cols * h * w * num_channels == 0 {
        return Err(RganError::invalid("grid_shape", "the grid, the images and the channels must be non-empty"));
    }
    let images: Tensor<4> = input.clone().reshape([rows * cols, h, w, num_channels]);
    Ok(tile(images, rows, cols))
}

/// TF-GAN's `python_image_grid(input_array, grid_shape)`, the numpy twin of [`image_grid`]
/// without the leading 1: tiles NHWC images (`images` row-major with `shape` `[B, h, w, c]`,
/// `B = rows * cols`) into `[rows*h, cols*w, c]`, returned with its shape.
///
/// ```
/// // Two 1x2 one-channel images side by side in a 1x2 grid.
/// let (grid, shape) = rgan::eval::python_image_grid(&[1.0, 2.0, 3.0, 4.0], [2, 1, 2, 1], [1, 2]).unwrap();
/// assert_eq!(shape, [1, 4, 1]);
/// assert_eq!(grid, vec![1.0, 2.0, 3.0, 4.0]);
/// ```
pub fn python_image_grid(images: &[f64], shape: [usize; 4], grid_shape: [usize; 2]) -> Result<(Vec<f64>, [usize; 3])> {
    let [b, h, w, c] = shape;
    let [rows, cols] = grid_shape;
    if images.len() != b * h * w * c {
        return Err(RganError::shape(
            "input_array",
            &[images.len()],
            format!("but shape {shape:?} needs {} values", b * h * w * c),
        ));
    }
    if b != rows * cols {
        return Err(RganError::shape(
            "input_array",
            &shape,
            format!("but grid_shape {grid_shape:?} holds {} images", rows * cols),
        ));
    }
    let (height, width) = (rows * h, cols * w);
    let mut out = vec![0.0; height * width * c];
    for i in 0..b {
        let (gy, gx) = (i / cols, i % cols);
        for y in 0..h {
            let src = &images[((i * h + y) * w) * c..((i * h + y) * w + w) * c];
            let start = ((gy * h + y) * width + gx * w) * c;
            out[start..start + w * c].copy_from_slice(src);
        }
    }
    Ok((out, [height, width, c]))
}

/// TF-GAN's `image_reshaper(images, num_cols=None)`: tiles NHWC images `[N, h, w, c]` into one
/// `[1, rows*h, cols*w, c]` image with `cols = num_cols` or, by default, `ceil(sqrt(N))`, and
/// `rows = ceil(N / cols)`; the rows are filled in order and a short last row is padded with
/// zero (black) images.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let images = Tensor::<4>::ones([5, 2, 3, 1], &device);
/// let grid = rgan::eval::image_reshaper(&images, None).unwrap(); // 3 columns, 2 rows
/// assert_eq!(grid.dims(), [1, 4, 9, 1]);
/// assert_eq!(grid.sum().into_scalar::<f32>(), 30.0); // the sixth cell is black
/// ```
pub fn image_reshaper(images: &Tensor<4>, num_cols: Option<usize>) -> Result<Tensor<4>> {
    let [n, h, w, c] = images.dims();
    if n == 0 {
        return Err(RganError::shape("images", &[n, h, w, c], "but at least one image is needed"));
    }
    let cols = match num_cols {
        Some(0) => return Err(RganError::invalid("num_cols", "must be at least 1")),
        Some(cols) => cols,
        None => (n as f64).sqrt().ceil() as usize,
    };
    let rows = n.div_ceil(cols);
    let pad = rows * cols - n;
    let mut all = images.clone();
    if pad > 0 {
        let zeros = images.clone().narrow(0, 0, 1).zeros_like().repeat_dim(0, pad);
        all = Tensor::cat(vec![all, zeros], 0);
    }
    Ok(tile(all, rows, cols))
}
