//! CIFAR-10 (Krizhevsky 2009): 60,000 32×32 RGB images in 10 classes, from its binary format or
//! from image folders.
//!
//! - **Binary format** (what most users download, `cifar-10-binary.tar.gz`): `data_batch_1.bin` …
//!   `data_batch_5.bin` (training, 10,000 records each) and `test_batch.bin`; each record is one
//!   label byte then 3,072 pixel bytes, the red plane, then green, then blue, row by row. The
//!   files may lie in the given folder or in its `cifar-10-batches-bin/`.
//! - **Image folders**: `train/<class>/*.png|jpg` and `test/<class>/…`, one sub-folder per class
//!   named as CIFAR-10's classes (their alphabetical order is CIFAR-10's label order), every image
//!   32×32 (grey images are expanded to RGB). `../shared/datasets/cifar10` is such a copy, in JPEG.
//!
//! Pixels are scaled as TF-GAN's CIFAR-10 example does, `(x − 128) / 128` (so in `[−1, 0.9922]`),
//! not `(x − 127.5) / 127.5` as its MNIST example.

use std::path::{Path, PathBuf};

use super::{ImageDataset, ImageFiles, Split, open_image};
use crate::error::{Result, RganError};

/// CIFAR-10's classes, in label order.
pub const CIFAR10_CLASSES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// The side of a CIFAR-10 image.
pub const CIFAR10_SIZE: usize = 32;

/// Bytes of one image (3 planes of 32 × 32).
const IMAGE_BYTES: usize = 3 * CIFAR10_SIZE * CIFAR10_SIZE;

/// Bytes of one record of the binary format: a label, then the image.
const RECORD_BYTES: usize = 1 + IMAGE_BYTES;

/// TF-GAN's CIFAR-10 scaling: a byte `x` becomes `(x − 128) / 128`.
///
/// ```
/// assert_eq!(rgan::data::scale_cifar_pixel(128), 0.0);
/// assert_eq!(rgan::data::scale_cifar_pixel(0), -1.0);
/// assert_eq!(rgan::data::scale_cifar_pixel(255), 127.0 / 128.0);
/// ```
pub fn scale_cifar_pixel(x: u8) -> f32 {
    (x as f32 - 128.0) / 128.0
}

/// One split of CIFAR-10 in memory: bytes as the binary format holds them.
///
/// ```
/// use rgan::data::{Cifar10, ImageDataset};
/// let data = Cifar10 { pixels: vec![128; 3072], labels: vec![7] };
/// assert_eq!((data.len(), data.image_shape(), data.label(0)), (1, [3, 32, 32], 7));
/// let mut image = Vec::new();
/// data.extend_image(0, &mut image);
/// assert!(image.len() == 3072 && image.iter().all(|&v| v == 0.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Cifar10 {
    /// `len × 3 × 32 × 32` bytes, image by image, each the red, green and blue planes.
    pub pixels: Vec<u8>,
    /// One label in `0..10` per image ([`CIFAR10_CLASSES`]).
    pub labels: Vec<u8>,
}

/// The binary files of `split`.
fn binary_files(split: Split) -> Vec<String> {
    match split {
        Split::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
        Split::Test => vec!["test_batch.bin".to_string()],
    }
}

impl Cifar10 {
    /// Reads `split` from `dir`: the binary files when `dir` (or `dir/cifar-10-batches-bin`)
    /// holds them, else the image folder `dir/train` or `dir/test`.
    ///
    /// Errors name the folder or file: a missing folder, neither layout present, a binary file
    /// whose size is not a whole number of records or with a label above 9, an image folder whose
    /// sub-folders are not CIFAR-10's classes, an image that is not 32×32 or cannot be decoded.
    ///
    /// ```
    /// use rgan::data::{Cifar10, Split};
    /// let err = Cifar10::load("/nonexistent/cifar10", Split::Train).unwrap_err();
    /// assert!(err.to_string().contains("/nonexistent/cifar10"));
    /// ```
    pub fn load(dir: impl AsRef<Path>, split: Split) -> Result<Self> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            let reason = if dir.exists() { "is a file, not a folder" } else { "does not exist" };
            return Err(RganError::file(dir, format!("{reason} (CIFAR-10: its binary files or image folders)")));
        }
        for candidate in [dir.to_path_buf(), dir.join("cifar-10-batches-bin")] {
            let files: Vec<PathBuf> = binary_files(split).iter().map(|f| candidate.join(f)).collect();
            if files.iter().any(|f| f.is_file()) {
                return Self::load_binary(&files);
            }
        }
        let folder = dir.join(match split {
            Split::Train => "train",
            Split::Test => "test",
        });
        if folder.is_dir() {
            return Self::load_folder(&folder);
        }
        Err(RganError::file(
            dir,
            format!(
                "holds neither CIFAR-10's binary files ({}) nor an image folder {}/<class>/",
                binary_files(split).join(", "),
                folder.file_name().and_then(|n| n.to_str()).unwrap_or("train")
            ),
        ))
    }

    /// Reads CIFAR-10 binary files (each a whole number of 3,073-byte records), in order.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("rgan-doc-cifar-bin-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let mut record = vec![3u8];
    /// record.extend(std::iter::repeat(255u8).take(3072));
    /// std::fs::write(dir.join("test_batch.bin"), &record).unwrap();
    /// let data = rgan::data::Cifar10::load_binary(&[dir.join("test_batch.bin")]).unwrap();
    /// assert_eq!((data.labels.clone(), data.pixels.len()), (vec![3], 3072));
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn load_binary(files: &[PathBuf]) -> Result<Self> {
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for file in files {
            let bytes = std::fs::read(file).map_err(|e| RganError::file(file, format!("cannot be read: {e}")))?;
            if bytes.is_empty() || bytes.len() % RECORD_BYTES != 0 {
                return Err(RganError::file(
                    file,
                    format!(
                        "is {} bytes, not a whole number of CIFAR-10 records ({RECORD_BYTES} bytes: a label and a \
                         32×32×3 image); truncated or not CIFAR-10's binary format",
                        bytes.len()
                    ),
                ));
            }
            pixels.reserve(bytes.len() / RECORD_BYTES * IMAGE_BYTES);
            for (index, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
                if record[0] >= 10 {
                    return Err(RganError::file(
                        file,
                        format!("record {index} has label {}; CIFAR-10's labels are 0 to 9", record[0]),
                    ));
                }
                labels.push(record[0]);
                pixels.extend_from_slice(&record[1..]);
            }
        }
        Ok(Self { pixels, labels })
    }

    /// Reads an image folder with one sub-folder per CIFAR-10 class (any subset of the ten, named
    /// as [`CIFAR10_CLASSES`]), every image 32×32, in [`ImageFiles`]' order. Decoding runs on
    /// rayon's pool; the result does not depend on it.
    pub fn load_folder(dir: &Path) -> Result<Self> {
        use rayon::prelude::*;
        let files = ImageFiles::list(dir)?;
        if files.classes.is_empty() {
            return Err(RganError::file(dir, "has no class sub-folders (airplane/, automobile/, …)"));
        }
        let mut class_labels = Vec::with_capacity(files.classes.len());
        for class in &files.classes {
            let label = CIFAR10_CLASSES.iter().position(|c| c == class).ok_or_else(|| {
                RganError::file(
                    dir.join(class),
                    format!("is not one of CIFAR-10's classes ({})", CIFAR10_CLASSES.join(", ")),
                )
            })?;
            class_labels.push(label as u8);
        }
        let images: Vec<Vec<u8>> = files
            .paths
            .par_iter()
            .map(|path| {
                let image = open_image(path)?;
                let (w, h) = (image.width() as usize, image.height() as usize);
                if (w, h) != (CIFAR10_SIZE, CIFAR10_SIZE) {
                    return Err(RganError::file(path, format!("is {w}×{h}; CIFAR-10 images are 32×32")));
                }
                let rgb = image.to_rgb8();
                let raw = rgb.as_raw();
                let plane = CIFAR10_SIZE * CIFAR10_SIZE;
                Ok((0..3).flat_map(|c| (0..plane).map(move |i| raw[3 * i + c])).collect())
            })
            .collect::<Result<_>>()?;
        let labels = files.labels.iter().map(|&class| class_labels[class as usize]).collect();
        Ok(Self { pixels: images.concat(), labels })
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Keeps the first `n` images (all of them when there are fewer).
    pub fn truncated(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.pixels.truncate(n * IMAGE_BYTES);
        self
    }

    /// Writes the images in CIFAR-10's binary format to `path` (for tests and for users who
    /// converted their own images), atomically.
    pub fn write_binary(&self, path: &Path) -> Result<()> {
        let mut bytes = Vec::with_capacity(self.len() * RECORD_BYTES);
        for (label, image) in self.labels.iter().zip(self.pixels.chunks_exact(IMAGE_BYTES)) {
            bytes.push(*label);
            bytes.extend_from_slice(image);
        }
        crate::files::write_atomically(path, &bytes)
    }
}

impl ImageDataset for Cifar10 {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn image_shape(&self) -> [usize; 3] {
        [3, CIFAR10_SIZE, CIFAR10_SIZE]
    }
    fn extend_image(&self, index: usize, out: &mut Vec<f32>) {
        let image = &self.pixels[index * IMAGE_BYTES..(index + 1) * IMAGE_BYTES];
        out.extend(image.iter().map(|&x| scale_cifar_pixel(x)));
    }
    fn label(&self, index: usize) -> i64 {
        self.labels[index] as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` images whose pixels encode their index, channel and position; labels `i % 10`.
    fn synthetic(n: usize, offset: usize) -> Cifar10 {
        let pixels = (0..n * IMAGE_BYTES).map(|i| ((i / 7 + offset) % 256) as u8).collect();
        let labels = (0..n).map(|i| ((i + offset) % 10) as u8).collect();
        Cifar10 { pixels, labels }
    }

    #[test]
    fn the_binary_format_round_trips_over_the_five_training_batches() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("cifar-10-batches-bin");
        std::fs::create_dir_all(&dir).unwrap();
        let parts: Vec<Cifar10> = (0..5).map(|i| synthetic(3, i)).collect();
        for (i, part) in parts.iter().enumerate() {
            part.write_binary(&dir.join(format!("data_batch_{}.bin", i + 1))).unwrap();
        }
        synthetic(2, 9).write_binary(&dir.join("test_batch.bin")).unwrap();
        // Found through the folder the archive unpacks to.
        let train = Cifar10::load(root.path(), Split::Train).unwrap();
        let expected = Cifar10 {
            pixels: parts.iter().flat_map(|p| p.pixels.clone()).collect(),
            labels: parts.iter().flat_map(|p| p.labels.clone()).collect(),
        };
        assert_eq!(train, expected);
        let test = Cifar10::load(&dir, Split::Test).unwrap();
        assert_eq!(test, synthetic(2, 9));
        // Channel planes: record byte 1 + c·1024 + y·32 + x is channel c at (y, x).
        let mut image = Vec::new();
        test.extend_image(1, &mut image);
        let raw = &test.pixels[IMAGE_BYTES..2 * IMAGE_BYTES];
        assert_eq!(image[1024 + 33], scale_cifar_pixel(raw[1024 + 33]));
        assert_eq!(test.label(1), 0);
    }

    #[test]
    fn truncated_files_and_bad_labels_are_errors_naming_the_file() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        let file = dir.join("test_batch.bin");
        std::fs::write(&file, vec![1u8; RECORD_BYTES + 5]).unwrap();
        let err = Cifar10::load(dir, Split::Test).unwrap_err().to_string();
        assert!(err.contains("test_batch.bin") && err.contains("3078 bytes"), "{err}");
        let mut bytes = vec![0u8; 2 * RECORD_BYTES];
        bytes[RECORD_BYTES] = 10;
        std::fs::write(&file, bytes).unwrap();
        let err = Cifar10::load(dir, Split::Test).unwrap_err().to_string();
        assert!(err.contains("record 1 has label 10"), "{err}");
        let err = Cifar10::load(dir, Split::Train).unwrap_err().to_string();
        assert!(err.contains("neither") && err.contains("data_batch_1.bin"), "{err}");
    }

    #[test]
    fn image_folders_read_as_the_binary_format_does() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        let data = synthetic(4, 0);
        for (i, image) in data.pixels.chunks_exact(IMAGE_BYTES).enumerate() {
            let class = CIFAR10_CLASSES[[2, 2, 9, 0][i]];
            std::fs::create_dir_all(dir.join("train").join(class)).unwrap();
            let rgb = image::RgbImage::from_fn(32, 32, |x, y| {
                let at = y as usize * 32 + x as usize;
                image::Rgb([image[at], image[1024 + at], image[2048 + at]])
            });
            rgb.save(dir.join("train").join(class).join(format!("{i}.png"))).unwrap();
        }
        let read = Cifar10::load(dir, Split::Train).unwrap();
        // Sorted by class folder, then by file: airplane (3), bird (0, 1), truck (2).
        assert_eq!(read.labels, vec![0, 2, 2, 9]);
        for (got, want) in read.pixels.chunks_exact(IMAGE_BYTES).zip([3, 0, 1, 2]) {
            assert_eq!(got, &data.pixels[want * IMAGE_BYTES..(want + 1) * IMAGE_BYTES]);
        }
        std::fs::create_dir_all(dir.join("train").join("cats")).unwrap();
        image::RgbImage::new(32, 32).save(dir.join("train/cats/x.png")).unwrap();
        let err = Cifar10::load(dir, Split::Train).unwrap_err().to_string();
        assert!(err.contains("cats") && err.contains("not one of CIFAR-10's classes"), "{err}");
        std::fs::remove_dir_all(dir.join("train/cats")).unwrap();
        image::RgbImage::new(31, 32).save(dir.join("train/truck/y.png")).unwrap();
        let err = Cifar10::load(dir, Split::Train).unwrap_err().to_string();
        assert!(err.contains("y.png") && err.contains("31×32"), "{err}");
    }
}
