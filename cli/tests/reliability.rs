//! The `rgan` command under the conditions of a shared machine or a long job, run as a user
//! runs it (the release of the process, its exit code, its messages): SIGTERM and SIGINT save
//! and exit with 128 + the signal, a second run on a log folder is refused while the first
//! holds it, a run killed with `kill -9` is taken over, a resume refuses changed settings it
//! cannot honour, bad flags and inputs are errors naming them, a flipped bit in a checkpoint is
//! caught, and `rgan sample` keeps its memory bounded whatever `--num`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const RGAN: &str = env!("CARGO_BIN_EXE_rgan");

/// A fresh folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rgan-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An MNIST-layout folder of `n` random 28×28 digits (uncompressed IDX files), both splits.
fn synthetic_mnist(dir: &Path, n: u32) {
    let mut state = 12345u32;
    let mut next = || {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (state >> 16) as u8
    };
    for prefix in ["train", "t10k"] {
        let mut images = Vec::new();
        images.extend_from_slice(&0x0803u32.to_be_bytes());
        for v in [n, 28, 28] {
            images.extend_from_slice(&v.to_be_bytes());
        }
        images.extend((0..n * 784).map(|_| next()));
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
        let mut labels = Vec::new();
        labels.extend_from_slice(&0x0801u32.to_be_bytes());
        labels.extend_from_slice(&n.to_be_bytes());
        labels.extend((0..n).map(|i| (i % 10) as u8));
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
    }
}

/// `rgan train mnist` on `data` into `logdir`, small and quick, with `extra` flags.
fn train_command(data: &Path, logdir: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(RGAN);
    command
        .args(["train", "mnist", "--batch-size", "4", "--sample-every", "0", "--checkpoint-secs", "0"])
        .arg("--data-dir")
        .arg(data)
        .arg("--logdir")
        .arg(logdir)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn run(mut command: Command) -> Output {
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The step of the newest checkpoint of `logdir` (0 when there is none yet).
fn saved_step(logdir: &Path) -> usize {
    std::fs::read_to_string(logdir.join("checkpoints/latest"))
        .ok()
        .and_then(|name| name.trim().strip_prefix("step-").and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Waits until `logdir` has a checkpoint of at least `step` (a long run started in the
/// background), or panics after two minutes.
fn wait_for_checkpoint(child: &mut Child, logdir: &Path, step: usize) {
    let start = Instant::now();
    while saved_step(logdir) < step {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before its checkpoint {step}");
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no checkpoint {step} after two minutes");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_save_a_checkpoint_and_exit_with_128_plus_the_signal() {
    let dir = temp_dir("signals");
    synthetic_mnist(&dir, 32);
    for (name, code) in [("TERM", 143), ("INT", 130)] {
        let logdir = dir.join(format!("run-{name}"));
        let mut child =
            train_command(&dir, &logdir, &["--steps", "100000", "--checkpoint-every", "1"]).spawn().unwrap();
        wait_for_checkpoint(&mut child, &logdir, 1);
        signal(&child, name);
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(code), "SIG{name}: {}", text(&output));
        let said = text(&output);
        assert!(said.contains("saving a checkpoint after this step") && said.contains("to resume"), "{said}");
        // The checkpoint of the step it stopped at is there, and the run resumes from it.
        let stopped = saved_step(&logdir);
        assert!(stopped >= 1);
        assert_eq!(std::fs::read_to_string(logdir.join("rgan.lock")).unwrap(), "", "the lock is released");
        let resumed = run(train_command(&dir, &logdir, &["--steps", &(stopped + 1).to_string()]));
        assert!(resumed.status.success(), "{}", text(&resumed));
        assert!(text(&resumed).contains(&format!("resuming from step {stopped}")), "{}", text(&resumed));
        assert_eq!(saved_step(&logdir), stopped + 1);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn a_second_run_on_a_held_folder_is_refused_and_a_killed_run_is_taken_over() {
    let dir = temp_dir("lock");
    synthetic_mnist(&dir, 32);
    let logdir = dir.join("run");
    let mut first = train_command(&dir, &logdir, &["--steps", "100000", "--checkpoint-every", "1"]).spawn().unwrap();
    wait_for_checkpoint(&mut first, &logdir, 1);
    let second = run(train_command(&dir, &logdir, &["--steps", "3"]));
    assert!(!second.status.success());
    let said = text(&second);
    assert!(
        said.contains("is in use by another rgan run")
            && said.contains(&logdir.display().to_string())
            && said.contains(&format!("PID {}", first.id())),
        "{said}"
    );
    // `kill -9`: no handler runs, the lock file still names the dead run; the next run takes
    // the folder over with a message and resumes its newest checkpoint.
    signal(&first, "KILL");
    first.wait().unwrap();
    let stopped = saved_step(&logdir);
    let next = run(train_command(&dir, &logdir, &["--steps", &(stopped + 1).to_string()]));
    let said = text(&next);
    assert!(next.status.success(), "{said}");
    assert!(said.contains("ended without releasing it") && said.contains(&format!("PID {}", first.id())), "{said}");
    assert!(said.contains(&format!("resuming from step {stopped}")), "{said}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_resume_refuses_changed_settings_and_takes_changeable_ones() {
    let dir = temp_dir("resume");
    synthetic_mnist(&dir, 32);
    let logdir = dir.join("run");
    let first = run(train_command(&dir, &logdir, &["--steps", "1", "--seed", "5"]));
    assert!(first.status.success(), "{}", text(&first));
    // Flags the first run was not given do not count: the same command without --seed resumes.
    for (flag, value, setting, saved) in
        [("--seed", "6", "seed", "5"), ("--ema-decay", "0.999", "generator_ema_decay", "null")]
    {
        let output = run(train_command(&dir, &logdir, &["--steps", "2", flag, value]));
        let said = text(&output);
        assert!(!output.status.success(), "{said}");
        assert!(said.contains(&format!("`{setting}`: the saved run has {saved}, this run asks for {value}")), "{said}");
    }
    let output = run(train_command(&dir, &logdir, &["--steps", "2", "--generator-lr", "0.0005"]));
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains("resuming from step 1") && said.contains("`generator_optimizer.learning_rate`: 0.0005"),
        "{said}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_flags_and_inputs_are_errors_naming_them() {
    let dir = temp_dir("flags");
    synthetic_mnist(&dir, 32);
    let output = run(train_command(&dir, &dir.join("zero"), &["--steps", "0"]));
    assert!(!output.status.success() && text(&output).contains("steps") && text(&output).contains("at least 1"));
    let output = run(train_command(&dir, &dir.join("ratio"), &["--discriminator-steps", "0"]));
    assert!(!output.status.success() && text(&output).contains("--discriminator-steps"), "{}", text(&output));
    let file = dir.join("train-images-idx3-ubyte");
    let output = run(train_command(&file, &dir.join("file"), &["--steps", "1"]));
    assert!(!output.status.success() && text(&output).contains("is a file, not a directory"), "{}", text(&output));

    // A NaN pixel in the images of `eval inception-features` (checked before the weights).
    let npy = dir.join("nan.npy");
    let mut bytes = Vec::new();
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 299, 299), }";
    let padded = format!("{header:<117}\n");
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(padded.len() as u16).to_le_bytes());
    bytes.extend_from_slice(padded.as_bytes());
    let mut values = vec![0f32; 3 * 299 * 299];
    values[299 * 299 + 7] = f32::NAN;
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(&npy, bytes).unwrap();
    let mut command = Command::new(RGAN);
    command.args(["eval", "inception-features", "--images"]).arg(&npy).arg("--out").arg(dir.join("f.npy"));
    let output = run(command);
    let said = text(&output);
    assert!(!output.status.success() && said.contains("image 0") && said.contains("NaN"), "{said}");

    // A folder of images of two sizes: an error naming the file, unless --allow-mixed.
    let folder = dir.join("mixed");
    std::fs::create_dir_all(&folder).unwrap();
    for (name, side) in [("a.png", 28), ("b.png", 28), ("c.png", 32)] {
        write_grey_png(&folder.join(name), side);
    }
    let fid = |extra: &[&str]| {
        let mut command = Command::new(RGAN);
        command
            .args(["eval", "fid", "--features", "mnist", "--json", "--real"])
            .arg(&folder)
            .arg("--fake")
            .arg(&folder);
        command.args(extra);
        run(command)
    };
    let output = fid(&[]);
    let said = text(&output);
    assert!(
        !output.status.success() && said.contains("c.png") && said.contains("32×32") && said.contains("--allow-mixed")
    );
    let output = fid(&["--allow-mixed"]);
    assert!(output.status.success(), "{}", text(&output));

    // `--decay-epochs` takes two epochs, comma-separated (checked before the data are read).
    let classifier = |decay: &str| {
        let mut command = Command::new(RGAN);
        command.args(["eval", "train-classifier", "--dataset", "cifar10", "--decay-epochs", decay, "--data-dir"]);
        command.arg(dir.join("no-cifar"));
        run(command)
    };
    let said = text(&classifier("5"));
    assert!(said.contains("--decay-epochs takes two epochs"), "{said}");
    let said = text(&classifier("20,26"));
    assert!(!said.contains("decay-epochs") && said.contains("no-cifar"), "{said}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A grey PNG of `side × side` with a gradient.
fn write_grey_png(path: &Path, side: u32) {
    image::GrayImage::from_fn(side, side, |x, y| image::Luma([((x * 7 + y * 3) % 251) as u8])).save(path).unwrap();
}

#[cfg(unix)]
#[test]
fn a_flipped_bit_is_caught_and_sample_memory_is_bounded_whatever_num() {
    let dir = temp_dir("sample");
    synthetic_mnist(&dir, 32);
    let logdir = dir.join("run");
    let output = run(train_command(&dir, &logdir, &["--steps", "1"]));
    assert!(output.status.success(), "{}", text(&output));

    let sample = |num: &str, out: &str| {
        let mut command = Command::new(RGAN);
        command.args(["sample", "--checkpoint"]).arg(&logdir).args(["--num", num, "--out"]).arg(dir.join(out));
        command.output().unwrap()
    };
    // The largest resident set of the children waited for so far, in KB (Linux: ru_maxrss).
    let max_rss_kb = || {
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) }, 0);
        usage.ru_maxrss as f64
    };
    let small = sample("64", "small.png");
    assert!(small.status.success(), "{}", text(&small));
    let before = max_rss_kb();
    // 8000 digits all at once took ~190 KB each (1.5 GB); in batches of 256 the memory is
    // that of one batch plus the 28×28 bytes of the grid (6 MB).
    let large = sample("8000", "large.png");
    assert!(large.status.success(), "{}", text(&large));
    let after = max_rss_kb();
    assert!(after < before + 300_000.0, "sample --num 8000 peaked at {after} KB (--num 64: {before} KB)");
    let grid = std::fs::metadata(dir.join("large.png")).unwrap().len();
    assert!(grid > 1000, "{grid} bytes");

    // One flipped bit in the generator's weights: the checksum names the file.
    let checkpoint = logdir.join("checkpoints/step-000001/generator.bpk");
    let mut bytes = std::fs::read(&checkpoint).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&checkpoint, bytes).unwrap();
    let output = sample("4", "flipped.png");
    let said = text(&output);
    assert!(!output.status.success() && said.contains("generator.bpk") && said.contains("checksum"), "{said}");
    assert!(!dir.join("flipped.png").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
