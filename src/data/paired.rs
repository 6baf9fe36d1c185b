//! Paired images for image-to-image translation: an input image and the target it should become.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ImageFolder;
use crate::error::{Result, RganError};

/// A data set of (input, target) image pairs, readable one pair at a time.
pub trait PairedDataset {
    /// The number of pairs.
    fn len(&self) -> usize;
    /// Whether there are no pairs.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The shapes `[C, H, W]` of an input and of a target image.
    fn shapes(&self) -> [[usize; 3]; 2];
    /// Appends pair `index` to `inputs` and `targets`, channel-major, values in `[-1, 1]`.
    fn extend_pair(&self, index: usize, inputs: &mut Vec<f32>, targets: &mut Vec<f32>);
}

/// Pairs read from two folders whose images share their names (relative paths without the
/// extension): `inputs/a/001.png` pairs with `targets/a/001.jpg`. Both are read as
/// [`ImageFolder`]s (resized to `size × size`, sub-folders as classes).
///
/// ```
/// use rgan::data::{PairedDataset, PairedImageFolder};
/// let dir = std::env::temp_dir().join(format!("rgan-doc-paired-{}", std::process::id()));
/// for (side, value) in [("in", 0u8), ("out", 255)] {
///     std::fs::create_dir_all(dir.join(side)).unwrap();
///     image::GrayImage::from_pixel(4, 4, image::Luma([value])).save(dir.join(side).join("a.png")).unwrap();
/// }
/// let pairs = PairedImageFolder::load(dir.join("in"), dir.join("out"), 2, [1, 3]).unwrap();
/// assert_eq!((pairs.len(), pairs.shapes()), (1, [[1, 2, 2], [3, 2, 2]]));
/// image::GrayImage::new(4, 4).save(dir.join("in").join("b.png")).unwrap();
/// let err = PairedImageFolder::load(dir.join("in"), dir.join("out"), 2, [1, 3]).unwrap_err().to_string();
/// assert!(err.contains("b.png") && err.contains("no target"), "{err}");
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
#[derive(Clone, Debug)]
pub struct PairedImageFolder {
    /// The input images.
    pub inputs: ImageFolder,
    /// The target images, in the inputs' order.
    pub targets: ImageFolder,
}

/// An image's name for pairing: its path under the folder, without the extension.
fn pair_key(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).with_extension("")
}

impl PairedImageFolder {
    /// Reads both folders, `size × size`, with `channels` `[input, target]` (1: grey, 3: RGB),
    /// and pairs their images by name. Errors name an image without a partner.
    pub fn load(
        inputs: impl AsRef<Path>,
        targets: impl AsRef<Path>,
        size: usize,
        channels: [usize; 2],
    ) -> Result<Self> {
        let (input_dir, target_dir) = (inputs.as_ref(), targets.as_ref());
        let inputs = ImageFolder::load(input_dir, size, channels[0])?;
        let targets = ImageFolder::load(target_dir, size, channels[1])?;
        let by_key: BTreeMap<PathBuf, usize> =
            targets.paths.iter().enumerate().map(|(i, p)| (pair_key(target_dir, p), i)).collect();
        let mut order = Vec::with_capacity(inputs.count);
        for path in &inputs.paths {
            let key = pair_key(input_dir, path);
            let index = by_key.get(&key).ok_or_else(|| {
                RganError::file(path, format!("has no target image of the same name in {}", target_dir.display()))
            })?;
            order.push(*index);
        }
        if order.len() != targets.count {
            let used: std::collections::BTreeSet<usize> = order.iter().copied().collect();
            let lone = (0..targets.count).find(|i| !used.contains(i)).unwrap_or(0);
            return Err(RganError::file(
                &targets.paths[lone],
                format!("has no input image of the same name in {}", input_dir.display()),
            ));
        }
        Ok(Self { targets: targets.reordered(&order), inputs })
    }
}

impl PairedDataset for PairedImageFolder {
    fn len(&self) -> usize {
        self.inputs.count
    }

    fn shapes(&self) -> [[usize; 3]; 2] {
        use super::ImageDataset;
        [self.inputs.image_shape(), self.targets.image_shape()]
    }

    fn extend_pair(&self, index: usize, inputs: &mut Vec<f32>, targets: &mut Vec<f32>) {
        use super::ImageDataset;
        self.inputs.extend_image(index, inputs);
        self.targets.extend_image(index, targets);
    }
}
