//! Random square patches of a few large photographs, as a data set of fixed length (TF-GAN's
//! image compression example trains on 32 × 32 patches).
//!
//! Patch `i` is a pure function of `i` and the set's seed (a SplitMix64 hash picks its photo,
//! weighted by area, and its place), so the patches need no memory of their own, shuffling and
//! batching work as on any data set, and a resumed run sees the same patches as an
//! uninterrupted one.

use std::path::Path;

use super::ImageDataset;
use super::folder::{DecodedImage, ImageFiles, read_image};
use crate::error::{Result, RganError};

/// `len` random `patch × patch` patches of `photos` (see the [module docs](self)).
///
/// ```
/// use rgan::data::{DecodedImage, ImageDataset, RandomPatches};
/// let photo = DecodedImage { channels: 1, file_channels: 1, height: 4, width: 5, pixels: (0..20).map(|v| v as f32).collect() };
/// let patches = RandomPatches::new(vec![photo], 2, 100, 7).unwrap();
/// assert_eq!((patches.len(), patches.image_shape()), (100, [1, 2, 2]));
/// let mut out = Vec::new();
/// patches.extend_image(3, &mut out);
/// // A 2 × 2 window of the photo: its rows are 5 apart.
/// assert_eq!((out[1] - out[0], out[2] - out[0], out[3] - out[0]), (1.0, 5.0, 6.0));
/// ```
#[derive(Clone, Debug)]
pub struct RandomPatches {
    photos: Vec<DecodedImage>,
    /// Cumulative counts of patch positions per photo (the area weights).
    cumulative: Vec<u64>,
    patch: usize,
    len: usize,
    seed: u64,
}

/// SplitMix64's output function: a well-mixed 64-bit hash of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl RandomPatches {
    /// `len` patches of side `patch` from `photos` (all of one channel count, each at least
    /// `patch` on both sides), placed by `seed`.
    pub fn new(photos: Vec<DecodedImage>, patch: usize, len: usize, seed: u64) -> Result<Self> {
        if photos.is_empty() {
            return Err(RganError::invalid("photos", "holds no images to cut patches from"));
        }
        if patch == 0 || len == 0 {
            return Err(RganError::invalid("patch", "patches need a side and a count of at least 1"));
        }
        let channels = photos[0].channels;
        let mut cumulative = Vec::with_capacity(photos.len());
        let mut total = 0u64;
        for (i, photo) in photos.iter().enumerate() {
            if photo.channels != channels {
                return Err(RganError::invalid(
                    "photos",
                    format!("photo {i} has {} channel(s), the first {channels}", photo.channels),
                ));
            }
            if photo.height < patch || photo.width < patch {
                return Err(RganError::invalid(
                    "photos",
                    format!("photo {i} is {} × {}, smaller than a {patch} × {patch} patch", photo.width, photo.height),
                ));
            }
            total += ((photo.height - patch + 1) * (photo.width - patch + 1)) as u64;
            cumulative.push(total);
        }
        Ok(Self { photos, cumulative, patch, len, seed })
    }

    /// Patches of every PNG/JPEG image in `dir` (sub-folders included), read in `channels`.
    pub fn load(dir: impl AsRef<Path>, channels: usize, patch: usize, len: usize, seed: u64) -> Result<Self> {
        let files = ImageFiles::list(dir)?;
        let photos = files.paths.iter().map(|path| read_image(path, Some(channels))).collect::<Result<Vec<_>>>()?;
        Self::new(photos, patch, len, seed)
    }

    /// The photo and top-left corner of patch `index`.
    pub fn place(&self, index: usize) -> (usize, usize, usize) {
        let total = *self.cumulative.last().expect("at least one photo");
        let position = mix(self.seed ^ mix(index as u64)) % total;
        let photo = self.cumulative.partition_point(|&c| c <= position);
        let start = if photo == 0 { 0 } else { self.cumulative[photo - 1] };
        let offset = (position - start) as usize;
        let columns = self.photos[photo].width - self.patch + 1;
        (photo, offset / columns, offset % columns)
    }
}

impl ImageDataset for RandomPatches {
    fn len(&self) -> usize {
        self.len
    }

    fn image_shape(&self) -> [usize; 3] {
        [self.photos[0].channels, self.patch, self.patch]
    }

    fn extend_image(&self, index: usize, out: &mut Vec<f32>) {
        let (photo, top, left) = self.place(index);
        let photo = &self.photos[photo];
        for plane in photo.pixels.chunks(photo.height * photo.width) {
            for row in top..top + self.patch {
                out.extend_from_slice(&plane[row * photo.width + left..row * photo.width + left + self.patch]);
            }
        }
    }

    fn label(&self, _index: usize) -> i64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(height: usize, width: usize, base: f32) -> DecodedImage {
        let pixels = (0..3 * height * width).map(|v| base + v as f32).collect();
        DecodedImage { channels: 3, file_channels: 3, height, width, pixels }
    }

    #[test]
    fn patches_cover_every_photo_by_area_and_stay_inside() {
        let patches = RandomPatches::new(vec![photo(10, 10, 0.0), photo(30, 20, 1e6)], 4, 4000, 1).unwrap();
        let mut counts = [0usize; 2];
        for i in 0..patches.len() {
            let (p, top, left) = patches.place(i);
            let (h, w) = [(10, 10), (30, 20)][p];
            assert!(top + 4 <= h && left + 4 <= w);
            counts[p] += 1;
        }
        // Positions: 7 × 7 = 49 and 27 × 17 = 459: about 9.6 % and 90.4 %.
        let share = counts[0] as f64 / 4000.0;
        assert!((share - 49.0 / 508.0).abs() < 0.02, "{counts:?}");
        // The same index gives the same patch; another seed other places.
        let again = RandomPatches::new(vec![photo(10, 10, 0.0), photo(30, 20, 1e6)], 4, 4000, 1).unwrap();
        let other = RandomPatches::new(vec![photo(10, 10, 0.0), photo(30, 20, 1e6)], 4, 4000, 2).unwrap();
        assert!((0..50).all(|i| patches.place(i) == again.place(i)));
        assert!((0..50).any(|i| patches.place(i) != other.place(i)));
        // Three planes of 4 × 4, each the photo's window.
        let mut out = Vec::new();
        patches.extend_image(5, &mut out);
        let (p, top, left) = patches.place(5);
        let source = [photo(10, 10, 0.0), photo(30, 20, 1e6)][p].clone();
        let at = |c: usize, r: usize, col: usize| source.pixels[(c * source.height + r) * source.width + col];
        assert_eq!(out.len(), 48);
        assert_eq!((out[0], out[47]), (at(0, top, left), at(2, top + 3, left + 3)));
    }

    #[test]
    fn unusable_photos_are_errors_naming_them() {
        let err = RandomPatches::new(vec![photo(10, 10, 0.0), photo(3, 20, 0.0)], 4, 10, 0).unwrap_err().to_string();
        assert!(err.contains("photo 1") && err.contains("20 × 3"), "{err}");
        assert!(RandomPatches::new(vec![], 4, 10, 0).is_err());
    }
}
