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
    let mut grid = ImageGrid::new(images.dims()[0], columns)?;
    grid.push(images)?;
    grid.finish()
}

/// An image grid filled batch by batch, so that a grid of many images never holds more than one
/// batch of them as floats (`rgan sample --num 50000`): [`push`](Self::push) converts each
/// batch to bytes in place, [`finish`](Self::finish) gives the picture of [`image_grid`].
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let mut grid = rgan::summary::ImageGrid::new(3, 2).unwrap();
/// grid.push(Tensor::<4>::ones([2, 1, 2, 2], &device)).unwrap();
/// grid.push(Tensor::<4>::ones([1, 1, 2, 2], &device).neg()).unwrap();
/// let picture = grid.finish().unwrap();
/// assert_eq!((picture.width(), picture.height()), (4, 4));
/// // A NaN pixel (a diverged generator) is an error, not a black square.
/// let mut grid = rgan::summary::ImageGrid::new(1, 1).unwrap();
/// let err = grid.push(Tensor::<4>::full([1, 1, 2, 2], f32::NAN, &device)).unwrap_err();
/// assert!(err.to_string().contains("NaN"));
/// ```
#[derive(Debug)]
pub struct ImageGrid {
    count: usize,
    columns: usize,
    filled: usize,
    /// `[C, H, W]` of the images, set by the first batch.
    shape: Option<[usize; 3]>,
    pixels: Vec<u8>,
}

impl ImageGrid {
    /// A grid of `count` images, `columns` per row.
    pub fn new(count: usize, columns: usize) -> Result<Self> {
        if columns == 0 || count == 0 {
            return Err(RganError::invalid("columns", "a grid needs at least one image and one column"));
        }
        Ok(Self { count, columns, filled: 0, shape: None, pixels: Vec::new() })
    }

    /// Adds the next images `[N, C, H, W]` (values in `[-1, 1]`, mapped to `[0, 255]`).
    pub fn push(&mut self, images: Tensor<4>) -> Result<()> {
        let [n, c, h, w] = images.dims();
        if c != 1 && c != 3 {
            return Err(RganError::shape("images", &[n, c, h, w], "but an image grid needs 1 or 3 channels"));
        }
        match self.shape {
            None => {
                self.shape = Some([c, h, w]);
                let rows = self.count.div_ceil(self.columns);
                self.pixels = vec![0u8; rows * h * self.columns * w * c];
            }
            Some(shape) if shape != [c, h, w] => {
                return Err(RganError::shape(
                    "images",
                    &[n, c, h, w],
                    format!("but the grid's first images were [N, {}, {}, {}]", shape[0], shape[1], shape[2]),
                ));
            }
            Some(_) => {}
        }
        if self.filled + n > self.count {
            return Err(RganError::invalid(
                "images",
                format!("{} images for a grid of {}", self.filled + n, self.count),
            ));
        }
        let values: Vec<f32> = images
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| RganError::invalid("images", format!("cannot be read back: {e:?}")))?;
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            return Err(RganError::invalid(
                "images",
                format!(
                    "image {} holds {} values (NaN or infinite: a diverged generator?); no picture is written",
                    self.filled + at / (c * h * w),
                    values[at]
                ),
            ));
        }
        let width = self.columns * w;
        for i in 0..n {
            let cell = self.filled + i;
            let (gy, gx) = (cell / self.columns, cell % self.columns);
            for ch in 0..c {
                for y in 0..h {
                    for x in 0..w {
                        let v = values[((i * c + ch) * h + y) * w + x];
                        let byte = ((v as f64 + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8;
                        self.pixels[((gy * h + y) * width + gx * w + x) * c + ch] = byte;
                    }
                }
            }
        }
        self.filled += n;
        Ok(())
    }

    /// The picture (cells not filled stay black).
    pub fn finish(self) -> Result<image::DynamicImage> {
        let Some([c, h, w]) = self.shape else {
            return Err(RganError::invalid("images", "the grid was given no images"));
        };
        let rows = self.count.div_ceil(self.columns);
        let (width, height) = ((self.columns * w) as u32, (rows * h) as u32);
        Ok(if c == 1 {
            image::DynamicImage::ImageLuma8(image::GrayImage::from_raw(width, height, self.pixels).expect("sized"))
        } else {
            image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(width, height, self.pixels).expect("sized"))
        })
    }

    /// Writes the picture as a PNG, atomically.
    pub fn save(self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = encode_png(&self.finish()?, path)?;
        crate::files::write_atomically(path, &bytes)
    }
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
