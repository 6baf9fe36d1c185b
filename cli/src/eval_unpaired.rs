//! `rgan eval cyclegan` and `rgan eval stargan`: a CycleGAN's FID in each direction and its
//! cycle reconstruction L1 on held-out images of its two domains; a StarGAN's translations of
//! held-out CIFAR-10 images judged by rgan's CIFAR-10 classifier. Each can write a grid.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use rgan::data::{CIFAR10_CLASSES, ImageDataset, ImageFolder};
use rgan::eval::cifar_classifier::CifarClassifier;
use rgan::eval::inception::{FidInceptionV3, inception_weights_path};
use rgan::eval::translation::{score_cycle, score_domains};
use rgan::recipes::{Recipe, Translation, Translator, load_translator};
use rgan::summary::ImageGrid;

use crate::{DeviceKind, device};

/// The first `n` images of `data` as one tensor.
fn first_images(data: &ImageFolder, n: usize, device: &Device) -> Tensor<4> {
    let [c, h, w] = data.image_shape();
    let mut values = Vec::with_capacity(n * c * h * w);
    for i in 0..n {
        data.extend_image(i, &mut values);
    }
    Tensor::from_data(TensorData::new(values, [n, c, h, w]), device)
}

fn translator(checkpoint: &std::path::Path, translation: Translation, device: &Device) -> Result<(Translator, Recipe)> {
    load_translator(checkpoint, translation, device)
        .with_context(|| format!("loading the generator of {}", checkpoint.display()))
}

#[derive(clap::Args, Debug)]
pub(crate) struct CycleGanEvalArgs {
    /// A checkpoint of `rgan train cyclegan`, or its log folder (the newest checkpoint).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Held-out images of domain X.
    #[arg(long)]
    x: PathBuf,
    /// Held-out images of domain Y.
    #[arg(long)]
    y: PathBuf,
    /// Side the images are resized to (the training side).
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Skip the FID (cycle L1 only; no Inception weights needed).
    #[arg(long)]
    no_fid: bool,
    /// The FID Inception weights [default: $RGAN_INCEPTION_WEIGHTS, else ~/.cache/rgan/].
    #[arg(long)]
    inception_weights: Option<PathBuf>,
    /// Also write a grid of the first --grid-rows images of X, one per row: x | G(x) | F(G(x)),
    /// then as many of Y: y | F(y) | G(F(y)).
    #[arg(long)]
    grid: Option<PathBuf>,
    /// Rows of each half of --grid.
    #[arg(long, default_value_t = 4)]
    grid_rows: usize,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    device: DeviceKind,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run_cyclegan(args: CycleGanEvalArgs) -> Result<()> {
    let device = device(args.device)?;
    let (x2y, recipe) = translator(&args.checkpoint, Translation::Forward, &device)?;
    let (y2x, _) = translator(&args.checkpoint, Translation::Backward, &device)?;
    let Recipe::CycleGan(cyclegan) = &recipe else {
        bail!("{} holds a {}, not a CycleGAN", args.checkpoint.display(), recipe.name());
    };
    let channels = cyclegan.generator.in_channels;
    let load = |dir: &PathBuf, flag: &str| {
        ImageFolder::load(dir, args.size, channels)
            .with_context(|| format!("{flag}: loading images from {}", dir.display()))
    };
    let (x, y) = (load(&args.x, "--x")?, load(&args.y, "--y")?);
    let net = if args.no_fid {
        None
    } else {
        let weights = inception_weights_path(args.inception_weights.as_deref())?;
        Some(FidInceptionV3::load(&weights, &device).with_context(|| format!("loading {}", weights.display()))?)
    };
    let started = std::time::Instant::now();
    let scores =
        score_cycle(|t: &Tensor<4>| x2y.translate(t), |t: &Tensor<4>| y2x.translate(t), &x, &y, net.as_ref(), &device)?;
    if let Some(path) = &args.grid {
        let rows = [args.grid_rows.min(x.len()), args.grid_rows.min(y.len())];
        let mut grid = ImageGrid::new(3 * (rows[0] + rows[1]), 3)?;
        for (data, rows, there, back) in [(&x, rows[0], &x2y, &y2x), (&y, rows[1], &y2x, &x2y)] {
            for i in 0..rows {
                let image = first_images(data, i + 1, &device).slice([i..i + 1]);
                let translated = there.translate(&image)?;
                let cycled = back.translate(&translated)?;
                grid.push(Tensor::cat(vec![image, translated, cycled], 0))?;
            }
        }
        grid.save(path).with_context(|| format!("writing {}", path.display()))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        let mut out = serde_json::to_value(&scores)?;
        out["checkpoint"] = serde_json::json!(args.checkpoint.display().to_string());
        out["seconds"] = serde_json::json!(seconds);
        println!("{out}");
    } else {
        let fid = |f: Option<f64>| f.map_or("n/a".to_string(), |f| format!("{f:.4}"));
        println!(
            "X → Y FID {} and Y → X FID {} ({} and {} images); cycle L1 {:.5} (X) and {:.5} (Y) ({seconds:.0} s)",
            fid(scores.fid_x2y),
            fid(scores.fid_y2x),
            scores.images[0],
            scores.images[1],
            scores.cycle_l1_x,
            scores.cycle_l1_y
        );
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub(crate) struct StarGanEvalArgs {
    /// A checkpoint of `rgan train stargan` trained on CIFAR-10 class folders, or its log folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Held-out images in class folders named as CIFAR-10's classes (the training domains, e.g.
    /// ../shared/datasets/cifar10/test).
    #[arg(long)]
    data: PathBuf,
    /// Judge only the first N images of each domain's folder (each image is translated into
    /// every other domain, so the full CIFAR-10 test set makes 90,000 translations) [default: all].
    #[arg(long)]
    per_domain: Option<usize>,
    /// The CIFAR-10 classifier (burnpack from `rgan eval train-classifier --dataset cifar10`)
    /// [default: the one built into rgan].
    #[arg(long)]
    classifier: Option<PathBuf>,
    /// Also write a grid of the first --grid-rows images, one per row: the image, then it
    /// translated into every domain.
    #[arg(long)]
    grid: Option<PathBuf>,
    /// Rows of --grid.
    #[arg(long, default_value_t = 8)]
    grid_rows: usize,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    device: DeviceKind,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run_stargan(args: StarGanEvalArgs) -> Result<()> {
    let device = device(args.device)?;
    let (_, recipe) = translator(&args.checkpoint, Translation::Domain(0), &device)?;
    let Recipe::StarGan(stargan) = &recipe else {
        bail!("{} holds a {}, not a StarGAN", args.checkpoint.display(), recipe.name());
    };
    let domains = stargan.generator.domains;
    let translators = (0..domains)
        .map(|d| translator(&args.checkpoint, Translation::Domain(d), &device).map(|(t, _)| t))
        .collect::<Result<Vec<_>>>()?;
    let data = ImageFolder::load(&args.data, 32, 3).with_context(|| format!("loading {}", args.data.display()))?;
    let data = match args.per_domain {
        Some(0) => bail!("--per-domain must be at least 1"),
        Some(n) => data.first_per_class(n),
        None => data,
    };
    if data.classes.len() != domains {
        bail!(
            "--data {} has {} class folders; the StarGAN has {domains} domains",
            args.data.display(),
            data.classes.len()
        );
    }
    let class_of_domain = data
        .classes
        .iter()
        .map(|name| {
            CIFAR10_CLASSES.iter().position(|c| c == name).with_context(|| {
                format!("--data: the class folder {name:?} is not a CIFAR-10 class, which the classifier judges")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let classifier = match &args.classifier {
        Some(path) => CifarClassifier::load(path, &device).with_context(|| format!("loading {}", path.display()))?,
        None => CifarClassifier::pretrained(&device)?,
    };
    let started = std::time::Instant::now();
    let translate = |images: &Tensor<4>, d: usize| translators[d].translate(images);
    let scores = score_domains(translate, &data, &classifier, &class_of_domain, &device)?;
    if let Some(path) = &args.grid {
        let rows = args.grid_rows.min(data.len());
        let mut grid = ImageGrid::new(rows * (domains + 1), domains + 1)?;
        for i in 0..rows {
            // Spread the rows over the classes (the folders are read class by class).
            let index = i * data.len() / rows;
            let mut values = Vec::new();
            data.extend_image(index, &mut values);
            let image = Tensor::<4>::from_data(TensorData::new(values, [1, 3, 32, 32]), &device);
            let mut row = vec![image.clone()];
            for translator in &translators {
                row.push(translator.translate(&image)?);
            }
            grid.push(Tensor::cat(row, 0))?;
        }
        grid.save(path).with_context(|| format!("writing {}", path.display()))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        let mut out = serde_json::to_value(&scores)?;
        out["checkpoint"] = serde_json::json!(args.checkpoint.display().to_string());
        out["domains"] = serde_json::json!(data.classes);
        out["seconds"] = serde_json::json!(seconds);
        println!("{out}");
    } else {
        println!(
            "{} images into {} other domains each: the classifier assigns {:.2} % of the translations to their target \
             domain ({:.2} % of the untranslated images to their own) ({seconds:.0} s)",
            scores.images,
            domains - 1,
            100.0 * scores.target_accuracy,
            100.0 * scores.real_accuracy
        );
    }
    Ok(())
}
