//! Data sets for GAN training: MNIST-style IDX files, CIFAR-10 (binary format or image
//! folders), folders of images (one sub-folder per class), paired folders, and the batch sources
//! a training loop draws from ([`BatchSource`]: shuffled, augmented, resumable).
//!
//! Pixels are scaled to `[-1, 1]` as in TF-GAN's examples: `(x - 127.5) / 127.5` (MNIST, image
//! folders), `(x - 128) / 128` (CIFAR-10, as TF-GAN's CIFAR-10 example).

mod batcher;
mod cifar;
mod decode;
mod derived;
mod folder;
mod idx;
mod paired;
mod patches;
mod source;

pub use batcher::{Batch, Batcher, BatcherState};
pub use cifar::{CIFAR10_CLASSES, CIFAR10_SIZE, Cifar10, scale_cifar_pixel};
pub use decode::open_image;
pub use derived::{DerivedPairs, EDGE_THRESHOLDS, PairInput};
pub use folder::{DecodedImage, ImageFiles, ImageFolder, read_image};
pub use idx::{IMAGES_MAGIC, IdxImages, LABELS_MAGIC, Mnist, Split, read_idx_images, read_idx_labels};
pub use paired::{PairedDataset, PairedImageFolder};
pub use patches::RandomPatches;
pub use source::{
    Augmentation, BatchSource, ImageBatches, PairedBatch, PairedBatches, SAMPLE_SEED, UnpairedBatch, UnpairedBatches,
    fixed_batch,
};

/// TF-GAN's pixel scaling: a byte `x` in `[0, 255]` becomes `(x - 127.5) / 127.5` in `[-1, 1]`.
///
/// ```
/// assert_eq!(rgan::data::scale_pixel(0), -1.0);
/// assert_eq!(rgan::data::scale_pixel(255), 1.0);
/// ```
pub fn scale_pixel(x: u8) -> f32 {
    (x as f32 - 127.5) / 127.5
}

/// A data set of equally sized images with integer labels, readable one example at a time.
///
/// ```
/// use rgan::data::{IdxImages, ImageDataset, Mnist};
/// let m = Mnist { images: IdxImages { count: 1, rows: 1, cols: 2, pixels: vec![0, 255] }, labels: vec![3] };
/// let mut out = Vec::new();
/// m.extend_image(0, &mut out);
/// assert_eq!((out, m.image_shape(), m.label(0)), (vec![-1.0, 1.0], [1, 1, 2], 3));
/// ```
pub trait ImageDataset {
    /// The number of examples.
    fn len(&self) -> usize;
    /// Whether there are no examples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The shape of one image, `[channels, height, width]`.
    fn image_shape(&self) -> [usize; 3];
    /// Appends image `index` to `out`, channel-major (`C × H × W` values in `[-1, 1]`).
    fn extend_image(&self, index: usize, out: &mut Vec<f32>);
    /// The label of example `index`.
    fn label(&self, index: usize) -> i64;
}

impl ImageDataset for Mnist {
    fn len(&self) -> usize {
        self.images.count
    }
    fn image_shape(&self) -> [usize; 3] {
        [1, self.images.rows, self.images.cols]
    }
    fn extend_image(&self, index: usize, out: &mut Vec<f32>) {
        out.extend(self.images.image(index).iter().map(|&x| scale_pixel(x)));
    }
    fn label(&self, index: usize) -> i64 {
        self.labels[index] as i64
    }
}
