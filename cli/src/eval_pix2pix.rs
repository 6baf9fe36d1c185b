//! `rgan eval pix2pix`: a pix2pix checkpoint on held-out pairs: L1, PSNR and FID of its
//! translations against the targets (`rgan::eval::translation`), and a grid of the first pairs
//! (input | translation | target).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use rgan::eval::FidStatistics;
use rgan::eval::inception::{FidInceptionV3, inception_weights_path};
use rgan::eval::translation::score_translations;
use rgan::recipes::{Recipe, Translation, load_translator};
use rgan::summary::ImageGrid;

use crate::pix2pix::PairSource;
use crate::{DeviceKind, device};

#[derive(clap::Args, Debug)]
pub(crate) struct Pix2PixEvalArgs {
    /// A checkpoint folder of `rgan train pix2pix`, or its log folder (the newest checkpoint).
    #[arg(long)]
    checkpoint: PathBuf,
    /// The held-out pairs, as `rgan train pix2pix` takes them (e.g. --data-dir
    /// ../shared/datasets/cifar10/test --pairs grey).
    #[command(flatten)]
    source: PairSource,
    /// Side the images are resized to [default: the side the model was built for].
    #[arg(long)]
    size: Option<usize>,
    /// Skip the FID (L1 and PSNR only; no Inception weights needed).
    #[arg(long)]
    no_fid: bool,
    /// The FID Inception weights [default: $RGAN_INCEPTION_WEIGHTS, else ~/.cache/rgan/].
    #[arg(long)]
    inception_weights: Option<PathBuf>,
    /// A cache of the targets' FID statistics (pytorch-fid's `.npz` layout): read when the file
    /// exists (the targets then skip the Inception network), else computed and written there, so
    /// that a second model scored on the same pairs costs half as much. The file does not record
    /// which pairs it summarises: give each set of pairs its own.
    #[arg(long, conflicts_with = "no_fid")]
    target_stats: Option<PathBuf>,
    /// Also write a grid of --grid-rows pairs spread evenly over the data, one per row: input |
    /// translation | target.
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

pub(crate) fn run(args: Pix2PixEvalArgs) -> Result<()> {
    if args.grid.is_some() && args.grid_rows == 0 {
        bail!("--grid-rows must be at least 1");
    }
    let device = device(args.device)?;
    let (translator, recipe) = load_translator(&args.checkpoint, Translation::Forward, &device)
        .with_context(|| format!("loading the generator of {}", args.checkpoint.display()))?;
    let Recipe::Pix2Pix(pix2pix) = &recipe else {
        bail!("{} holds a {}, not a pix2pix model", args.checkpoint.display(), recipe.name());
    };
    let size = args.size.unwrap_or(translator.side_multiple());
    let channels = [pix2pix.generator.in_channels, pix2pix.generator.out_channels];
    let net = if args.no_fid {
        None
    } else {
        let weights = inception_weights_path(args.inception_weights.as_deref())?;
        Some(FidInceptionV3::load(&weights, &device).with_context(|| format!("loading {}", weights.display()))?)
    };
    let cached = match &args.target_stats {
        Some(path) if path.is_file() => Some(
            FidStatistics::read_npz(path)
                .with_context(|| format!("--target-stats {}: reading the cached statistics", path.display()))?,
        ),
        _ => None,
    };
    args.source.with_pairs(size, channels, |pairs, what| {
        let started = std::time::Instant::now();
        let rows = args.grid.as_ref().map(|_| args.grid_rows.min(pairs.len()));
        let mut grid = rows.map(|rows| ImageGrid::new(3 * rows, 3)).transpose()?;
        let target_channels = pairs.shapes()[1][0];
        let scores = score_translations(
            |x: &Tensor<4>| translator.translate(x),
            pairs,
            net.as_ref(),
            cached.as_ref(),
            &device,
            |index, input, translated, target| {
                // Rows spread over the pairs (image folders are read class by class).
                if let (Some(grid), Some(rows)) = (grid.as_mut(), rows)
                    && (0..rows).any(|row| row * pairs.len() / rows == index)
                {
                    let input =
                        if input.dims()[1] == target_channels { input.clone() } else { input.clone().repeat_dim(1, 3) };
                    grid.push(Tensor::cat(vec![input, translated.clone(), target.clone()], 0))?;
                }
                Ok(())
            },
            |done| {
                // On stderr, also with --json (stdout stays one JSON object): a FID over 10,000
                // pairs takes the better part of an hour on a small CPU.
                if done % 1000 < 50 {
                    eprintln!("{done} / {} pairs translated", pairs.len());
                }
            },
        )
        .with_context(|| format!("translating {what}"))?;
        if let (Some(stats), Some(path)) = (&scores.target_statistics, &args.target_stats) {
            crate::eval_cifar::write_statistics(stats, path)
                .with_context(|| format!("--target-stats {}: writing", path.display()))?;
            if !args.json {
                eprintln!("the targets' FID statistics are cached in {}", path.display());
            }
        }
        if let (Some(grid), Some(path)) = (grid, &args.grid) {
            grid.save(path).with_context(|| format!("writing {}", path.display()))?;
        }
        let seconds = started.elapsed().as_secs_f64();
        if args.json {
            let mut out = serde_json::to_value(&scores)?;
            out["checkpoint"] = serde_json::json!(args.checkpoint.display().to_string());
            out["pairs"] = serde_json::json!(what);
            out["seconds"] = serde_json::json!(seconds);
            println!("{out}");
        } else {
            let fid = scores.fid.map(|f| format!(", FID {f:.4}")).unwrap_or_default();
            println!(
                "{} pairs ({what}): L1 {:.5}, PSNR {:.3} dB{fid} ({seconds:.0} s)",
                scores.images, scores.l1, scores.psnr
            );
            if let Some(path) = &args.grid {
                println!("grid (input | translation | target) written to {}", path.display());
            }
        }
        Ok(())
    })
}
