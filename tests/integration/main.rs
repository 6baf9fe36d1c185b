//! rgan's end-to-end tests, in one test binary.
//!
//! Each module below was once its own file under `tests/`; they share one binary so that the
//! build links burn once instead of once per file (less disk, faster CI). Run one group with
//! `cargo test --test integration fixtures_losses::`.

mod common;

mod data_idx;
mod estimator;
mod fid_inception;
mod fixtures_cyclegan_stargan;
mod fixtures_eval;
mod fixtures_features;
mod fixtures_gradient_penalty;
mod fixtures_losses;
mod gan_loss;
mod image_to_image;
mod loss_history;
mod mnist_classifier;
mod penalty_finite_differences;
mod reliability;
mod tensorboard_reader;
mod threads;
mod train_cifar;
mod train_end_to_end;
mod train_images;
mod train_smoke;
mod vanilla;
mod zoo;
