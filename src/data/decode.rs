//! Image files decoded to the same pixels as the Python tools rgan is compared with.
//!
//! **JPEG goes through libjpeg-turbo**, whose decoder the `mozjpeg` crate builds (mozjpeg is a
//! fork of libjpeg-turbo that changes only the encoder). It runs with libjpeg's defaults:
//! accurate integer IDCT and "fancy" (triangle) chroma upsampling. PIL decodes the same way, so
//! pytorch-fid and torchvision do too. `image`'s own JPEG decoder (zune-jpeg) rounds
//! differently. On the first 100 CIFAR-10 test airplanes (JPEG, 4:2:0 chroma), 18.6 % of its
//! values differed from PIL's by up to 4 levels, with a mean of +0.12. That moved the FID of
//! 100 airplanes against 100 ships by 0.27 %: 183.83 against pytorch-fid's 183.32. With
//! libjpeg-turbo the pixels are PIL's bit for bit, and the two FIDs agree to 4e-7.
//! Hand-written glue only: no maintained crate decodes JPEG to `image`'s types through
//! libjpeg-turbo.
//!
//! JPEGs in CMYK or YCCK (which libjpeg cannot convert to RGB) and every other format
//! (PNG, …) are decoded by `image`.

use std::path::Path;

use image::{DynamicImage, GrayImage, RgbImage};
use mozjpeg::{ColorSpace, Decompress};

use crate::error::{Result, RganError};

/// Decodes the image file `path`: JPEG (recognised by its first bytes, whatever the file's
/// name) by libjpeg-turbo as PIL does, to grey or RGB as the file is; any other format by
/// `image`.
///
/// Errors: the file cannot be read, or is not an image `image` or libjpeg can decode
/// ([`RganError::File`], naming the file and what is wrong).
///
/// ```
/// let path = std::env::temp_dir().join(format!("rgan-doc-decode-{}.jpg", std::process::id()));
/// image::RgbImage::from_pixel(8, 8, image::Rgb([200, 40, 40])).save(&path).unwrap();
/// let img = rgan::data::open_image(&path).unwrap();
/// assert_eq!((img.width(), img.height(), img.color()), (8, 8, image::ColorType::Rgb8));
/// std::fs::write(&path, b"\xff\xd8\xff\xe0 not a JPEG").unwrap();
/// let err = rgan::data::open_image(&path).unwrap_err().to_string();
/// assert!(err.contains("rgan-doc-decode") && err.contains("cannot be decoded"), "{err}");
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn open_image(path: impl AsRef<Path>) -> Result<DynamicImage> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| RganError::file(path, format!("cannot be read: {e}")))?;
    let jpeg = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) { decode_jpeg(&bytes) } else { Ok(None) };
    let decoded = match jpeg {
        Ok(Some(image)) => Ok(image),
        Ok(None) => image::load_from_memory(&bytes).map_err(|e| e.to_string()),
        Err(reason) => Err(reason),
    };
    decoded.map_err(|reason| RganError::file(path, format!("cannot be decoded: {reason}")))
}

/// libjpeg-turbo's decoding of a JPEG file's bytes: `Ok(None)` for colour spaces it cannot turn
/// into grey or RGB (CMYK, YCCK), `Err` with libjpeg's message for a damaged file.
fn decode_jpeg(bytes: &[u8]) -> std::result::Result<Option<DynamicImage>, String> {
    // libjpeg reports fatal errors by calling `error_exit`, which the `mozjpeg` crate turns into
    // an unwinding panic without a message on stderr; it is caught here and becomes an error.
    let decoded = std::panic::catch_unwind(|| -> std::io::Result<Option<DynamicImage>> {
        let decompress = Decompress::new_mem(bytes)?;
        let (width, height) = (decompress.width() as u32, decompress.height() as u32);
        let grey = match decompress.color_space() {
            ColorSpace::JCS_GRAYSCALE => true,
            ColorSpace::JCS_YCbCr | ColorSpace::JCS_RGB => false,
            _ => return Ok(None),
        };
        let mut started = if grey { decompress.grayscale()? } else { decompress.rgb()? };
        let pixels = started.read_scanlines::<u8>()?;
        started.finish()?;
        let image = if grey {
            GrayImage::from_raw(width, height, pixels).map(DynamicImage::ImageLuma8)
        } else {
            RgbImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8)
        };
        image.map(Some).ok_or_else(|| std::io::Error::other("fewer pixels than the header's size"))
    });
    match decoded {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "libjpeg failed".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("rgan-decode-{}-{name}", std::process::id()))
    }

    #[test]
    fn jpeg_decodes_as_libjpeg_turbo_with_the_files_own_channels() {
        let path = temp("grey.jpg");
        image::GrayImage::from_fn(16, 8, |x, y| image::Luma([(x * 13 + y * 7) as u8])).save(&path).unwrap();
        let img = open_image(&path).unwrap();
        assert_eq!((img.width(), img.height(), img.color()), (16, 8, image::ColorType::L8));
        let rgb_path = temp("rgb.jpeg");
        image::RgbImage::from_fn(9, 7, |x, y| image::Rgb([(x * 25) as u8, (y * 30) as u8, 128]))
            .save(&rgb_path)
            .unwrap();
        let rgb = open_image(&rgb_path).unwrap();
        assert_eq!((rgb.width(), rgb.height(), rgb.color()), (9, 7, image::ColorType::Rgb8));
        // Lossy, but close to what was written.
        let expected = image::Rgb([100u8, 90, 128]);
        let got = rgb.to_rgb8().get_pixel(4, 3).0;
        assert!(got.iter().zip(expected.0).all(|(&a, b)| (a as i32 - b as i32).abs() <= 12), "{got:?}");
        std::fs::remove_file(&path).unwrap();
        std::fs::remove_file(&rgb_path).unwrap();
    }

    #[test]
    fn a_jpeg_named_png_is_still_a_jpeg_and_damage_is_an_error() {
        let path = temp("named.png");
        image::RgbImage::from_pixel(4, 4, image::Rgb([10, 20, 30]))
            .save_with_format(&path, image::ImageFormat::Jpeg)
            .unwrap();
        assert_eq!(open_image(&path).unwrap().width(), 4);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
        let err = open_image(&path).unwrap_err().to_string();
        assert!(err.contains("named.png") && err.contains("cannot be decoded"), "{err}");
        assert!(open_image(temp("missing.jpg")).unwrap_err().to_string().contains("cannot be read"));
        std::fs::remove_file(&path).unwrap();
    }

    /// PIL's own decoding of JPEGs it wrote (`tests/fixtures/pil_jpeg/gen_pil_jpeg.py`): 4:2:0
    /// at quality 75 (the CIFAR-10 copy's settings) with odd sizes, 4:4:4, and grey.
    #[test]
    fn jpeg_pixels_are_pils_bit_for_bit() {
        use ndarray::{ArrayD, IxDyn};
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pil_jpeg");
        let mut npz = ndarray_npy::NpzReader::new(std::fs::File::open(dir.join("pil_pixels.npz")).unwrap()).unwrap();
        for stem in ["colour", "colour444", "grey"] {
            let expected: ArrayD<u8> = npz.by_name(stem).unwrap();
            let img = open_image(dir.join(format!("{stem}.jpg"))).unwrap();
            let (raw, shape) = match img {
                DynamicImage::ImageLuma8(g) => (g.into_raw(), vec![37, 45]),
                DynamicImage::ImageRgb8(c) => (c.into_raw(), vec![37, 45, 3]),
                other => panic!("{stem}: {:?}", other.color()),
            };
            let got = ArrayD::from_shape_vec(IxDyn(&shape), raw).unwrap();
            assert_eq!(got, expected, "{stem}");
        }
    }

    #[test]
    fn png_goes_through_image() {
        let path = temp("x.png");
        image::GrayImage::from_pixel(3, 2, image::Luma([77])).save(&path).unwrap();
        let img = open_image(&path).unwrap();
        assert_eq!(img.to_luma8().as_raw(), &vec![77; 6]);
        std::fs::remove_file(&path).unwrap();
    }
}
