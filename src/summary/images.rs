//! Image grids of samples.

use std::path::Path;

use burn::prelude::*;

use crate::error::{Result, RganError};

/// Tiles images `[N, C, H, W]` with values in `[-1, 1]` into one picture with `columns` images per
/// row (TF-GAN's `image_grid`, without padding), mapping `[-1, 1]` to `[0, 255]`. `C` is 1
/// (grey) or 3 (RGB). Missing cells of the last row stay black.
///
/// ```
/// use burn::prelude::*;
/// let images = Tensor::<4>::from_floats([[[[-1.0, 1.0]]], [[[0.0, 1.0]]]], &Device::default());
/// let grid = rgan::summary::image_grid(images, 2).unwrap();
/// assert_eq!((grid.width(), grid.height()), (4, 1));
/// assert_eq!(grid.to_luma8().into_raw(), vec![0, 255, 128, 255]);
/// ```
pub fn image_grid(images: Tensor<4>, columns: usize) -> Result<image::DynamicImage> {
    let [n, c, h, w] = images.dims();
    if c != 1 && c != 3 {
        return Err(RganError::shape("images", &[n, c, h, w], "but an image grid needs 1 or 3 channels"));
    }
    if columns == 0 || n == 0 {
        return Err(RganError::invalid("columns", "a grid needs at least one image and one column"));
    }
    let values: Vec<f32> = images
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| RganError::invalid("images", format!("cannot be read back: {e:?}")))?;
    let rows = n.div_ceil(columns);
    let (width, height) = (columns * w, rows * h);
    let mut out = vec![0u8; width * height * c];
    for i in 0..n {
        let (gy, gx) = (i / columns, i % columns);
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let v = values[((i * c + ch) * h + y) * w + x];
                    let byte = ((v as f64 + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8;
                    out[((gy * h + y) * width + gx * w + x) * c + ch] = byte;
                }
            }
        }
    }
    let (width, height) = (width as u32, height as u32);
    Ok(if c == 1 {
        image::DynamicImage::ImageLuma8(image::GrayImage::from_raw(width, height, out).expect("sized above"))
    } else {
        image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(width, height, out).expect("sized above"))
    })
}

/// Writes [`image_grid`] as a PNG, atomically (a temporary file in the same folder, then a
/// rename), creating the folder if needed.
///
/// ```
/// use burn::prelude::*;
/// let path = std::env::temp_dir().join(format!("rgan-doc-grid-{}.png", std::process::id()));
/// let images = Tensor::<4>::zeros([4, 1, 2, 2], &Device::default());
/// rgan::summary::save_image_grid(images, 2, &path).unwrap();
/// assert_eq!(image::open(&path).unwrap().width(), 4);
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_image_grid(images: Tensor<4>, columns: usize, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = encode_png(&image_grid(images, columns)?, path)?;
    crate::files::write_atomically(path, &bytes)
}

/// `image` encoded as a PNG; an error naming `path` (where it was to go) otherwise.
pub(crate) fn encode_png(image: &image::DynamicImage, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| RganError::file(path, format!("cannot encode the PNG: {e}")))?;
    Ok(bytes)
}
