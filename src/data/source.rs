//! Batch sources: what a training loop draws its batches from. Each keeps a position (the epoch,
//! the place in its shuffled order, its augmentation draws) that a checkpoint saves, so a resumed
//! run sees the very batches an uninterrupted one would.
//!
//! - [`ImageBatches`]: images and their labels from an [`ImageDataset`] (a class-folder tree,
//!   MNIST), optionally randomly cropped and flipped: [`Batch`].
//! - [`PairedBatches`]: input and target images from a [`PairedDataset`], cropped and flipped
//!   alike: [`PairedBatch`].
//! - [`UnpairedBatches`]: a batch of each of two domains, each shuffled on its own:
//!   [`UnpairedBatch`].

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

use super::{Batch, Batcher, BatcherState, ImageDataset, PairedDataset};
use crate::error::{Result, RganError};
use crate::rng::Rng;

/// A source of batches with a saveable position (the data side of TF-GAN's `input_fn`).
///
/// ```
/// use burn::prelude::*;
/// use rgan::data::{BatchSource, IdxImages, ImageBatches, Mnist};
/// let m = Mnist { images: IdxImages { count: 4, rows: 1, cols: 1, pixels: vec![0, 64, 128, 255] }, labels: vec![0, 1, 2, 3] };
/// let mut source = ImageBatches::new(&m, 2).unwrap();
/// source.start(7).unwrap();
/// let device = Device::default();
/// let first = source.next_batch(&device).unwrap();
/// let saved = source.state().unwrap();
/// let second = source.next_batch(&device).unwrap();
/// source.restore(&saved).unwrap();
/// assert_eq!(source.next_batch(&device).unwrap().labels.to_data(), second.labels.to_data());
/// # let _ = first;
/// ```
pub trait BatchSource {
    /// What one batch holds.
    type Batch;

    /// Starts from the beginning, the order of the examples (and any random augmentation) drawn
    /// from `seed`.
    fn start(&mut self, seed: u64) -> Result<()>;

    /// The next batch, with its tensors on `device`.
    fn next_batch(&mut self, device: &Device) -> Result<Self::Batch>;

    /// The position to save in a checkpoint.
    fn state(&self) -> Result<serde_json::Value>;

    /// Goes back to a saved position; an error when it does not fit this data (another size).
    fn restore(&mut self, state: &serde_json::Value) -> Result<()>;

    /// Sets the examples per batch (before [`start`](Self::start) or
    /// [`restore`](Self::restore)): the training loop gives the batch size of the configuration
    /// a run actually uses, which for a resumed run is the saved one. Errors when it is 0 or
    /// larger than the data set.
    fn set_batch_size(&mut self, batch_size: usize) -> Result<()>;
}

/// The seed [`fixed_batch`] draws with: every run's sample grids show the same examples.
pub const SAMPLE_SEED: u64 = 0x5A3D_1E;

/// The first batch `source` gives from [`SAMPLE_SEED`]: fixed examples for sample grids.
///
/// ```
/// use burn::prelude::*;
/// use rgan::data::{IdxImages, ImageBatches, Mnist, fixed_batch};
/// let m = Mnist { images: IdxImages { count: 4, rows: 1, cols: 1, pixels: vec![0, 64, 128, 255] }, labels: vec![0, 1, 2, 3] };
/// let device = Device::default();
/// let a = fixed_batch(ImageBatches::new(&m, 2).unwrap(), &device).unwrap();
/// let b = fixed_batch(ImageBatches::new(&m, 2).unwrap(), &device).unwrap();
/// assert_eq!(a.labels.to_data(), b.labels.to_data());
/// ```
pub fn fixed_batch<B: BatchSource>(mut source: B, device: &Device) -> Result<B::Batch> {
    source.start(SAMPLE_SEED)?;
    source.next_batch(device)
}

/// Random crops and horizontal flips applied to each example as its batch is drawn (the usual
/// augmentation of image-to-image training: load at 286 × 286, crop 256 × 256, flip half; and
/// of CIFAR-10 classifiers: pad by 4, crop 32 × 32, flip half).
///
/// ```
/// let augment = rgan::data::Augmentation::new().with_crop(Some([256, 256])).with_flip(true);
/// assert_eq!((augment.crop, augment.pad), (Some([256, 256]), 0));
/// ```
#[derive(Config, Debug, PartialEq, Eq)]
pub struct Augmentation {
    /// Pad each side of each image by this many pixels of value 0 (the middle of `[-1, 1]`)
    /// before cropping (torchvision's `RandomCrop(size, padding)`). Default 0.
    #[config(default = 0)]
    pub pad: usize,
    /// Crop each image to `[height, width]` at a random place (none: keep the whole image).
    pub crop: Option<[usize; 2]>,
    /// Mirror each image left to right with probability 1/2. Default false.
    #[config(default = false)]
    pub flip: bool,
}

impl Augmentation {
    /// No cropping, no flipping.
    pub fn none() -> Self {
        Self::new()
    }

    fn is_none(&self) -> bool {
        self.crop.is_none() && !self.flip && self.pad == 0
    }

    /// The shape of an image of `shape` `[C, H, W]` once padded.
    fn padded_shape(&self, [c, h, w]: [usize; 3]) -> [usize; 3] {
        [c, h + 2 * self.pad, w + 2 * self.pad]
    }

    /// The shape of an augmented image of `shape` `[C, H, W]`; an error when the crop is larger
    /// than the padded image.
    fn output_shape(&self, shape: [usize; 3], what: &str) -> Result<[usize; 3]> {
        let shape = self.padded_shape(shape);
        let [c, h, w] = shape;
        match self.crop {
            None => Ok(shape),
            Some([ch, cw]) if ch == 0 || cw == 0 || ch > h || cw > w => Err(RganError::invalid(
                "crop",
                format!("is {ch} × {cw} but the {what} are {h} × {w} (padded); crop to at most their size"),
            )),
            Some([ch, cw]) => Ok([c, ch, cw]),
        }
    }

    /// Draws one example's crop origin and flip.
    fn draw(&self, shape: [usize; 3], rng: &mut Rng) -> Placement {
        let [_, h, w] = shape;
        let (top, left) = match self.crop {
            Some([ch, cw]) => (rng.below(h - ch + 1), rng.below(w - cw + 1)),
            None => (0, 0),
        };
        let flip = self.flip && rng.below(2) == 1;
        Placement { top, left, flip }
    }
}

/// Where one example is cropped and whether it is mirrored.
#[derive(Clone, Copy, Debug)]
struct Placement {
    top: usize,
    left: usize,
    flip: bool,
}

impl Placement {
    /// Appends the crop of `image` (`[C, H, W]`, channel-major) of shape `out` to `dst`.
    fn apply(&self, image: &[f32], shape: [usize; 3], out: [usize; 3], dst: &mut Vec<f32>) {
        let [c, _, w] = shape;
        let [_, oh, ow] = out;
        for channel in 0..c {
            for row in 0..oh {
                let start = (channel * shape[1] + self.top + row) * w + self.left;
                let line = &image[start..start + ow];
                if self.flip {
                    dst.extend(line.iter().rev());
                } else {
                    dst.extend_from_slice(line);
                }
            }
        }
    }
}

/// What [`ImageBatches`] saves: where its batcher stands, its augmentation stream, and the data
/// size it was made for.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ImageBatchesState {
    examples: usize,
    batcher: BatcherState,
    augmentation: Rng,
}

fn state_error(reason: impl Into<String>) -> RganError {
    RganError::invalid("data state", reason)
}

fn check_examples(saved: usize, len: usize) -> Result<()> {
    if saved != len {
        return Err(state_error(format!(
            "the checkpoint's data held {saved} examples but this data set holds {len}; resume with the same data"
        )));
    }
    Ok(())
}

/// Shuffled batches of images and labels from an [`ImageDataset`] (TF-GAN's examples' input
/// pipeline: reshuffled every epoch, the last incomplete batch dropped), each example optionally
/// augmented.
pub struct ImageBatches<'d, D: ImageDataset + ?Sized> {
    data: &'d D,
    batcher: Batcher,
    augmentation: Augmentation,
    rng: Rng,
    shape: [usize; 3],
}

impl<'d, D: ImageDataset + ?Sized> ImageBatches<'d, D> {
    /// Batches of `batch_size` examples of `data`, in an order drawn at [`BatchSource::start`].
    /// Errors when `batch_size` is 0 or larger than the data set.
    pub fn new(data: &'d D, batch_size: usize) -> Result<Self> {
        Self::with_augmentation(data, batch_size, Augmentation::none())
    }

    /// [`new`](Self::new) with each example cropped and flipped by `augmentation`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::data::{Augmentation, BatchSource, IdxImages, ImageBatches, Mnist};
    /// let m = Mnist { images: IdxImages { count: 2, rows: 4, cols: 4, pixels: vec![0; 32] }, labels: vec![0, 1] };
    /// let crop = Augmentation::new().with_crop(Some([3, 2])).with_flip(true);
    /// let mut source = ImageBatches::with_augmentation(&m, 2, crop).unwrap();
    /// source.start(0).unwrap();
    /// assert_eq!(source.next_batch(&Device::default()).unwrap().images.dims(), [2, 1, 3, 2]);
    /// assert!(ImageBatches::with_augmentation(&m, 2, Augmentation::new().with_crop(Some([5, 5]))).is_err());
    /// ```
    pub fn with_augmentation(data: &'d D, batch_size: usize, augmentation: Augmentation) -> Result<Self> {
        let shape = augmentation.output_shape(data.image_shape(), "images")?;
        Ok(Self {
            batcher: Batcher::new(data.len(), batch_size, 0)?,
            data,
            augmentation,
            rng: Rng::seed_from_u64(0),
            shape,
        })
    }

    /// The data set.
    pub fn data(&self) -> &'d D {
        self.data
    }

    /// The shape `[C, H, W]` of the images of a batch (after cropping).
    pub fn image_shape(&self) -> [usize; 3] {
        self.shape
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batcher.batch_size()
    }

    /// The pixels of example `index`, augmented, appended to `out`.
    fn extend_example(&mut self, index: usize, scratch: &mut Vec<f32>, out: &mut Vec<f32>) {
        if self.augmentation.is_none() {
            self.data.extend_image(index, out);
            return;
        }
        scratch.clear();
        let shape = self.data.image_shape();
        self.data.extend_image(index, scratch);
        let pad = self.augmentation.pad;
        if pad > 0 {
            let [c, h, w] = shape;
            let [_, ph, pw] = self.augmentation.padded_shape(shape);
            let mut padded = vec![0.0; c * ph * pw];
            for (row, line) in scratch.chunks_exact(w).enumerate() {
                let (channel, y) = (row / h, row % h);
                let start = (channel * ph + y + pad) * pw + pad;
                padded[start..start + w].copy_from_slice(line);
            }
            *scratch = padded;
        }
        let shape = self.augmentation.padded_shape(shape);
        let placement = self.augmentation.draw(shape, &mut self.rng);
        placement.apply(scratch, shape, self.shape, out);
    }
}

/// Seeds of the two streams a source draws from one seed: the order and the augmentation.
fn augmentation_rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed ^ 0xA5A5_5A5A_0F0F_F0F0)
}

impl<D: ImageDataset + ?Sized> BatchSource for ImageBatches<'_, D> {
    type Batch = Batch;

    fn start(&mut self, seed: u64) -> Result<()> {
        self.batcher = Batcher::new(self.data.len(), self.batcher.batch_size(), seed)?;
        self.rng = augmentation_rng(seed);
        Ok(())
    }

    fn next_batch(&mut self, device: &Device) -> Result<Batch> {
        if self.augmentation.is_none() {
            return self.batcher.next_batch(self.data, device);
        }
        let indices = self.batcher.next_indices();
        let [c, h, w] = self.shape;
        let (mut pixels, mut scratch) = (Vec::with_capacity(indices.len() * c * h * w), Vec::new());
        let mut labels = Vec::with_capacity(indices.len());
        for &i in &indices {
            self.extend_example(i, &mut scratch, &mut pixels);
            labels.push(self.data.label(i));
        }
        let n = indices.len();
        Ok(Batch {
            images: Tensor::from_data(TensorData::new(pixels, [n, c, h, w]), device),
            labels: Tensor::from_data(TensorData::new(labels, [n]), device),
        })
    }

    fn state(&self) -> Result<serde_json::Value> {
        let state = ImageBatchesState {
            examples: self.data.len(),
            batcher: self.batcher.state(),
            augmentation: self.rng.clone(),
        };
        serde_json::to_value(state).map_err(|e| state_error(e.to_string()))
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<()> {
        let state: ImageBatchesState = serde_json::from_value(state.clone()).map_err(|e| state_error(e.to_string()))?;
        check_examples(state.examples, self.data.len())?;
        self.batcher = Batcher::from_state(self.data.len(), self.batcher.batch_size(), state.batcher)?;
        self.rng = state.augmentation;
        Ok(())
    }

    fn set_batch_size(&mut self, batch_size: usize) -> Result<()> {
        self.batcher = Batcher::new(self.data.len(), batch_size, 0)?;
        Ok(())
    }
}

/// A batch of input images and the target images they should become (image-to-image
/// translation), `[N, C, H, W]` each.
#[derive(Clone, Debug)]
pub struct PairedBatch {
    /// The generator's inputs.
    pub inputs: Tensor<4>,
    /// The images the generator should produce from them (the real data).
    pub targets: Tensor<4>,
}

/// Shuffled batches of pairs from a [`PairedDataset`], each pair cropped and flipped alike.
pub struct PairedBatches<'d, D: PairedDataset + ?Sized> {
    data: &'d D,
    batcher: Batcher,
    augmentation: Augmentation,
    rng: Rng,
    shapes: [[usize; 3]; 2],
}

impl<'d, D: PairedDataset + ?Sized> PairedBatches<'d, D> {
    /// Batches of `batch_size` pairs of `data`, augmented by `augmentation`. Errors when
    /// `batch_size` is 0 or larger than the data set, or the crop is larger than the images.
    pub fn new(data: &'d D, batch_size: usize, augmentation: Augmentation) -> Result<Self> {
        let [input, target] = data.shapes();
        if input[1..] != target[1..] {
            return Err(RganError::shape(
                "targets",
                &target,
                format!("(one image) but the inputs are {input:?}; paired images must have the same height and width"),
            ));
        }
        let shapes = [augmentation.output_shape(input, "inputs")?, augmentation.output_shape(target, "targets")?];
        Ok(Self {
            batcher: Batcher::new(data.len(), batch_size, 0)?,
            data,
            augmentation,
            rng: Rng::seed_from_u64(0),
            shapes,
        })
    }

    /// The shapes `[C, H, W]` of an input and a target image of a batch.
    pub fn shapes(&self) -> [[usize; 3]; 2] {
        self.shapes
    }
}

impl<D: PairedDataset + ?Sized> BatchSource for PairedBatches<'_, D> {
    type Batch = PairedBatch;

    fn start(&mut self, seed: u64) -> Result<()> {
        self.batcher = Batcher::new(self.data.len(), self.batcher.batch_size(), seed)?;
        self.rng = augmentation_rng(seed);
        Ok(())
    }

    fn next_batch(&mut self, device: &Device) -> Result<PairedBatch> {
        let indices = self.batcher.next_indices();
        let [input_shape, target_shape] = self.data.shapes();
        let [[ic, ih, iw], [tc, th, tw]] = self.shapes;
        let n = indices.len();
        let (mut inputs, mut targets) = (Vec::with_capacity(n * ic * ih * iw), Vec::with_capacity(n * tc * th * tw));
        let (mut input, mut target) = (Vec::new(), Vec::new());
        for &i in &indices {
            input.clear();
            target.clear();
            self.data.extend_pair(i, &mut input, &mut target);
            let placement = self.augmentation.draw(input_shape, &mut self.rng);
            placement.apply(&input, input_shape, self.shapes[0], &mut inputs);
            placement.apply(&target, target_shape, self.shapes[1], &mut targets);
        }
        Ok(PairedBatch {
            inputs: Tensor::from_data(TensorData::new(inputs, [n, ic, ih, iw]), device),
            targets: Tensor::from_data(TensorData::new(targets, [n, tc, th, tw]), device),
        })
    }

    fn state(&self) -> Result<serde_json::Value> {
        let state = ImageBatchesState {
            examples: self.data.len(),
            batcher: self.batcher.state(),
            augmentation: self.rng.clone(),
        };
        serde_json::to_value(state).map_err(|e| state_error(e.to_string()))
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<()> {
        let state: ImageBatchesState = serde_json::from_value(state.clone()).map_err(|e| state_error(e.to_string()))?;
        check_examples(state.examples, self.data.len())?;
        self.batcher = Batcher::from_state(self.data.len(), self.batcher.batch_size(), state.batcher)?;
        self.rng = state.augmentation;
        Ok(())
    }

    fn set_batch_size(&mut self, batch_size: usize) -> Result<()> {
        self.batcher = Batcher::new(self.data.len(), batch_size, 0)?;
        Ok(())
    }
}

/// A batch of each of two image domains (CycleGAN's `data_x` and `data_y`).
#[derive(Clone, Debug)]
pub struct UnpairedBatch {
    /// Images of domain X.
    pub x: Tensor<4>,
    /// Images of domain Y.
    pub y: Tensor<4>,
}

/// Batches of two unpaired domains, each shuffled (and augmented) on its own; the two must give
/// images of one shape.
pub struct UnpairedBatches<'x, 'y, X: ImageDataset + ?Sized, Y: ImageDataset + ?Sized> {
    x: ImageBatches<'x, X>,
    y: ImageBatches<'y, Y>,
}

impl<'x, 'y, X: ImageDataset + ?Sized, Y: ImageDataset + ?Sized> UnpairedBatches<'x, 'y, X, Y> {
    /// Batches of `batch_size` images of each domain; an error when the two domains' (augmented)
    /// images differ in shape.
    pub fn new(x: &'x X, y: &'y Y, batch_size: usize, augmentation: Augmentation) -> Result<Self> {
        let x = ImageBatches::with_augmentation(x, batch_size, augmentation.clone())?;
        let y = ImageBatches::with_augmentation(y, batch_size, augmentation)?;
        if x.image_shape() != y.image_shape() {
            return Err(RganError::shape(
                "y",
                &y.image_shape(),
                format!("(one image) but domain X's images are {:?}; both domains need one shape", x.image_shape()),
            ));
        }
        Ok(Self { x, y })
    }

    /// The shape `[C, H, W]` of the images of a batch.
    pub fn image_shape(&self) -> [usize; 3] {
        self.x.image_shape()
    }
}

impl<X: ImageDataset + ?Sized, Y: ImageDataset + ?Sized> BatchSource for UnpairedBatches<'_, '_, X, Y> {
    type Batch = UnpairedBatch;

    fn start(&mut self, seed: u64) -> Result<()> {
        let mut rng = Rng::seed_from_u64(seed);
        self.x.start(rng.below(usize::MAX) as u64)?;
        self.y.start(rng.below(usize::MAX) as u64)
    }

    fn next_batch(&mut self, device: &Device) -> Result<UnpairedBatch> {
        Ok(UnpairedBatch { x: self.x.next_batch(device)?.images, y: self.y.next_batch(device)?.images })
    }

    fn state(&self) -> Result<serde_json::Value> {
        Ok(serde_json::json!({ "x": self.x.state()?, "y": self.y.state()? }))
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<()> {
        let part = |name: &str| state.get(name).ok_or_else(|| state_error(format!("has no `{name}` domain")));
        self.x.restore(part("x")?)?;
        self.y.restore(part("y")?)
    }

    fn set_batch_size(&mut self, batch_size: usize) -> Result<()> {
        self.x.set_batch_size(batch_size)?;
        self.y.set_batch_size(batch_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{IdxImages, Mnist};

    fn counting(count: usize, side: usize) -> Mnist {
        let pixels = (0..count * side * side).map(|i| (i % 251) as u8).collect();
        Mnist { images: IdxImages { count, rows: side, cols: side, pixels }, labels: (0..count as u8).collect() }
    }

    #[test]
    fn a_crop_is_a_window_of_the_image_and_a_flip_mirrors_it() {
        let image: Vec<f32> = (0..2 * 3 * 4).map(|v| v as f32).collect();
        let mut out = Vec::new();
        Placement { top: 1, left: 1, flip: false }.apply(&image, [2, 3, 4], [2, 2, 2], &mut out);
        assert_eq!(out, vec![5.0, 6.0, 9.0, 10.0, 17.0, 18.0, 21.0, 22.0]);
        out.clear();
        Placement { top: 0, left: 2, flip: true }.apply(&image, [2, 3, 4], [2, 1, 2], &mut out);
        assert_eq!(out, vec![3.0, 2.0, 15.0, 14.0]);
    }

    #[test]
    fn padding_surrounds_the_image_with_zeros_before_the_crop() {
        // One 2×2 image (pixels 0, 85, 170, 255 → -1, -1/3, 1/3, 1), padded by 1, no crop.
        let data =
            Mnist { images: IdxImages { count: 1, rows: 2, cols: 2, pixels: vec![0, 85, 170, 255] }, labels: vec![0] };
        let mut source = ImageBatches::with_augmentation(&data, 1, Augmentation::new().with_pad(1)).unwrap();
        assert_eq!(source.image_shape(), [1, 4, 4]);
        source.start(0).unwrap();
        let got = source.next_batch(&Device::default()).unwrap().images.into_data().try_into_vec::<f32>().unwrap();
        let v = |b: u8| crate::data::scale_pixel(b);
        #[rustfmt::skip]
        let expected = vec![0.0, 0.0, 0.0, 0.0, 0.0, v(0), v(85), 0.0, 0.0, v(170), v(255), 0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(got, expected);
        // Pad 4 and crop back to the size: every crop holds the image shifted by at most 4.
        let data = counting(3, 6);
        let augment = Augmentation::new().with_pad(4).with_crop(Some([6, 6]));
        let mut source = ImageBatches::with_augmentation(&data, 3, augment).unwrap();
        assert_eq!(source.image_shape(), [1, 6, 6]);
        source.start(1).unwrap();
        let batch = source.next_batch(&Device::default()).unwrap().images.into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(batch.len(), 3 * 36);
        let err = ImageBatches::with_augmentation(&data, 3, Augmentation::new().with_pad(1).with_crop(Some([9, 9])));
        assert!(err.err().unwrap().to_string().contains("are 8 × 8 (padded)"));
    }

    #[test]
    fn augmented_batches_resume_exactly_and_refuse_other_data() {
        let data = counting(6, 5);
        let augment = Augmentation::new().with_crop(Some([3, 3])).with_flip(true);
        let mut a = ImageBatches::with_augmentation(&data, 2, augment.clone()).unwrap();
        a.start(3).unwrap();
        let device = Device::default();
        a.next_batch(&device).unwrap();
        let saved = a.state().unwrap();
        let expected: Vec<_> = (0..4).map(|_| a.next_batch(&device).unwrap().images.to_data()).collect();
        let mut b = ImageBatches::with_augmentation(&data, 2, augment.clone()).unwrap();
        b.restore(&saved).unwrap();
        for e in expected {
            assert_eq!(b.next_batch(&device).unwrap().images.to_data(), e);
        }
        let other = counting(7, 5);
        let mut c = ImageBatches::with_augmentation(&other, 2, augment).unwrap();
        let err = c.restore(&saved).unwrap_err().to_string();
        assert!(err.contains("6 examples") && err.contains("7"), "{err}");
    }
}
