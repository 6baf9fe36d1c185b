//! The image-to-image commands as a user runs them: `rgan train pix2pix` on pairs made from one
//! folder, `rgan translate` of an image of another size, `rgan eval pix2pix` with its grid, and
//! their errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RGAN: &str = env!("CARGO_BIN_EXE_rgan");

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rgan-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rgan(args: &[&str], paths: &[&Path]) -> Output {
    let mut command = Command::new(RGAN);
    command.args(args);
    for path in paths {
        command.arg(path);
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// `count` colour PNGs of `side × side` with patterns varying per image.
fn write_colour_pngs(dir: &Path, count: u32, side: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..count {
        let image = image::RgbImage::from_fn(side, side, |x, y| {
            image::Rgb([((x * 11 + i * 40) % 256) as u8, ((y * 9 + i * 20) % 256) as u8, ((x + y + i) * 5 % 256) as u8])
        });
        image.save(dir.join(format!("{i:02}.png"))).unwrap();
    }
}

#[test]
fn pix2pix_trains_translates_and_scores_from_the_command_line() {
    let dir = temp_dir("pix2pix");
    let (train, test, logs) = (dir.join("train"), dir.join("test"), dir.join("logs"));
    write_colour_pngs(&train, 6, 16);
    write_colour_pngs(&test, 3, 16);
    let trained =
        rgan(&["train", "pix2pix", "--pairs", "grey", "--size", "16", "--base-filters", "4", "--batch-size", "2"], &[]);
    assert!(!trained.status.success() && text(&trained).contains("--data-dir"), "{}", text(&trained));
    let mut command = Command::new(RGAN);
    command
        .args(["train", "pix2pix", "--pairs", "grey", "--size", "16", "--base-filters", "4", "--batch-size", "2"])
        .args(["--steps", "2", "--sample-every", "0", "--checkpoint-secs", "0", "--data-dir"])
        .arg(&train)
        .arg("--logdir")
        .arg(&logs);
    let trained = command.output().unwrap();
    assert!(trained.status.success(), "{}", text(&trained));

    // A colour photo of another size, through a model of grey inputs: made grey, translated,
    // written at its own size.
    let photo = dir.join("photo.png");
    image::RgbImage::from_fn(21, 10, |x, y| image::Rgb([(x * 12) as u8, (y * 25) as u8, 90])).save(&photo).unwrap();
    let out = dir.join("out.png");
    let translated = rgan(&["translate", "--checkpoint"], &[&logs, &photo, &out]);
    assert!(translated.status.success(), "{}", text(&translated));
    let picture = image::open(&out).unwrap();
    assert_eq!((picture.width(), picture.height(), picture.color().has_color()), (21, 10, true));

    // Held-out pairs: L1, PSNR and a grid of input | translation | target per row.
    let grid = dir.join("grid.png");
    let scored = rgan(
        &["eval", "pix2pix", "--no-fid", "--json", "--grid-rows", "2", "--checkpoint"],
        &[&logs, Path::new("--data-dir"), &test, Path::new("--grid"), &grid],
    );
    assert!(scored.status.success(), "{}", text(&scored));
    let json: serde_json::Value = serde_json::from_slice(&scored.stdout).unwrap();
    assert_eq!(json["images"], 3);
    assert!(json["l1"].as_f64().unwrap() > 0.0 && json["psnr"].as_f64().unwrap() > 0.0 && json["fid"].is_null());
    let picture = image::open(&grid).unwrap();
    assert_eq!((picture.width(), picture.height()), (48, 32));

    // Errors name what is wrong: a missing image, a direction pix2pix does not have, a bad sigma.
    let missing = rgan(&["translate", "--checkpoint"], &[&logs, &dir.join("nope.png"), &out]);
    assert!(!missing.status.success() && text(&missing).contains("nope.png"), "{}", text(&missing));
    let backward = rgan(&["translate", "--backward", "--checkpoint"], &[&logs, &photo, &out]);
    assert!(!backward.status.success() && text(&backward).contains("forward"), "{}", text(&backward));
    let sigma =
        rgan(&["translate", "--make-input", "blur", "--blur-sigma", "0", "--checkpoint"], &[&logs, &photo, &out]);
    assert!(!sigma.status.success() && text(&sigma).contains("--blur-sigma"), "{}", text(&sigma));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cyclegan_and_stargan_train_on_folders_and_translate_from_the_command_line() {
    let dir = temp_dir("unpaired");
    for (i, domain) in ["cats", "dogs", "foxes"].iter().enumerate() {
        write_colour_pngs(&dir.join("domains").join(domain), 2 + i as u32, 16);
    }
    let small = ["--size", "16", "--base-filters", "4", "--residual-blocks", "1", "--sample-every", "0"];
    let photo = dir.join("photo.png");
    image::RgbImage::from_fn(18, 11, |x, y| image::Rgb([(x * 12) as u8, (y * 20) as u8, 40])).save(&photo).unwrap();
    let out = dir.join("out.png");

    let cyclegan = dir.join("cyclegan");
    let trained = rgan(
        &[&["train", "cyclegan", "--steps", "2", "--batch-size", "2"][..], &small].concat(),
        &[
            Path::new("--x"),
            &dir.join("domains/cats"),
            Path::new("--y"),
            &dir.join("domains/dogs"),
            Path::new("--logdir"),
            &cyclegan,
        ],
    );
    assert!(trained.status.success(), "{}", text(&trained));
    assert!(
        cyclegan.join("samples/x2y_step_000002.png").is_file()
            && cyclegan.join("samples/y2x_step_000002.png").is_file()
    );
    let translated = rgan(&["translate", "--backward", "--checkpoint"], &[&cyclegan, &photo, &out]);
    assert!(translated.status.success(), "{}", text(&translated));
    assert_eq!(image::open(&out).unwrap().width(), 18);

    let stargan = dir.join("stargan");
    let trained = rgan(
        &[&["train", "stargan", "--steps", "1", "--batch-size", "2"][..], &small].concat(),
        &[Path::new("--data"), &dir.join("domains"), Path::new("--logdir"), &stargan],
    );
    assert!(trained.status.success(), "{}", text(&trained));
    assert!(text(&trained).contains("3 domains (cats, dogs, foxes)"), "{}", text(&trained));
    let translated = rgan(&["translate", "--domain", "2", "--checkpoint"], &[&stargan, &photo, &out]);
    assert!(translated.status.success(), "{}", text(&translated));
    let no_domain = rgan(&["translate", "--checkpoint"], &[&stargan, &photo, &out]);
    assert!(!no_domain.status.success() && text(&no_domain).contains("--domain"), "{}", text(&no_domain));
    // Their evaluations: the CycleGAN's cycle L1 (no FID without weights), and the StarGAN's
    // domains, which must be CIFAR-10 classes for rgan's classifier to judge.
    let scored = rgan(
        &["eval", "cyclegan", "--no-fid", "--json", "--size", "16", "--checkpoint"],
        &[&cyclegan, Path::new("--x"), &dir.join("domains/cats"), Path::new("--y"), &dir.join("domains/dogs")],
    );
    assert!(scored.status.success(), "{}", text(&scored));
    let json: serde_json::Value = serde_json::from_slice(&scored.stdout).unwrap();
    assert!(json["cycle_l1_x"].as_f64().unwrap() > 0.0 && json["fid_x2y"].is_null(), "{json}");
    let judged = rgan(&["eval", "stargan", "--checkpoint"], &[&stargan, Path::new("--data"), &dir.join("domains")]);
    assert!(
        !judged.status.success() && text(&judged).contains("\"cats\" is not a CIFAR-10 class"),
        "{}",
        text(&judged)
    );
    let none_per_domain = rgan(
        &["eval", "stargan", "--per-domain", "0", "--checkpoint"],
        &[&stargan, Path::new("--data"), &dir.join("domains")],
    );
    assert!(
        !none_per_domain.status.success() && text(&none_per_domain).contains("--per-domain"),
        "{}",
        text(&none_per_domain)
    );
    let one_domain = rgan(
        &[&["train", "stargan", "--steps", "1"][..], &small].concat(),
        &[Path::new("--data"), &dir.join("domains/cats")],
    );
    assert!(!one_domain.status.success() && text(&one_domain).contains("two domains"), "{}", text(&one_domain));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_compression_codec_round_trips_files_from_the_command_line() {
    let dir = temp_dir("compression");
    let photos = dir.join("photos");
    write_colour_pngs(&photos, 2, 40);
    let small =
        ["--patch-size", "16", "--bits-per-patch", "12", "--depth", "4", "--batch-size", "4", "--patches", "64"];
    let train = |logs: &Path, seed: &str| {
        rgan(
            &[&["train", "compression", "--steps", "2", "--sample-every", "0", "--seed", seed][..], &small].concat(),
            &[Path::new("--data-dir"), &photos, Path::new("--logdir"), logs],
        )
    };
    let (logs, other) = (dir.join("logs"), dir.join("other"));
    for (logs, seed) in [(&logs, "0"), (&other, "1")] {
        let trained = train(logs, seed);
        assert!(trained.status.success(), "{}", text(&trained));
    }
    let photo = dir.join("photo.png");
    image::RgbImage::from_fn(37, 21, |x, y| image::Rgb([(x * 6) as u8, (y * 12) as u8, 128])).save(&photo).unwrap();
    let (rgc, png) = (dir.join("photo.rgc"), dir.join("decoded.png"));
    let compressed = rgan(&["compress", "--checkpoint"], &[&logs, &photo, &rgc]);
    assert!(compressed.status.success(), "{}", text(&compressed));
    // 37 × 21 in 16 × 16 patches: 3 × 2 patches of 12 bits, after a 27-byte header.
    assert_eq!(std::fs::metadata(&rgc).unwrap().len(), 27 + 9);
    let decompressed = rgan(&["decompress", "--checkpoint"], &[&logs, &rgc, &png]);
    assert!(decompressed.status.success(), "{}", text(&decompressed));
    let picture = image::open(&png).unwrap();
    assert_eq!((picture.width(), picture.height()), (37, 21));

    // Another model's file, a truncated file: errors naming them.
    let wrong = rgan(&["decompress", "--checkpoint"], &[&other, &rgc, &png]);
    assert!(!wrong.status.success() && text(&wrong).contains("another model"), "{}", text(&wrong));
    let bytes = std::fs::read(&rgc).unwrap();
    std::fs::write(&rgc, &bytes[..bytes.len() - 1]).unwrap();
    let truncated = rgan(&["decompress", "--checkpoint"], &[&logs, &rgc, &png]);
    assert!(!truncated.status.success() && text(&truncated).contains("truncated"), "{}", text(&truncated));

    // The evaluation: every photograph's round trip through the file is exact.
    let scored = rgan(&["eval", "compression", "--json", "--checkpoint"], &[&logs, Path::new("--data-dir"), &photos]);
    assert!(scored.status.success(), "{}", text(&scored));
    let json: serde_json::Value = serde_json::from_slice(&scored.stdout).unwrap();
    assert_eq!((json["images"].as_u64(), json["round_trip_exact"].as_bool()), (Some(2), Some(true)));
    assert!(
        json["psnr"].as_f64().unwrap() > 0.0 && json["ms_ssim"].is_null(),
        "40 px photos are too small for MS-SSIM"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
