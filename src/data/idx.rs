//! The IDX file format of MNIST and Fashion-MNIST, gzipped or raw.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Result, RganError};

/// The magic number of an IDX image file (unsigned bytes, 3 dimensions).
pub const IMAGES_MAGIC: u32 = 2051;
/// The magic number of an IDX label file (unsigned bytes, 1 dimension).
pub const LABELS_MAGIC: u32 = 2049;

/// The images of an IDX file: `count` images of `rows × cols` unsigned bytes, one after another,
/// each stored row by row (0 is background, 255 full ink).
///
/// ```
/// use rgan::data::IdxImages;
/// let images = IdxImages { count: 2, rows: 1, cols: 2, pixels: vec![0, 255, 10, 20] };
/// assert_eq!(images.image(1), &[10, 20]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    /// The number of images.
    pub count: usize,
    /// The height of each image.
    pub rows: usize,
    /// The width of each image.
    pub cols: usize,
    /// `count × rows × cols` bytes.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// The pixels of image `index` (`rows × cols` bytes, row by row).
    ///
    /// ```
    /// use rgan::data::IdxImages;
    /// let images = IdxImages { count: 1, rows: 2, cols: 2, pixels: vec![1, 2, 3, 4] };
    /// assert_eq!(images.image(0), &[1, 2, 3, 4]);
    /// ```
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.rows * self.cols;
        &self.pixels[index * size..(index + 1) * size]
    }
}

/// Reads a whole file, decompressing it if it starts with the gzip magic bytes `1f 8b`.
fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            RganError::file(path, "no such file")
        } else {
            RganError::file(path, format!("cannot be read: {e}"))
        }
    })?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| RganError::file(path, format!("is gzip-compressed but cannot be decompressed: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// The big-endian `u32` header fields of an IDX file after checking its magic number and length.
fn parse_header(path: &Path, bytes: &[u8], magic: u32, dims: usize, what: &str) -> Result<Vec<usize>> {
    let header_len = 4 * (dims + 1);
    let too_short = |len: usize| {
        RganError::file(
            path,
            format!("is {len} bytes long, shorter than the {header_len}-byte header of an IDX {what} file"),
        )
    };
    if bytes.len() < 4 {
        return Err(too_short(bytes.len()));
    }
    let field = |i: usize| u32::from_be_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]]);
    let found = field(0);
    if found != magic {
        return Err(RganError::file(
            path,
            format!(
                "bad magic number {found} (0x{found:08x}); an IDX {what} file starts with {magic} (0x{magic:08x}){}",
                if found == IMAGES_MAGIC || found == LABELS_MAGIC {
                    " — is this the other file of the pair?"
                } else {
                    ""
                }
            ),
        ));
    }
    if bytes.len() < header_len {
        return Err(too_short(bytes.len()));
    }
    let fields: Vec<usize> = (1..=dims).map(|i| field(i) as usize).collect();
    let body: Option<usize> = fields.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let expected = body.and_then(|b| b.checked_add(header_len));
    match expected {
        Some(expected) if expected == bytes.len() => Ok(fields),
        Some(expected) if expected > bytes.len() => Err(RganError::file(
            path,
            format!(
                "truncated: the header says {} so the file should be {expected} bytes, but it has {}",
                describe(&fields),
                bytes.len()
            ),
        )),
        Some(expected) => Err(RganError::file(
            path,
            format!(
                "the header says {} so the file should be {expected} bytes, but it has {} ({} bytes too many)",
                describe(&fields),
                bytes.len(),
                bytes.len() - expected
            ),
        )),
        None => Err(RganError::file(path, format!("the header's dimensions {fields:?} overflow"))),
    }
}

fn describe(fields: &[usize]) -> String {
    match fields {
        [count, rows, cols] => format!("{count} images of {rows}×{cols}"),
        [count] => format!("{count} labels"),
        other => format!("dimensions {other:?}"),
    }
}

/// Reads an IDX image file (magic 2051), gzipped (detected by its `1f 8b` magic bytes) or raw.
///
/// Errors ([`RganError::File`], naming the file): a missing file, a bad magic number, a header
/// whose dimensions do not match the file's length (a truncated file).
///
/// ```
/// let path = std::env::temp_dir().join(format!("rgan-doc-idx-images-{}", std::process::id()));
/// let mut bytes = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
/// bytes.extend([0, 255, 10, 20]);
/// std::fs::write(&path, &bytes).unwrap();
/// let images = rgan::data::read_idx_images(&path).unwrap();
/// assert_eq!((images.count, images.rows, images.cols), (2, 1, 2));
/// std::fs::write(&path, &bytes[..18]).unwrap();
/// assert!(rgan::data::read_idx_images(&path).unwrap_err().to_string().contains("truncated"));
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    let path = path.as_ref();
    let mut bytes = read_maybe_gzipped(path)?;
    let fields = parse_header(path, &bytes, IMAGES_MAGIC, 3, "image")?;
    bytes.drain(..16);
    Ok(IdxImages { count: fields[0], rows: fields[1], cols: fields[2], pixels: bytes })
}

/// Reads an IDX label file (magic 2049), gzipped or raw: one byte per example.
///
/// ```
/// let path = std::env::temp_dir().join(format!("rgan-doc-idx-labels-{}", std::process::id()));
/// std::fs::write(&path, [0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]).unwrap();
/// assert_eq!(rgan::data::read_idx_labels(&path).unwrap(), vec![7, 2, 1]);
/// std::fs::write(&path, [0, 0, 8, 3, 0, 0, 0, 0]).unwrap();
/// assert!(rgan::data::read_idx_labels(&path).unwrap_err().to_string().contains("bad magic number 2051"));
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let mut bytes = read_maybe_gzipped(path)?;
    parse_header(path, &bytes, LABELS_MAGIC, 1, "label")?;
    bytes.drain(..8);
    Ok(bytes)
}

/// Which part of MNIST to read.
///
/// ```
/// use rgan::data::Split;
/// assert_eq!(Split::Train.file_prefix(), "train");
/// assert_eq!(Split::Test.file_prefix(), "t10k");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// The 60000 training images.
    Train,
    /// The 10000 test images.
    Test,
}

impl Split {
    /// The prefix of the split's file names (`train` or `t10k`).
    pub fn file_prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// MNIST or Fashion-MNIST (same layout and file names): grey-scale images and their labels.
///
/// ```no_run
/// use rgan::data::{Mnist, Split};
/// let mnist = Mnist::load("../shared/datasets/mnist", Split::Train).unwrap();
/// assert_eq!(mnist.images.count, 60000);
/// ```
#[derive(Clone, Debug)]
pub struct Mnist {
    /// The images, `count × 28 × 28` bytes.
    pub images: IdxImages,
    /// One label (0–9) per image.
    pub labels: Vec<u8>,
}

impl Mnist {
    /// Loads a split from `data_dir`, which holds `train-images-idx3-ubyte.gz`,
    /// `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz` and `t10k-labels-idx1-ubyte.gz`
    /// (or the same names without `.gz`, decompressed).
    ///
    /// Errors name the file and what is wrong: missing files, bad magic numbers, truncated
    /// files, and a label file whose count differs from the image file's.
    ///
    /// ```
    /// use rgan::data::{Mnist, Split};
    /// let err = Mnist::load("/nonexistent/mnist", Split::Train).unwrap_err();
    /// assert!(err.to_string().contains("train-images-idx3-ubyte"));
    /// ```
    pub fn load(data_dir: impl AsRef<Path>, split: Split) -> Result<Self> {
        let dir = data_dir.as_ref();
        let prefix = split.file_prefix();
        let images_path = find_file(dir, &format!("{prefix}-images-idx3-ubyte"))?;
        let labels_path = find_file(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
        let images = read_idx_images(&images_path)?;
        let labels = read_idx_labels(&labels_path)?;
        if labels.len() != images.count {
            return Err(RganError::file(
                &labels_path,
                format!(
                    "holds {} labels but {} holds {} images; the two files must describe the same examples",
                    labels.len(),
                    images_path.display(),
                    images.count
                ),
            ));
        }
        if let Some((i, l)) = labels.iter().enumerate().find(|(_, l)| **l > 9) {
            return Err(RganError::file(&labels_path, format!("label {i} is {l}, but MNIST labels are 0–9")));
        }
        Ok(Self { images, labels })
    }

    /// The number of examples.
    ///
    /// ```
    /// use rgan::data::{IdxImages, Mnist};
    /// let m = Mnist { images: IdxImages { count: 1, rows: 1, cols: 1, pixels: vec![0] }, labels: vec![3] };
    /// assert_eq!(m.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.images.count
    }

    /// Whether there are no examples.
    ///
    /// ```
    /// use rgan::data::{IdxImages, Mnist};
    /// let m = Mnist { images: IdxImages { count: 0, rows: 28, cols: 28, pixels: vec![] }, labels: vec![] };
    /// assert!(m.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.images.count == 0
    }

    /// Keeps only the first `n` examples (for quick runs and tests).
    ///
    /// ```
    /// use rgan::data::{IdxImages, Mnist};
    /// let m = Mnist { images: IdxImages { count: 2, rows: 1, cols: 1, pixels: vec![0, 9] }, labels: vec![3, 4] };
    /// let m = m.truncated(1);
    /// assert_eq!((m.len(), m.labels.clone()), (1, vec![3]));
    /// ```
    pub fn truncated(mut self, n: usize) -> Self {
        let n = n.min(self.images.count);
        self.images.pixels.truncate(n * self.images.rows * self.images.cols);
        self.images.count = n;
        self.labels.truncate(n);
        self
    }
}

/// `dir/name.gz` if present, else `dir/name`, else an error naming both.
fn find_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let gz = dir.join(format!("{name}.gz"));
    let raw = dir.join(name);
    if gz.is_file() {
        Ok(gz)
    } else if raw.is_file() {
        Ok(raw)
    } else {
        let hint = if dir.is_dir() {
            "the directory exists but holds neither".to_string()
        } else if dir.exists() {
            format!("{} is a file, not a directory", dir.display())
        } else {
            format!("the directory {} does not exist", dir.display())
        };
        Err(RganError::file(
            &gz,
            format!(
                "no such file (nor {name} uncompressed); {hint}. Point --data-dir or RGAN_DATA_DIR at a folder \
                 holding the four MNIST IDX files"
            ),
        ))
    }
}
