//! What a run does on a shared machine or a long job (the library's side; the command line's,
//! signals and exit codes included, is in `cli/tests/reliability.rs`): a log folder is held by
//! one run at a time, a killed run's lock and partial checkpoints are cleaned up with a
//! message, a resume checks the settings it is given, a run never starts afresh over
//! checkpoints it cannot read, and a step whose weights are not finite is never saved.

use std::path::Path;

use burn::module::Module;
use burn::nn::LinearConfig;
use burn::prelude::*;
use rgan::data::{ImageFolder, Mnist, Split};
use rgan::files::{FolderLock, LOCK_FILE};
use rgan::recipes::mnist::MnistRecipe;
use rgan::train::{CheckpointWriter, Explicit, Resume, StepReport, TrainConfig};

use super::train_end_to_end::{logdir, mnist_run, small, synthetic};

/// Trains `steps` steps of TF-GAN's unconditional MNIST GAN in `dir` (started or resumed).
fn train(dir: &Path, config: TrainConfig, data: &Mnist) -> rgan::Result<Vec<String>> {
    let mut trainer = mnist_run(&MnistRecipe::default(), config, data, dir, false)?;
    let notices = trainer.notices().to_vec();
    trainer.run(|_: &StepReport| {})?;
    Ok(notices)
}

#[test]
fn a_log_folder_is_held_by_one_run_and_a_killed_runs_lock_is_taken_over() {
    let data = synthetic(8);
    let dir = logdir("lock");
    let config = small(TrainConfig::new()).with_steps(1);
    let first = mnist_run(&MnistRecipe::default(), config.clone(), &data, &dir, false).unwrap();
    let err = mnist_run(&MnistRecipe::default(), config.clone(), &data, &dir, false).err().unwrap().to_string();
    assert!(
        err.contains(&dir.display().to_string())
            && err.contains("is in use by another rgan run")
            && err.contains(&format!("PID {}", std::process::id())),
        "{err}"
    );
    drop(first);
    // Released: the lock file is empty again, and the next run gets the folder without a note.
    assert_eq!(std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap(), "");
    assert!(train(&dir, config.clone(), &data).unwrap().is_empty());

    // A run killed with `kill -9` leaves its name in the lock file, but the operating system
    // dropped its lock: the next run takes it over and says so.
    std::fs::write(dir.join(LOCK_FILE), "PID 4194303 on another-host, since 0 (Unix time)").unwrap();
    let notices = train(&dir, config.with_steps(2), &data).unwrap();
    assert!(
        notices.iter().any(|n| n.contains("ended without releasing it") && n.contains("PID 4194303 on another-host")),
        "{notices:?}"
    );
    let lock = FolderLock::acquire(&dir).unwrap();
    assert_eq!(lock.taken_over(), None);
    drop(lock);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn partial_checkpoints_of_an_interrupted_write_are_removed_at_start_up() {
    let data = synthetic(8);
    let dir = logdir("partial");
    let config = small(TrainConfig::new()).with_steps(1);
    train(&dir, config.clone(), &data).unwrap();
    let root = dir.join("checkpoints");
    let tmp = root.join(".step-000002.tmp-4194303");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("generator.bpk"), vec![7u8; 3000]).unwrap();
    std::fs::write(root.join(".latest.tmp-4194303"), "step-000002").unwrap();
    let notices = train(&dir, config.with_steps(2), &data).unwrap();
    assert!(
        notices.iter().any(|n| n.contains("removed 2 partial checkpoint file(s)") && n.contains(".step-000002.tmp")),
        "{notices:?}"
    );
    assert!(!tmp.exists() && !root.join(".latest.tmp-4194303").exists());
    let names: Vec<String> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_resume_refuses_settings_it_cannot_change_and_applies_the_others() {
    let data = synthetic(16);
    let dir = logdir("resume-flags");
    let config = small(TrainConfig::new()).with_steps(2).with_seed(5);
    train(&dir, config.clone(), &data).unwrap();

    // Another batch size or seed: refused, naming the setting and both values.
    for (asked, setting, saved, wanted) in
        [(config.clone().with_batch_size(8), "batch_size", "4", "8"), (config.clone().with_seed(6), "seed", "5", "6")]
    {
        let err = train(&dir, asked.with_steps(3), &data).unwrap_err().to_string();
        assert!(
            err.contains(&format!("`{setting}`: the saved run has {saved}, this run asks for {wanted}"))
                && err.contains(&dir.display().to_string()),
            "{err}"
        );
    }

    // More steps and another learning rate: applied, and reported.
    let mut asked = config.clone().with_steps(3);
    asked.generator_optimizer.learning_rate = 5e-4;
    let notices = train(&dir, asked, &data).unwrap();
    assert!(notices.iter().any(|n| n.contains("`steps`: 3 (the saved run had 2)")), "{notices:?}");
    assert!(
        notices.iter().any(|n| n.contains("`generator_optimizer.learning_rate`: 0.0005 (the saved run had 0.001)")),
        "{notices:?}"
    );
    let saved = rgan::train::Checkpoint::open(&dir).unwrap().config::<TrainConfig>().unwrap();
    assert_eq!((saved.steps, saved.generator_optimizer.learning_rate), (3, 5e-4));

    // A command line compares only the flags it was given: the defaults it did not give do not
    // count (here the batch size and seed differ from the saved run's, unasked).
    let resume = Resume { restart: false, explicit: Explicit::Only(vec!["steps".into()]) };
    let unasked = small(TrainConfig::new()).with_steps(4).with_batch_size(8);
    let mut trainer =
        MnistRecipe::default().trainer(unasked, &data, &dir, resume, &Device::default().autodiff()).unwrap();
    assert_eq!((trainer.step().config().batch_size, trainer.step().config().seed), (4, 5));
    assert_eq!(trainer.data().batch_size(), 4, "the data source takes the saved batch size");
    assert_eq!(trainer.run(|_: &StepReport| {}).unwrap().step, 4);
    drop(trainer);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_run_never_starts_afresh_over_checkpoints_it_cannot_read() {
    let data = synthetic(8);
    let dir = logdir("unreadable");
    let config = small(TrainConfig::new()).with_steps(1).with_keep_checkpoints(0);
    train(&dir, config.clone(), &data).unwrap();
    train(&dir, config.clone().with_steps(2), &data).unwrap();

    // `latest` names a folder that is not there (a crash between two renames): the newest
    // complete checkpoint is used, with a note.
    let root = dir.join("checkpoints");
    std::fs::remove_dir_all(root.join("step-000002")).unwrap();
    let notices = train(&dir, config.clone().with_steps(3), &data).unwrap();
    assert!(
        notices.iter().any(|n| n.contains("not a complete checkpoint") && n.contains("step-000001")),
        "{notices:?}"
    );
    assert_eq!(rgan::train::Checkpoint::open(&dir).unwrap().step(), 3);

    // No complete checkpoint at all: an error, not a fresh run over the folder.
    for step in ["step-000001", "step-000003"] {
        std::fs::remove_file(root.join(step).join("state.json")).unwrap();
    }
    let err = train(&dir, config.with_steps(4), &data).unwrap_err().to_string();
    assert!(err.contains("holds no complete checkpoint") && err.contains("restart"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_new_run_of_zero_steps_is_an_error_naming_the_setting() {
    let data = synthetic(8);
    let dir = logdir("zero-steps");
    let err = train(&dir, small(TrainConfig::new()).with_steps(0), &data).unwrap_err().to_string();
    assert!(err.contains("steps") && err.contains("at least 1 step"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn weights_that_are_not_finite_are_never_saved() {
    let device = Device::default();
    let mut layer = LinearConfig::new(2, 2).init(&device);
    let mut writer = CheckpointWriter::new();
    writer.module("discriminator.bpk", &layer).unwrap();
    layer.weight = burn::module::Param::from_tensor(Tensor::<2>::from_floats([[1.0, f32::NAN], [0.0, 1.0]], &device));
    let err = writer.module("generator.bpk", &layer.clone().no_grad()).unwrap_err();
    assert!(matches!(err, rgan::RganError::NotFinite { .. }), "{err:?}");
    assert!(err.to_string().contains("the weights of generator.bpk"), "{err}");
}

#[test]
fn a_data_folder_that_is_a_file_is_named_as_such() {
    let file = std::env::temp_dir().join(format!("rgan-not-a-folder-{}", std::process::id()));
    std::fs::write(&file, b"x").unwrap();
    let err = Mnist::load(&file, Split::Train).unwrap_err().to_string();
    assert!(err.contains("is a file, not a directory"), "{err}");
    let err = ImageFolder::load(&file, 28, 1).unwrap_err().to_string();
    assert!(err.contains("is a file, not a folder"), "{err}");
    std::fs::remove_file(&file).unwrap();
}
