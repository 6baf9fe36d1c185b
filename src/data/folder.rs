//! A folder of PNG/JPEG images, resized to a square and scaled to `[-1, 1]`.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;

use super::{ImageDataset, open_image, scale_pixel};
use crate::error::{Result, RganError};

/// Images read from a folder (PNG or JPEG), resized to `size × size`, converted to `channels`
/// (1: grey, 3: RGB) and scaled to `[-1, 1]` as `(x - 127.5) / 127.5`.
///
/// Images directly in the folder get label 0; images in sub-folders get the index of their
/// sub-folder in `classes` (sorted by name), as in torchvision's `ImageFolder`.
///
/// ```
/// use rgan::data::{ImageDataset, ImageFolder};
/// let dir = std::env::temp_dir().join(format!("rgan-doc-folder-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// image::GrayImage::from_pixel(4, 4, image::Luma([255])).save(dir.join("a.png")).unwrap();
/// let folder = ImageFolder::load(&dir, 2, 1).unwrap();
/// assert_eq!((folder.len(), folder.image_shape()), (1, [1, 2, 2]));
/// assert_eq!(folder.pixels, vec![1.0; 4]);
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct ImageFolder {
    /// The number of images.
    pub count: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// The side of each (square) image.
    pub size: usize,
    /// `count × channels × size × size` values in `[-1, 1]`, image by image, channel-major.
    pub pixels: Vec<f32>,
    /// One label per image (index into `classes`, or 0 when there are no sub-folders).
    pub labels: Vec<i64>,
    /// The sub-folder names, sorted; empty when all images lie directly in the folder.
    pub classes: Vec<String>,
    /// The file each image came from.
    pub paths: Vec<PathBuf>,
}

fn is_image(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.is_file() {
        return Err(RganError::file(dir, "is a file, not a folder of images"));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| RganError::file(dir, format!("cannot list the folder: {e}")))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

impl ImageFolder {
    /// Reads every PNG/JPEG in `dir` and its immediate sub-folders.
    ///
    /// Errors: `size` 0 or `channels` not 1 or 3 ([`RganError::InvalidArgument`]); a missing or
    /// empty folder, or an image that cannot be decoded ([`RganError::File`], naming the file).
    ///
    /// ```
    /// let err = rgan::data::ImageFolder::load("/nonexistent/images", 28, 1).unwrap_err();
    /// assert!(err.to_string().contains("/nonexistent/images"));
    /// ```
    pub fn load(dir: impl AsRef<Path>, size: usize, channels: usize) -> Result<Self> {
        let dir = dir.as_ref();
        if size == 0 {
            return Err(RganError::invalid("size", "must be at least 1 pixel"));
        }
        if channels != 1 && channels != 3 {
            return Err(RganError::invalid("channels", format!("is {channels}; it must be 1 (grey) or 3 (RGB)")));
        }
        let ImageFiles { paths, labels, classes } = ImageFiles::list(dir)?;
        let files: Vec<(PathBuf, i64)> = paths.into_iter().zip(labels).collect();
        let plane = size * size;
        let mut pixels = Vec::with_capacity(files.len() * channels * plane);
        for (path, _) in &files {
            let img = open_image(path)?;
            let img = img.resize_exact(size as u32, size as u32, FilterType::Triangle);
            if channels == 1 {
                pixels.extend(img.to_luma8().as_raw().iter().map(|&x| scale_pixel(x)));
            } else {
                let rgb = img.to_rgb8();
                let raw = rgb.as_raw();
                for c in 0..3 {
                    pixels.extend((0..plane).map(|i| scale_pixel(raw[3 * i + c])));
                }
            }
        }
        let (paths, labels): (Vec<PathBuf>, Vec<i64>) = files.into_iter().unzip();
        Ok(Self { count: paths.len(), channels, size, pixels, labels, classes, paths })
    }

    /// The first `per_class` images of each class (in file order), as a folder of its own: a
    /// smaller, still balanced evaluation set (e.g. `rgan eval stargan --per-domain`, whose cost
    /// grows with images × domains). Classes with fewer images keep them all.
    ///
    /// ```
    /// use rgan::data::ImageFolder;
    /// let folder = ImageFolder {
    ///     count: 5, channels: 1, size: 1, pixels: vec![0.0, 0.1, 0.2, 0.3, 0.4],
    ///     labels: vec![0, 0, 0, 1, 1], classes: vec!["a".into(), "b".into()],
    ///     paths: ["a/1", "a/2", "a/3", "b/1", "b/2"].iter().map(Into::into).collect(),
    /// };
    /// let two = folder.first_per_class(2);
    /// assert_eq!((two.count, two.labels.clone(), two.pixels.clone()), (4, vec![0, 0, 1, 1], vec![0.0, 0.1, 0.3, 0.4]));
    /// assert_eq!(two.paths[2], std::path::PathBuf::from("b/1"));
    /// ```
    pub fn first_per_class(&self, per_class: usize) -> Self {
        let values = self.channels * self.size * self.size;
        let mut seen = vec![0usize; self.classes.len().max(1)];
        let mut kept = Self {
            count: 0,
            channels: self.channels,
            size: self.size,
            pixels: Vec::new(),
            labels: Vec::new(),
            classes: self.classes.clone(),
            paths: Vec::new(),
        };
        for i in 0..self.count {
            let class = (self.labels[i].max(0) as usize).min(seen.len() - 1);
            if seen[class] < per_class {
                seen[class] += 1;
                kept.pixels.extend_from_slice(&self.pixels[i * values..(i + 1) * values]);
                kept.labels.push(self.labels[i]);
                kept.paths.push(self.paths[i].clone());
            }
        }
        kept.count = kept.labels.len();
        kept
    }
}

/// The image files of a folder (PNG or JPEG, directly in it or in its sub-folders, one class
/// per sub-folder), in [`ImageFolder`]'s order, without reading them: for evaluation over
/// folders of any size, one batch of images in memory at a time ([`read_image`]).
///
/// ```
/// let dir = std::env::temp_dir().join(format!("rgan-doc-files-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("cats")).unwrap();
/// image::GrayImage::new(2, 2).save(dir.join("cats/a.png")).unwrap();
/// image::GrayImage::new(2, 2).save(dir.join("b.png")).unwrap();
/// let files = rgan::data::ImageFiles::list(&dir).unwrap();
/// assert_eq!((files.paths.len(), files.classes.clone()), (2, vec!["cats".to_string()]));
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ImageFiles {
    /// The files.
    pub paths: Vec<PathBuf>,
    /// One label per file (index into `classes`, or 0 for files directly in the folder).
    pub labels: Vec<i64>,
    /// The sub-folder names, sorted.
    pub classes: Vec<String>,
}

impl ImageFiles {
    /// Lists `dir`'s images; an error naming the folder when it is missing, a file, or holds
    /// no image.
    pub fn list(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let (mut paths, mut labels, mut classes) = (Vec::new(), Vec::new(), Vec::new());
        for entry in sorted_entries(dir)? {
            if entry.is_dir() {
                let label = classes.len() as i64;
                let name = entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let inner: Vec<PathBuf> = sorted_entries(&entry)?.into_iter().filter(|p| is_image(p)).collect();
                if !inner.is_empty() {
                    classes.push(name);
                    labels.extend(std::iter::repeat_n(label, inner.len()));
                    paths.extend(inner);
                }
            } else if is_image(&entry) {
                paths.push(entry);
                labels.push(0);
            }
        }
        if paths.is_empty() {
            return Err(RganError::File {
                path: dir.to_path_buf(),
                reason: "holds no .png, .jpg or .jpeg images (directly or in its sub-folders)".into(),
            });
        }
        Ok(Self { paths, labels, classes })
    }
}

/// One image file decoded at its own size: `channels × height × width` values in `[-1, 1]`
/// (channel-major), and the channels the file itself has (1 for grey, 3 for colour; an alpha
/// channel is dropped).
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedImage {
    /// The channels of `pixels`.
    pub channels: usize,
    /// The file's own channels (grey 1, colour 3), whatever `pixels` were converted to.
    pub file_channels: usize,
    /// The height.
    pub height: usize,
    /// The width.
    pub width: usize,
    /// The values, channel-major, in `[-1, 1]`.
    pub pixels: Vec<f32>,
}

/// Decodes `path` at its own size, converted to `channels` (1: grey, 3: RGB; `None`: as the
/// file is), scaled to `[-1, 1]` as [`ImageFolder`] does.
///
/// ```
/// let path = std::env::temp_dir().join(format!("rgan-doc-read-{}.png", std::process::id()));
/// image::GrayImage::from_pixel(3, 2, image::Luma([255])).save(&path).unwrap();
/// let image = rgan::data::read_image(&path, Some(3)).unwrap();
/// assert_eq!((image.channels, image.file_channels, image.height, image.width), (3, 1, 2, 3));
/// assert_eq!(image.pixels, vec![1.0; 18]);
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn read_image(path: impl AsRef<Path>, channels: Option<usize>) -> Result<DecodedImage> {
    let path = path.as_ref();
    let img = open_image(path)?;
    let file_channels = if img.color().has_color() { 3 } else { 1 };
    let channels = channels.unwrap_or(file_channels);
    let (width, height) = (img.width() as usize, img.height() as usize);
    let plane = width * height;
    let pixels = match channels {
        1 => img.to_luma8().as_raw().iter().map(|&x| scale_pixel(x)).collect(),
        3 => {
            let rgb = img.to_rgb8();
            let raw = rgb.as_raw();
            (0..3).flat_map(|c| (0..plane).map(move |i| scale_pixel(raw[3 * i + c]))).collect()
        }
        other => return Err(RganError::invalid("channels", format!("is {other}; it must be 1 (grey) or 3 (RGB)"))),
    };
    Ok(DecodedImage { channels, file_channels, height, width, pixels })
}

impl ImageFolder {
    /// The images in the order `order` gives (`order[i]` is the index of the new `i`-th image).
    pub(crate) fn reordered(&self, order: &[usize]) -> Self {
        let n = self.channels * self.size * self.size;
        Self {
            count: order.len(),
            channels: self.channels,
            size: self.size,
            pixels: order.iter().flat_map(|&i| self.pixels[i * n..(i + 1) * n].iter().copied()).collect(),
            labels: order.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes.clone(),
            paths: order.iter().map(|&i| self.paths[i].clone()).collect(),
        }
    }
}

impl ImageDataset for ImageFolder {
    fn len(&self) -> usize {
        self.count
    }
    fn image_shape(&self) -> [usize; 3] {
        [self.channels, self.size, self.size]
    }
    fn extend_image(&self, index: usize, out: &mut Vec<f32>) {
        let n = self.channels * self.size * self.size;
        out.extend_from_slice(&self.pixels[index * n..(index + 1) * n]);
    }
    fn label(&self, index: usize) -> i64 {
        self.labels[index]
    }
}
