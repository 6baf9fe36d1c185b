//! Pairs made on the fly from one set of images, for image-to-image translation without a
//! paired data set: pix2pix's colourisation (grey → colour), edges → photo and deblurring
//! (blurred → sharp) tasks, each target image paired with an input computed from it.
//!
//! The inputs are computed by `imageproc` (image-rs's maintained image-processing crate):
//! Gaussian blur and the Canny edge detector. Only the plane layout and the grey conversion are
//! written here.

use image::{GrayImage, ImageBuffer, Luma};
use imageproc::edges::canny;
use imageproc::filter::gaussian_blur_f32;

use super::{ImageDataset, PairedDataset};
use crate::error::{Result, RganError};

/// The Canny detector's hysteresis thresholds on the gradient magnitude of 8-bit grey values
/// (after its own Gaussian blur, σ = 1.4): low, high.
pub const EDGE_THRESHOLDS: [f32; 2] = [40.0, 80.0];

/// The input a [`DerivedPairs`] computes from each target image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PairInput {
    /// The image in grey (ITU-R BT.601 luma, `0.299 R + 0.587 G + 0.114 B`, as PIL's
    /// `convert("L")`): one channel; colourisation. Needs colour targets.
    Grey,
    /// Canny edges of the grey image ([`EDGE_THRESHOLDS`]) as black lines on white, as
    /// pix2pix's edges → shoes: one channel.
    Edges,
    /// The image blurred by a Gaussian of standard deviation `sigma` pixels (edges clamped):
    /// the target's channels; deblurring.
    Blur {
        /// The blur's standard deviation in pixels (> 0).
        sigma: f32,
    },
}

/// (input, target) pairs made from the images of `data`: each target is an image of `data`,
/// its input computed from it as [`PairInput`] says. Augmentation (crops, flips) applies to the
/// pair afterwards, to both alike.
///
/// ```
/// use rgan::data::{Cifar10, DerivedPairs, PairInput, PairedDataset};
/// let data = Cifar10 { pixels: (0..2 * 3072).map(|i| (i % 256) as u8).collect(), labels: vec![0, 1] };
/// let pairs = DerivedPairs::new(&data, PairInput::Grey).unwrap();
/// assert_eq!((pairs.len(), pairs.shapes()), (2, [[1, 32, 32], [3, 32, 32]]));
/// let (mut inputs, mut targets) = (Vec::new(), Vec::new());
/// pairs.extend_pair(1, &mut inputs, &mut targets);
/// assert_eq!((inputs.len(), targets.len()), (1024, 3072));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DerivedPairs<'a, D: ?Sized> {
    data: &'a D,
    input: PairInput,
}

impl<'a, D: ImageDataset + ?Sized> DerivedPairs<'a, D> {
    /// Pairs over `data`. Errors: `data` holds no images, grey inputs of grey images (nothing to
    /// learn), a blur whose `sigma` is not a positive number.
    pub fn new(data: &'a D, input: PairInput) -> Result<Self> {
        if data.is_empty() {
            return Err(RganError::invalid("data", "holds no images"));
        }
        let [channels, _, _] = data.image_shape();
        match input {
            PairInput::Grey if channels != 3 => {
                return Err(RganError::invalid(
                    "input",
                    format!("grey inputs need colour (3-channel) images; these have {channels} channel(s)"),
                ));
            }
            PairInput::Blur { sigma } if !(sigma > 0.0 && sigma.is_finite()) => {
                return Err(RganError::invalid("sigma", format!("is {sigma}; the blur needs a sigma > 0")));
            }
            _ => {}
        }
        Ok(Self { data, input })
    }

    /// What the inputs are.
    pub fn input(&self) -> PairInput {
        self.input
    }
}

impl<D: ImageDataset + ?Sized> PairedDataset for DerivedPairs<'_, D> {
    fn len(&self) -> usize {
        self.data.len()
    }

    fn shapes(&self) -> [[usize; 3]; 2] {
        let target = self.data.image_shape();
        let [channels, height, width] = target;
        [[self.input.channels(channels), height, width], target]
    }

    fn extend_pair(&self, index: usize, inputs: &mut Vec<f32>, targets: &mut Vec<f32>) {
        let start = targets.len();
        self.data.extend_image(index, targets);
        let [channels, height, width] = self.data.image_shape();
        inputs.extend(self.input.derive(&targets[start..], [channels, height, width]));
    }
}

impl PairInput {
    /// The input made from one target image: `target` holds `shape = [channels, height,
    /// width]` values in `[-1, 1]`, channel-major; the result has
    /// [`channels`](Self::channels) planes of the same size. Grey of a grey image is the image.
    ///
    /// ```
    /// use rgan::data::PairInput;
    /// // One red and one white pixel: BT.601 luma 0.299 · 1 + 0.587 · (−1) + 0.114 · (−1), and 1.
    /// let grey = PairInput::Grey.derive(&[1.0, 1.0, -1.0, 1.0, -1.0, 1.0], [3, 1, 2]);
    /// assert!((grey[0] - (-0.402)).abs() < 1e-6 && (grey[1] - 1.0).abs() < 1e-6);
    /// ```
    pub fn derive(&self, target: &[f32], [channels, height, width]: [usize; 3]) -> Vec<f32> {
        assert_eq!(target.len(), channels * height * width, "a target of {channels} × {height} × {width} values");
        let plane = height * width;
        let luma = || if channels == 3 { grey(target, plane) } else { target[..plane].to_vec() };
        match *self {
            PairInput::Grey => luma(),
            PairInput::Edges => edges(&luma(), width, height),
            PairInput::Blur { sigma } => target
                .chunks(plane)
                .flat_map(|plane| {
                    let image: ImageBuffer<Luma<f32>, Vec<f32>> =
                        ImageBuffer::from_raw(width as u32, height as u32, plane.to_vec())
                            .expect("a plane holds width × height values");
                    gaussian_blur_f32(&image, sigma).into_raw()
                })
                .collect(),
        }
    }

    /// Channels of the inputs made from targets of `target_channels` channels.
    pub fn channels(&self, target_channels: usize) -> usize {
        match self {
            PairInput::Grey | PairInput::Edges => 1,
            PairInput::Blur { .. } => target_channels,
        }
    }
}

/// BT.601 luma of channel-major RGB values (any range: the weights sum to 1).
fn grey(rgb: &[f32], plane: usize) -> Vec<f32> {
    (0..plane).map(|i| 0.299 * rgb[i] + 0.587 * rgb[plane + i] + 0.114 * rgb[2 * plane + i]).collect()
}

/// Canny edges of grey values in `[-1, 1]`: -1 (black) on an edge, 1 (white) elsewhere.
fn edges(luma: &[f32], width: usize, height: usize) -> Vec<f32> {
    let bytes = luma.iter().map(|&v| ((v + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8).collect();
    let image = GrayImage::from_raw(width as u32, height as u32, bytes).expect("width × height values");
    let [low, high] = EDGE_THRESHOLDS;
    canny(&image, low, high).into_raw().into_iter().map(|e| if e > 0 { -1.0 } else { 1.0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Cifar10, IdxImages, Mnist};

    /// One CIFAR-style image: a bright square on a dark background, red left half.
    fn square() -> Cifar10 {
        let mut pixels = vec![0u8; 3072];
        for c in 0..3 {
            for y in 8..24 {
                for x in 8..24 {
                    pixels[c * 1024 + y * 32 + x] = if c == 0 && x < 16 { 250 } else { 200 };
                }
            }
        }
        Cifar10 { pixels, labels: vec![3] }
    }

    fn pair(pairs: &impl PairedDataset) -> (Vec<f32>, Vec<f32>) {
        let (mut inputs, mut targets) = (vec![7.0], vec![7.0]);
        pairs.extend_pair(0, &mut inputs, &mut targets);
        (inputs[1..].to_vec(), targets[1..].to_vec())
    }

    #[test]
    fn grey_is_bt601_luma_of_the_target() {
        let data = square();
        let (input, target) = pair(&DerivedPairs::new(&data, PairInput::Grey).unwrap());
        assert_eq!((input.len(), target.len()), (1024, 3072));
        let at = 10 * 32 + 10;
        let expected = 0.299 * target[at] + 0.587 * target[1024 + at] + 0.114 * target[2048 + at];
        assert_eq!(input[at], expected);
        assert_eq!(input[0], -1.0, "(0 − 128) / 128 in every channel stays −1");
    }

    #[test]
    fn edges_outline_the_square_in_black_on_white() {
        let data = square();
        let (input, _) = pair(&DerivedPairs::new(&data, PairInput::Edges).unwrap());
        assert!(input.iter().all(|&v| v == 1.0 || v == -1.0));
        let row = |y: usize| &input[y * 32..(y + 1) * 32];
        // The square's border (rows and columns 7–8 and 23–24) is an edge, its inside and the
        // background far from it are not.
        assert!(row(16)[6..10].contains(&-1.0) && row(16)[22..26].contains(&-1.0), "{:?}", row(16));
        assert_eq!(input[16 * 32 + 2], 1.0);
        assert_eq!(input[16 * 32 + 12], 1.0);
        assert_eq!(input[2 * 32 + 16], 1.0);
    }

    #[test]
    fn blur_keeps_the_mean_and_softens_the_edge() {
        let data = square();
        let (input, target) = pair(&DerivedPairs::new(&data, PairInput::Blur { sigma: 1.5 }).unwrap());
        assert_eq!(input.len(), 3072);
        let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        assert!((mean(&input[1024..2048]) - mean(&target[1024..2048])).abs() < 1e-3);
        // Across the square's left border (x = 8), the blurred row rises gradually.
        let at = |v: &[f32], x: usize| v[1024 + 16 * 32 + x];
        assert!(at(&input, 7) > at(&target, 7) && at(&input, 8) < at(&target, 8));
        assert!(at(&input, 6) < at(&input, 7) && at(&input, 7) < at(&input, 8));
    }

    #[test]
    fn bad_pairings_are_errors_naming_the_setting() {
        let digits =
            Mnist { images: IdxImages { count: 1, rows: 28, cols: 28, pixels: vec![0; 784] }, labels: vec![0] };
        let err = DerivedPairs::new(&digits, PairInput::Grey).unwrap_err().to_string();
        assert!(err.contains("input") && err.contains("colour"), "{err}");
        let data = square();
        let err = DerivedPairs::new(&data, PairInput::Blur { sigma: 0.0 }).unwrap_err().to_string();
        assert!(err.contains("sigma"), "{err}");
        let empty = Cifar10 { pixels: vec![], labels: vec![] };
        assert!(DerivedPairs::new(&empty, PairInput::Edges).unwrap_err().to_string().contains("no images"));
        // Edges of grey images are fine.
        assert_eq!(DerivedPairs::new(&digits, PairInput::Edges).unwrap().shapes(), [[1, 28, 28], [1, 28, 28]]);
    }
}
