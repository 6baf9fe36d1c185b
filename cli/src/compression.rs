//! TF-GAN's image compression example from the command line: `rgan train compression` on random
//! patches of photographs, `rgan compress` / `rgan decompress` (a real codec: `.rgc` files of
//! packed bits), and `rgan eval compression` (bits per pixel, PSNR and MS-SSIM of a folder of
//! photographs, with the round trip through the file checked).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use rgan::data::{ImageFiles, RandomPatches, read_image};
use rgan::eval::image_quality::{ms_ssim, psnr};
use rgan::recipes::compression::{
    CompressedImage, CompressionCodec, CompressionRecipe, TFGAN_WEIGHT_FACTOR, load_codec,
};
use rgan::train::Resume;

use crate::{DeviceKind, TrainArgs, apply_train_args, data_dir, describe, device, run_with_progress};

#[derive(clap::Args, Debug)]
pub(crate) struct CompressionArgs {
    /// Photographs to cut random patches from [default: $RGAN_DATA_DIR, else
    /// <repo>/../shared/datasets/photos/train].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The adversarial loss's weight beside the summed L1 pixel loss (TF-GAN's 4000; 0: no
    /// adversarial loss, and the discriminator is not trained).
    #[arg(long, default_value_t = TFGAN_WEIGHT_FACTOR)]
    weight_factor: f64,
    /// Side of the square patches (a power of two ≥ 8).
    #[arg(long, default_value_t = 32)]
    patch_size: usize,
    /// Bits per patch (TF-GAN's 1230: 1.2 bits per pixel at 32 × 32).
    #[arg(long, default_value_t = 1230)]
    bits_per_patch: usize,
    /// Filters of the first encoder layer (TF-GAN's `model_depth`).
    #[arg(long, default_value_t = 64)]
    depth: usize,
    /// Patches per step.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Distinct patches drawn from the photographs (an epoch).
    #[arg(long, default_value_t = 1_000_000)]
    patches: usize,
    /// Where samples (patch | decoded), scalars, TensorBoard events and checkpoints go.
    #[arg(long, default_value = "logs/compression")]
    logdir: PathBuf,
    #[command(flatten)]
    pub(crate) train: TrainArgs,
}

/// Trains the compression model.
pub(crate) fn run_train(args: CompressionArgs, resume: Resume) -> Result<()> {
    if !(args.weight_factor >= 0.0 && args.weight_factor.is_finite()) {
        bail!("--weight-factor is {}; it must be a number ≥ 0", args.weight_factor);
    }
    if args.batch_size == 0 || args.patches == 0 {
        bail!("--batch-size and --patches must be at least 1");
    }
    let recipe = CompressionRecipe::new()
        .with_patch_size(args.patch_size)
        .with_bits_per_patch(args.bits_per_patch)
        .with_depth(args.depth);
    let dir = data_dir(args.data_dir.as_deref(), "photos/train");
    let patches = RandomPatches::load(&dir, recipe.channels, args.patch_size, args.patches, args.train.seed)
        .with_context(|| format!("cutting patches from the photographs in {}", dir.display()))?;
    let config = CompressionRecipe::train_config(args.weight_factor).with_batch_size(args.batch_size);
    let config = apply_train_args(config, &args.train);
    let device = device(args.train.device)?.autodiff();
    let trainer = recipe.trainer(config, &patches, &args.logdir, resume, &device)?;
    let (bits, side, factor) = (args.bits_per_patch, args.patch_size, args.weight_factor);
    let what = format!(
        "TF-GAN's compression model ({bits} bits per {side}×{side} patch, weight factor {factor}) on patches of {}",
        dir.display()
    );
    describe(&trainer, trainer.step().config(), &what);
    run_with_progress(trainer, None)
}

#[derive(clap::Args, Debug)]
pub(crate) struct CompressArgs {
    /// A checkpoint of `rgan train compression`, or its log folder (the newest checkpoint).
    #[arg(long)]
    checkpoint: PathBuf,
    /// The image (PNG or JPEG, any size).
    input: PathBuf,
    /// The compressed file (.rgc).
    output: PathBuf,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    device: DeviceKind,
}

/// The codec of `checkpoint`, with its id.
fn codec(checkpoint: &Path, device: &Device) -> Result<(CompressionCodec, u64)> {
    let (codec, _, id) =
        load_codec(checkpoint, device).with_context(|| format!("loading the codec of {}", checkpoint.display()))?;
    Ok((codec, id))
}

/// An image file as the codec's `[C, H, W]` values in `[-1, 1]`.
fn read(path: &Path, channels: usize) -> Result<(Vec<f32>, [usize; 3])> {
    let image = read_image(path, Some(channels)).with_context(|| format!("reading {}", path.display()))?;
    Ok((image.pixels, [channels, image.height, image.width]))
}

fn compressed(
    codec: &CompressionCodec,
    id: u64,
    pixels: &[f32],
    shape: [usize; 3],
    device: &Device,
) -> Result<CompressedImage> {
    let bits = codec.compress_pixels(pixels, shape, device)?;
    Ok(CompressedImage {
        model_id: id,
        width: shape[2],
        height: shape[1],
        channels: shape[0],
        patch: codec.patch_size(),
        bits_per_patch: codec.bits(),
        bits,
    })
}

pub(crate) fn run_compress(args: CompressArgs) -> Result<()> {
    let device = device(args.device)?;
    let (codec, id) = codec(&args.checkpoint, &device)?;
    let (pixels, shape) = read(&args.input, codec.channels())?;
    let file = compressed(&codec, id, &pixels, shape, &device)?;
    let bytes = file.to_bytes();
    rgan::files::write_atomically(&args.output, &bytes)
        .with_context(|| format!("writing {}", args.output.display()))?;
    println!(
        "{} ({}×{}) compressed into {} ({} bytes, {:.4} bits per pixel)",
        args.input.display(),
        shape[2],
        shape[1],
        args.output.display(),
        bytes.len(),
        file.file_bits_per_pixel()
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub(crate) struct DecompressArgs {
    /// The checkpoint that compressed the file.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The compressed file (.rgc).
    input: PathBuf,
    /// The decoded image (PNG, the original size).
    output: PathBuf,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    device: DeviceKind,
}

/// The image a file decodes to, `[C, H, W]` in `(-1, 1)`.
fn decompressed(codec: &CompressionCodec, id: u64, file: &CompressedImage, device: &Device) -> Result<Vec<f32>> {
    if file.model_id != id {
        bail!("was compressed by another model (id {:016x}); this checkpoint's is {id:016x}", file.model_id);
    }
    if (file.channels, file.patch, file.bits_per_patch) != (codec.channels(), codec.patch_size(), codec.bits()) {
        bail!(
            "holds {} channel(s) and {} bits per {}-pixel patch, but the codec makes {} and {} per {}",
            file.channels,
            file.bits_per_patch,
            file.patch,
            codec.channels(),
            codec.bits(),
            codec.patch_size()
        );
    }
    Ok(codec.decompress_bits(&file.bits, [file.height, file.width], device)?)
}

fn save(pixels: Vec<f32>, [c, h, w]: [usize; 3], path: &Path, device: &Device) -> Result<()> {
    let tensor = Tensor::<4>::from_data(TensorData::new(pixels, [1, c, h, w]), device);
    rgan::summary::save_image_grid(tensor, 1, path).with_context(|| format!("writing {}", path.display()))
}

pub(crate) fn run_decompress(args: DecompressArgs) -> Result<()> {
    let device = device(args.device)?;
    let (codec, id) = codec(&args.checkpoint, &device)?;
    let bytes = std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let file = CompressedImage::from_bytes(&bytes).with_context(|| format!("reading {}", args.input.display()))?;
    let pixels =
        decompressed(&codec, id, &file, &device).with_context(|| format!("decoding {}", args.input.display()))?;
    save(pixels, [file.channels, file.height, file.width], &args.output, &device)?;
    println!("{} decoded into {} ({}×{})", args.input.display(), args.output.display(), file.width, file.height);
    Ok(())
}

#[derive(clap::Args, Debug)]
pub(crate) struct CompressionEvalArgs {
    /// A checkpoint of `rgan train compression`, or its log folder (the newest checkpoint).
    #[arg(long)]
    checkpoint: PathBuf,
    /// The photographs [default: <repo>/../shared/datasets/photos/eval].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Also write each photograph's decoded image (PNG) into this folder.
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    device: DeviceKind,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// `[-1, 1]` values as the 8-bit values an image file holds, as floats.
fn bytes(values: &[f32]) -> Vec<f32> {
    values.iter().map(|&v| ((v as f64 + 1.0) * 127.5).round().clamp(0.0, 255.0) as f32).collect()
}

pub(crate) fn run_eval(args: CompressionEvalArgs) -> Result<()> {
    let device = device(args.device)?;
    let (codec, id) = codec(&args.checkpoint, &device)?;
    let dir = data_dir(args.data_dir.as_deref(), "photos/eval");
    let files = ImageFiles::list(&dir).with_context(|| format!("listing {}", dir.display()))?;
    if let Some(out) = &args.out_dir {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    }
    let mut rows = Vec::new();
    for path in &files.paths {
        let (pixels, shape) = read(path, codec.channels())?;
        let file = compressed(&codec, id, &pixels, shape, &device)?;
        let bytes_written = file.to_bytes();
        // The round trip through the file's bytes must give the evaluation output exactly.
        let reread = CompressedImage::from_bytes(&bytes_written)?;
        let decoded = decompressed(&codec, id, &reread, &device)?;
        let direct = codec.reconstruct(&pixels, shape, &device)?;
        let lossless = reread == file && decoded == direct;
        let (original, restored) = (bytes(&pixels), bytes(&decoded));
        let quality_psnr = psnr(&original, &restored, shape, 255.0)?;
        let quality_ms_ssim = ms_ssim(&original, &restored, shape, 255.0).ok();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(out) = &args.out_dir {
            save(decoded, shape, &out.join(Path::new(&name).with_extension("png")), &device)?;
        }
        let code_bpp = (file.bits.len()) as f64 / (shape[1] * shape[2]) as f64;
        let row = serde_json::json!({
            "image": name, "width": shape[2], "height": shape[1],
            "file_bytes": bytes_written.len(), "file_bits_per_pixel": file.file_bits_per_pixel(),
            "code_bits_per_pixel": code_bpp, "psnr": quality_psnr, "ms_ssim": quality_ms_ssim,
            "round_trip_exact": lossless,
        });
        if !args.json {
            let ms = quality_ms_ssim.map(|m| format!("{m:.4}")).unwrap_or_else(|| "n/a (smaller than 161 px)".into());
            println!(
                "{name}: {:.4} bpp ({} bytes), PSNR {quality_psnr:.3} dB, MS-SSIM {ms}, round trip exact: {lossless}",
                file.file_bits_per_pixel(),
                bytes_written.len()
            );
        }
        rows.push(row);
    }
    let mean = |key: &str| {
        let values: Vec<f64> = rows.iter().filter_map(|r| r[key].as_f64()).collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let all_exact = rows.iter().all(|r| r["round_trip_exact"] == true);
    let summary = serde_json::json!({
        "checkpoint": args.checkpoint.display().to_string(), "images": rows.len(),
        "file_bits_per_pixel": mean("file_bits_per_pixel"), "code_bits_per_pixel": mean("code_bits_per_pixel"),
        "psnr": mean("psnr"), "ms_ssim": mean("ms_ssim"), "round_trip_exact": all_exact, "per_image": rows,
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "mean over {} images: {:.4} bpp, PSNR {:.3} dB, MS-SSIM {:.4}; every round trip exact: {all_exact}",
            rows.len(),
            summary["file_bits_per_pixel"].as_f64().unwrap_or(f64::NAN),
            summary["psnr"].as_f64().unwrap_or(f64::NAN),
            summary["ms_ssim"].as_f64().unwrap_or(f64::NAN)
        );
    }
    if !all_exact {
        bail!("a round trip through the .rgc bytes did not give the evaluation output exactly");
    }
    Ok(())
}
