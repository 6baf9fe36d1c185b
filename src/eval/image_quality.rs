//! Full-reference image quality: PSNR, SSIM and MS-SSIM exactly as TensorFlow's
//! `tf.image.psnr`, `tf.image.ssim` and `tf.image.ssim_multiscale` compute them (the measures
//! TF-GAN's image compression example reports), in f64 on the host.
//!
//! - SSIM (Wang et al. 2004): local means, variances and covariance under an 11 × 11 Gaussian
//!   window of σ 1.5 (TensorFlow's: the softmax of `−(x² + y²) / 2σ²`, which is the outer product
//!   of its normalized 1-D profile, applied here separably), only where the window fits (`VALID`),
//!   `k1` 0.01, `k2` 0.03; the mean of the map, per channel, then over channels.
//! - MS-SSIM (Wang et al. 2003): five scales, each after the first down-sampled by a 2 × 2
//!   average, an odd side first padded by repeating its last row or column (TensorFlow's
//!   `SYMMETRIC` pad); the contrast-structure terms of the first four scales and the SSIM of the
//!   last, each clipped at 0, raised to the power factors (0.0448, 0.2856, 0.3001, 0.2363,
//!   0.1333) and multiplied; the mean over channels. Every scale must still fit the window: sides
//!   of at least 161 pixels.
//!
//! Hand-written because no maintained Rust crate computes TensorFlow's variant (its padding and
//! window differ from the MATLAB reference implementations that crates port); tested against
//! TensorFlow's own numbers on photographs (`tests/fixtures/tf_image_quality/`).
//!
//! Images are channel-major `[C, H, W]` slices of any float range, with `max_val` its dynamic
//! range (255 for 8-bit values, 2 for `[-1, 1]`).

use crate::error::{Result, RganError};

/// The MS-SSIM power factors of the five scales (Wang et al. 2003; TensorFlow's
/// `_MSSSIM_WEIGHTS`).
pub const MS_SSIM_WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

/// The side of the Gaussian window.
pub const SSIM_FILTER_SIZE: usize = 11;

/// The Gaussian window's standard deviation.
pub const SSIM_FILTER_SIGMA: f64 = 1.5;

const K1: f64 = 0.01;
const K2: f64 = 0.03;

/// One channel: `height × width` values, row-major.
#[derive(Clone, Debug)]
struct Plane {
    height: usize,
    width: usize,
    values: Vec<f64>,
}

fn check(a: &[f32], b: &[f32], [c, h, w]: [usize; 3], max_val: f64) -> Result<()> {
    if c == 0 || h == 0 || w == 0 || a.len() != c * h * w {
        return Err(RganError::shape("a", &[a.len()], format!("but the images are said to be [{c}, {h}, {w}]")));
    }
    if b.len() != a.len() {
        return Err(RganError::shape("b", &[b.len()], format!("but `a` holds {} values ([{c}, {h}, {w}])", a.len())));
    }
    if !(max_val > 0.0 && max_val.is_finite()) {
        return Err(RganError::invalid("max_val", format!("is {max_val}; the dynamic range must be > 0")));
    }
    if let Some(v) = a.iter().chain(b).find(|v| !v.is_finite()) {
        return Err(RganError::invalid("images", format!("hold {v}; image quality needs finite values")));
    }
    Ok(())
}

fn planes(image: &[f32], [c, h, w]: [usize; 3]) -> Vec<Plane> {
    (0..c)
        .map(|k| Plane {
            height: h,
            width: w,
            values: image[k * h * w..(k + 1) * h * w].iter().map(|&v| v as f64).collect(),
        })
        .collect()
}

/// TensorFlow's `tf.image.psnr` of two images: `10 log10(max_val² / MSE)` over every value
/// (infinite for identical images).
///
/// ```
/// use rgan::eval::image_quality::psnr;
/// // An MSE of 1 on a range of 255: 20 log10(255) dB.
/// let p = psnr(&[0.0, 2.0], &[1.0, 1.0], [1, 1, 2], 255.0).unwrap();
/// assert!((p - 20.0 * 255f64.log10()).abs() < 1e-12);
/// ```
pub fn psnr(a: &[f32], b: &[f32], shape: [usize; 3], max_val: f64) -> Result<f64> {
    check(a, b, shape, max_val)?;
    let mse = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>() / a.len() as f64;
    Ok(10.0 * (max_val * max_val / mse).log10())
}

/// TensorFlow's `tf.image.ssim` of two images (see the [module docs](self)).
///
/// ```
/// use rgan::eval::image_quality::ssim;
/// let a: Vec<f32> = (0..20 * 20).map(|i| ((i * 37) % 256) as f32).collect();
/// assert!((ssim(&a, &a, [1, 20, 20], 255.0).unwrap() - 1.0).abs() < 1e-12);
/// assert!(ssim(&a[..100], &a[..100], [1, 10, 10], 255.0).is_err()); // smaller than the window
/// ```
pub fn ssim(a: &[f32], b: &[f32], shape: [usize; 3], max_val: f64) -> Result<f64> {
    check(a, b, shape, max_val)?;
    let (pa, pb) = (planes(a, shape), planes(b, shape));
    let mut total = 0.0;
    for (x, y) in pa.iter().zip(&pb) {
        total += ssim_and_cs(x, y, max_val)?.0;
    }
    Ok(total / pa.len() as f64)
}

/// TensorFlow's `tf.image.ssim_multiscale` of two images with its default power factors (see
/// the [module docs](self)).
///
/// ```
/// use rgan::eval::image_quality::ms_ssim;
/// let a: Vec<f32> = (0..170 * 170).map(|i| ((i * 37) % 256) as f32).collect();
/// assert!((ms_ssim(&a, &a, [1, 170, 170], 255.0).unwrap() - 1.0).abs() < 1e-12);
/// let err = ms_ssim(&a[..100 * 100], &a[..100 * 100], [1, 100, 100], 255.0).unwrap_err();
/// assert!(err.to_string().contains("161"), "{err}");
/// ```
pub fn ms_ssim(a: &[f32], b: &[f32], shape: [usize; 3], max_val: f64) -> Result<f64> {
    check(a, b, shape, max_val)?;
    let [_, h, w] = shape;
    let min_side = (SSIM_FILTER_SIZE - 1) * (1 << (MS_SSIM_WEIGHTS.len() - 1)) + 1;
    if h < min_side || w < min_side {
        return Err(RganError::shape(
            "images",
            &shape,
            format!("but MS-SSIM's five scales need sides of at least {min_side} pixels"),
        ));
    }
    let (pa, pb) = (planes(a, shape), planes(b, shape));
    let mut total = 0.0;
    for (x, y) in pa.iter().zip(&pb) {
        let (mut x, mut y) = (x.clone(), y.clone());
        let mut product = 1.0;
        for (scale, weight) in MS_SSIM_WEIGHTS.iter().enumerate() {
            if scale > 0 {
                x = downsample(&x);
                y = downsample(&y);
            }
            let (ssim, cs) = ssim_and_cs(&x, &y, max_val)?;
            let term = if scale + 1 == MS_SSIM_WEIGHTS.len() { ssim } else { cs };
            product *= term.max(0.0).powf(*weight);
        }
        total += product;
    }
    Ok(total / pa.len() as f64)
}

/// The 2 × 2 average of a plane, its odd last row or column first repeated.
fn downsample(p: &Plane) -> Plane {
    let (h, w) = (p.height.div_ceil(2), p.width.div_ceil(2));
    let at = |r: usize, c: usize| p.values[r.min(p.height - 1) * p.width + c.min(p.width - 1)];
    let values = (0..h)
        .flat_map(|r| (0..w).map(move |c| (r, c)))
        .map(|(r, c)| (at(2 * r, 2 * c) + at(2 * r, 2 * c + 1) + at(2 * r + 1, 2 * c) + at(2 * r + 1, 2 * c + 1)) / 4.0)
        .collect();
    Plane { height: h, width: w, values }
}

/// The normalized 1-D Gaussian profile of the window.
fn window() -> Vec<f64> {
    let centre = (SSIM_FILTER_SIZE - 1) as f64 / 2.0;
    let g: Vec<f64> = (0..SSIM_FILTER_SIZE)
        .map(|i| (-0.5 * (i as f64 - centre).powi(2) / (SSIM_FILTER_SIGMA * SSIM_FILTER_SIGMA)).exp())
        .collect();
    let sum: f64 = g.iter().sum();
    g.into_iter().map(|v| v / sum).collect()
}

/// The Gaussian-weighted local averages of `values` where the window fits (`VALID`).
fn filter(values: &[f64], height: usize, width: usize, g: &[f64]) -> Vec<f64> {
    let k = g.len();
    let (oh, ow) = (height + 1 - k, width + 1 - k);
    let mut rows = vec![0.0; height * ow];
    for r in 0..height {
        for c in 0..ow {
            rows[r * ow + c] = (0..k).map(|i| g[i] * values[r * width + c + i]).sum();
        }
    }
    let mut out = vec![0.0; oh * ow];
    for r in 0..oh {
        for c in 0..ow {
            out[r * ow + c] = (0..k).map(|i| g[i] * rows[(r + i) * ow + c]).sum();
        }
    }
    out
}

/// The mean SSIM and mean contrast-structure term of two planes (TensorFlow's
/// `_ssim_per_channel`).
fn ssim_and_cs(x: &Plane, y: &Plane, max_val: f64) -> Result<(f64, f64)> {
    if x.height < SSIM_FILTER_SIZE || x.width < SSIM_FILTER_SIZE {
        return Err(RganError::shape(
            "images",
            &[x.height, x.width],
            format!(
                "but SSIM's {SSIM_FILTER_SIZE} × {SSIM_FILTER_SIZE} window needs sides of at least {SSIM_FILTER_SIZE}"
            ),
        ));
    }
    let g = window();
    let (h, w) = (x.height, x.width);
    let map = |f: &dyn Fn(f64, f64) -> f64| {
        let values: Vec<f64> = x.values.iter().zip(&y.values).map(|(&a, &b)| f(a, b)).collect();
        filter(&values, h, w, &g)
    };
    let mean_x = filter(&x.values, h, w, &g);
    let mean_y = filter(&y.values, h, w, &g);
    let mean_xy = map(&|a, b| a * b);
    let mean_squares = map(&|a, b| a * a + b * b);
    let (c1, c2) = ((K1 * max_val).powi(2), (K2 * max_val).powi(2));
    let (mut ssim, mut cs) = (0.0, 0.0);
    for i in 0..mean_x.len() {
        let num0 = mean_x[i] * mean_y[i] * 2.0;
        let den0 = mean_x[i] * mean_x[i] + mean_y[i] * mean_y[i];
        let luminance = (num0 + c1) / (den0 + c1);
        let contrast_structure = (mean_xy[i] * 2.0 - num0 + c2) / (mean_squares[i] - den0 + c2);
        ssim += luminance * contrast_structure;
        cs += contrast_structure;
    }
    let n = mean_x.len() as f64;
    Ok((ssim / n, cs / n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tf_image_quality")
    }

    /// A PNG of the fixtures as `[C, H, W]` values in [0, 255].
    fn read(name: &str) -> (Vec<f32>, [usize; 3]) {
        let image = image::open(fixtures().join(name)).unwrap();
        let (w, h) = (image.width() as usize, image.height() as usize);
        if image.color().has_color() {
            let rgb = image.to_rgb8().into_raw();
            let planes = (0..3).flat_map(|c| (0..h * w).map(move |i| (c, i))).map(|(c, i)| rgb[3 * i + c] as f32);
            (planes.collect(), [3, h, w])
        } else {
            (image.to_luma8().into_raw().into_iter().map(f32::from).collect(), [1, h, w])
        }
    }

    /// TensorFlow's own code in float64 agrees to the last digits; its public float32 functions
    /// lose up to about 5 digits of SSIM's variance terms to cancellation.
    #[test]
    fn psnr_ssim_and_ms_ssim_match_tensorflow_on_photographs() {
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap()).unwrap();
        for name in ["colour", "grey"] {
            let (a, shape) = read(&format!("{name}_a.png"));
            let (b, _) = read(&format!("{name}_b.png"));
            let ours = [
                ("psnr", psnr(&a, &b, shape, 255.0).unwrap()),
                ("ssim", ssim(&a, &b, shape, 255.0).unwrap()),
                ("ms_ssim", ms_ssim(&a, &b, shape, 255.0).unwrap()),
            ];
            for (key, value) in ours {
                for (precision, tolerance) in [("float64", 1e-12), ("float32", 1e-4)] {
                    let tf = expected[precision][name][key].as_f64().unwrap();
                    let relative = (value - tf).abs() / tf.abs();
                    assert!(relative < tolerance, "{name} {key}: rgan {value} vs TensorFlow {tf} ({precision})");
                }
            }
        }
    }

    #[test]
    fn the_window_is_tensorflows_softmax_kernel() {
        // TF's 2-D kernel: softmax over the 121 entries of −(x² + y²) / 2σ².
        let centre = 5.0;
        let logits: Vec<f64> = (0..121)
            .map(|k| {
                let (i, j) = ((k / 11) as f64 - centre, (k % 11) as f64 - centre);
                -0.5 * (i * i + j * j) / (1.5 * 1.5)
            })
            .collect();
        let sum: f64 = logits.iter().map(|l| l.exp()).sum();
        let g = window();
        for k in 0..121 {
            assert!((g[k / 11] * g[k % 11] - logits[k].exp() / sum).abs() < 1e-15);
        }
    }

    #[test]
    fn mismatched_or_bad_inputs_are_errors() {
        let a = vec![1.0f32; 3 * 12 * 12];
        assert!(ssim(&a, &a[..100], [3, 12, 12], 255.0).unwrap_err().to_string().contains("`b`"));
        assert!(psnr(&a, &a, [3, 12, 12], 0.0).unwrap_err().to_string().contains("max_val"));
        let mut nan = a.clone();
        nan[5] = f32::NAN;
        assert!(ssim(&a, &nan, [3, 12, 12], 255.0).unwrap_err().to_string().contains("NaN"));
        assert_eq!(psnr(&a, &a, [3, 12, 12], 255.0).unwrap(), f64::INFINITY);
    }
}
