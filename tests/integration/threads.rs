//! The thread count changes no bit: the same run on a pool of 1, 2 or 3 threads (more threads than
//! this machine's cores is fine: only the split of the work is under test) ends with the same
//! networks, optimizer state and losses. Every kernel that splits work over threads splits it by
//! the shapes alone, and adds partial sums in a fixed order.
//!
//! The runs use batch 32 so that the products and convolutions are large enough to be split.

use super::train_end_to_end::{assert_same_checkpoints, logdir, scalar_rows, synthetic};

use std::path::{Path, PathBuf};

use burn::prelude::*;
use rgan::recipes::mnist::{GanKind, MnistRecipe};
use rgan::recipes::zoo::ZooModel;
use rgan::train::{StepReport, TrainConfig, resolve_checkpoint};

/// Runs `train` (which trains in the log folder it is given) on a pool of `threads` threads.
fn on_threads(threads: usize, name: &str, train: &(dyn Fn(&Path) + Sync)) -> PathBuf {
    let dir = logdir(&format!("{name}-threads-{threads}"));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| train(&dir));
    dir
}

fn config(config: TrainConfig) -> TrainConfig {
    config
        .with_batch_size(32)
        .with_steps(3)
        .with_grid_size(2)
        .with_sample_every(0)
        .with_log_every(1)
        .with_checkpoint_secs(0)
        .with_checkpoint_every(0)
}

/// Asserts the runs of `train` on 1, 2 and 3 threads end with identical checkpoints and losses.
fn assert_thread_count_free(name: &str, train: &(dyn Fn(&Path) + Sync)) {
    let one = on_threads(1, name, train);
    for threads in [2, 3] {
        let many = on_threads(threads, name, train);
        assert_same_checkpoints(&resolve_checkpoint(&one).unwrap(), &resolve_checkpoint(&many).unwrap());
        assert_eq!(scalar_rows(&one), scalar_rows(&many), "{name}: losses on 1 and {threads} threads");
        let _ = std::fs::remove_dir_all(many);
    }
    let _ = std::fs::remove_dir_all(one);
}

#[test]
fn tf_gans_mnist_gans_train_the_same_bits_on_any_number_of_threads() {
    let data = synthetic(96);
    let device = Device::default().autodiff();
    for kind in [GanKind::Unconditional, GanKind::InfoGan] {
        let recipe = MnistRecipe::for_kind(kind);
        assert_thread_count_free(&format!("mnist-{kind:?}"), &|dir| {
            let mut trainer = recipe.trainer(config(recipe.train_config()), &data, dir, true, &device).unwrap();
            trainer.run(|_: &StepReport| {}).unwrap();
        });
    }
}

#[test]
fn wgan_gp_with_its_exact_penalty_trains_the_same_bits_on_any_number_of_threads() {
    let data = synthetic(96);
    let device = Device::default().autodiff();
    let model = ZooModel::WganGp;
    assert_thread_count_free("wgan-gp", &|dir| {
        let mut trainer = model.recipe().trainer(config(model.train_config()), &data, dir, true, &device).unwrap();
        trainer.run(|_: &StepReport| {}).unwrap();
    });
}
