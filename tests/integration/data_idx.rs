//! The IDX reader's checks, on tiny files written to a temporary folder, and the real MNIST
//! training set when it is present.

use crate::common;
use common::mnist_dir;

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use rgan::RganError;
use rgan::data::{Batcher, ImageDataset, ImageFolder, Mnist, Split, read_idx_images, read_idx_labels};

fn images_bytes(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    for v in [2051u32, count, rows, cols] {
        bytes.extend(v.to_be_bytes());
    }
    bytes.extend((0..count * rows * cols).map(|i| (i % 256) as u8));
    bytes
}

fn labels_bytes(count: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    for v in [2049u32, count] {
        bytes.extend(v.to_be_bytes());
    }
    bytes.extend((0..count).map(|i| (i % 10) as u8));
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn file_error(err: RganError, path: &Path) -> String {
    match err {
        RganError::File { path: p, reason } => {
            assert_eq!(p, path, "the error names the wrong file ({reason})");
            reason
        }
        other => panic!("expected a File error, got {other:?}"),
    }
}

#[test]
fn raw_and_gzipped_files_read_the_same() {
    let tmp = common::temp_dir("idx-ok");
    let raw = write(&tmp.path(), "raw", &images_bytes(3, 2, 4));
    let gz = write(&tmp.path(), "gz", &gzip(&images_bytes(3, 2, 4)));
    let a = read_idx_images(&raw).unwrap();
    let b = read_idx_images(&gz).unwrap();
    assert_eq!(a, b);
    assert_eq!((a.count, a.rows, a.cols, a.pixels.len()), (3, 2, 4, 24));
    assert_eq!(a.image(1), &[8, 9, 10, 11, 12, 13, 14, 15]);
    let labels = write(&tmp.path(), "labels.gz", &gzip(&labels_bytes(12)));
    assert_eq!(read_idx_labels(&labels).unwrap(), vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
}

#[test]
fn missing_file() {
    let tmp = common::temp_dir("idx-missing");
    let path = tmp.path().join("nothing-here");
    let reason = file_error(read_idx_images(&path).unwrap_err(), &path);
    assert!(reason.contains("no such file"), "{reason}");
}

#[test]
fn bad_magic_numbers() {
    let tmp = common::temp_dir("idx-magic");
    let labels = write(&tmp.path(), "labels", &labels_bytes(4));
    let reason = file_error(read_idx_images(&labels).unwrap_err(), &labels);
    assert!(reason.contains("bad magic number 2049") && reason.contains("2051"), "{reason}");
    let images = write(&tmp.path(), "images", &images_bytes(1, 1, 1));
    let reason = file_error(read_idx_labels(&images).unwrap_err(), &images);
    assert!(reason.contains("bad magic number 2051") && reason.contains("2049"), "{reason}");
    let junk = write(&tmp.path(), "junk", b"hello world, this is not IDX");
    let reason = file_error(read_idx_images(&junk).unwrap_err(), &junk);
    assert!(reason.contains("bad magic number"), "{reason}");
}

#[test]
fn truncated_and_oversized_files() {
    let tmp = common::temp_dir("idx-trunc");
    let full = images_bytes(5, 3, 3);
    let truncated = write(&tmp.path(), "truncated.gz", &gzip(&full[..full.len() - 4]));
    let reason = file_error(read_idx_images(&truncated).unwrap_err(), &truncated);
    assert!(reason.contains("truncated") && reason.contains("5 images of 3×3") && reason.contains("61"), "{reason}");
    let header_only = write(&tmp.path(), "short", &full[..10]);
    let reason = file_error(read_idx_images(&header_only).unwrap_err(), &header_only);
    assert!(reason.contains("shorter than the 16-byte header"), "{reason}");
    let mut long = labels_bytes(3);
    long.push(0);
    let long = write(&tmp.path(), "long", &long);
    let reason = file_error(read_idx_labels(&long).unwrap_err(), &long);
    assert!(reason.contains("1 bytes too many"), "{reason}");
    let corrupt = write(&tmp.path(), "corrupt.gz", &gzip(&full)[..20]);
    let reason = file_error(read_idx_images(&corrupt).unwrap_err(), &corrupt);
    assert!(reason.contains("gzip"), "{reason}");
}

#[test]
fn count_mismatch_between_images_and_labels() {
    let tmp = common::temp_dir("idx-count");
    write(&tmp.path(), "train-images-idx3-ubyte.gz", &gzip(&images_bytes(4, 28, 28)));
    let labels = write(&tmp.path(), "train-labels-idx1-ubyte", &labels_bytes(3));
    let reason = file_error(Mnist::load(&tmp.path(), Split::Train).unwrap_err(), &labels);
    assert!(reason.contains("holds 3 labels") && reason.contains("4 images"), "{reason}");
}

#[test]
fn missing_split_names_the_file() {
    let tmp = common::temp_dir("idx-split");
    let err = Mnist::load(&tmp.path(), Split::Test).unwrap_err().to_string();
    assert!(err.contains("t10k-images-idx3-ubyte.gz") && err.contains("--data-dir"), "{err}");
}

#[test]
fn tiny_mnist_batches_cover_an_epoch() {
    let tmp = common::temp_dir("idx-batches");
    write(&tmp.path(), "t10k-images-idx3-ubyte", &images_bytes(10, 28, 28));
    write(&tmp.path(), "t10k-labels-idx1-ubyte.gz", &gzip(&labels_bytes(10)));
    let mnist = Mnist::load(&tmp.path(), Split::Test).unwrap();
    let device = Device::default();
    let mut batcher = Batcher::new(mnist.len(), 5, 3).unwrap();
    let a = batcher.next_batch(&mnist, &device).unwrap();
    let b = batcher.next_batch(&mnist, &device).unwrap();
    assert_eq!(a.images.dims(), [5, 1, 28, 28]);
    let mut labels: Vec<i64> = a.labels.into_data().iter::<i64>().chain(b.labels.into_data().iter::<i64>()).collect();
    labels.sort();
    assert_eq!(labels, (0..10).collect::<Vec<i64>>());
    let values = a.images.into_data().iter::<f32>().collect::<Vec<_>>();
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
}

#[test]
fn image_folder_reads_classes_and_scales() {
    let tmp = common::temp_dir("folder");
    std::fs::create_dir_all(tmp.path().join("cats")).unwrap();
    std::fs::create_dir_all(tmp.path().join("dogs")).unwrap();
    image::RgbImage::from_pixel(8, 6, image::Rgb([255, 0, 128])).save(tmp.path().join("cats/a.png")).unwrap();
    image::RgbImage::from_pixel(5, 5, image::Rgb([0, 0, 0])).save(tmp.path().join("dogs/b.jpg")).unwrap();
    std::fs::write(tmp.path().join("dogs/notes.txt"), "ignored").unwrap();
    let folder = ImageFolder::load(&tmp.path(), 4, 3).unwrap();
    assert_eq!(
        (folder.len(), folder.image_shape(), folder.classes.clone()),
        (2, [3, 4, 4], vec!["cats".into(), "dogs".into()])
    );
    assert_eq!((folder.label(0), folder.label(1)), (0, 1));
    let mut first = Vec::new();
    folder.extend_image(0, &mut first);
    assert_eq!((first[0], first[16], first[32]), (1.0, -1.0, (128.0 - 127.5) / 127.5));
    std::fs::write(tmp.path().join("cats/broken.png"), b"not a png").unwrap();
    let err = ImageFolder::load(&tmp.path(), 4, 3).unwrap_err();
    assert!(matches!(&err, RganError::File { path, .. } if path.ends_with("cats/broken.png")), "{err}");
    assert!(ImageFolder::load(&tmp.path(), 4, 2).unwrap_err().to_string().contains("channels"));
}

#[test]
fn real_mnist_train_and_test_sets() {
    let Some(dir) = mnist_dir() else { return };
    let train = Mnist::load(&dir, Split::Train).unwrap();
    assert_eq!((train.images.count, train.images.rows, train.images.cols), (60000, 28, 28));
    assert_eq!(train.labels.len(), 60000);
    // The first training labels of MNIST are 5, 0, 4, 1, 9.
    assert_eq!(&train.labels[..5], &[5, 0, 4, 1, 9]);
    let mut counts = [0usize; 10];
    train.labels.iter().for_each(|&l| counts[l as usize] += 1);
    assert_eq!(counts.iter().sum::<usize>(), 60000);
    assert!(counts.iter().all(|&c| (5000..7000).contains(&c)), "{counts:?}");
    let test = Mnist::load(&dir, Split::Test).unwrap();
    assert_eq!(test.len(), 10000);
}
