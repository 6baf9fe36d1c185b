//! Scores of an image-to-image translator on held-out pairs (pix2pix's evaluation): the L1
//! distance and PSNR of each translation to its target, and the FID of all translations against
//! all targets with the FID Inception network.
//!
//! - Every pair is translated on its own ([`Translator::translate`]): pix2pix normalizes a test
//!   image with its own statistics, so a batch would change the result.
//! - L1 and PSNR are measured on the `[-1, 1]` values the model is trained on, before any
//!   rounding to 8 bits: L1 is the mean absolute difference (pix2pix's L1 loss), PSNR is
//!   `10 log10(2² / MSE)` for each image (2 is the range of the values), averaged over images.
//! - FID: translations and targets go through the same float pipeline
//!   ([`preprocess`] with [`InputRange::MinusOneToOne`]), so neither set is quantized and
//!   the two are treated alike; grey images are repeated to three channels, as pytorch-fid does.

use burn::prelude::*;

use super::fid_statistics::FidStatistics;
use super::frechet::ActivationMoments;
use super::inception::{FidInceptionV3, InputRange, preprocess};
use crate::data::PairedDataset;
use crate::error::{Result, RganError};
use crate::recipes::Translator;

/// What [`score_translations`] measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TranslationScores {
    /// The pairs translated.
    pub images: usize,
    /// Mean absolute difference between translation and target, on the `[-1, 1]` scale.
    pub l1: f64,
    /// Mean over images of each image's PSNR in dB (`[-1, 1]` values, peak-to-peak 2). An image
    /// translated exactly counts as 100 dB.
    pub psnr: f64,
    /// FID of the translations against the targets, when a FID network was given.
    pub fid: Option<f64>,
}

/// The PSNR of an exact translation (its MSE is 0): a finite stand-in, far above any real one.
const EXACT_PSNR: f64 = 100.0;

/// Images fed to the FID network at a time.
const FID_BATCH: usize = 50;

/// Translates every pair of `pairs` with `translator` (one at a time) and scores the
/// translations against the targets ([module docs](self)). `each` sees every pair as it is
/// done: its index, and the input, translation and target `[1, C, H, W]` (to draw a grid
/// from); `progress` the number of pairs done after each FID batch.
///
/// ```
/// use burn::prelude::*;
/// use rgan::data::{Cifar10, DerivedPairs, PairInput};
/// use rgan::eval::translation::score_translations;
/// use rgan::recipes::Translator;
/// use rgan::recipes::image_to_image::UNetGeneratorConfig;
/// let device = Device::default();
/// let data = Cifar10 { pixels: (0..2 * 3072).map(|i| (i % 251) as u8).collect(), labels: vec![0, 1] };
/// let pairs = DerivedPairs::new(&data, PairInput::Grey).unwrap();
/// let unet = UNetGeneratorConfig::new(1, 3).with_base_filters(2).with_depth(5)
///     .init(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
/// let scores = score_translations(&Translator::Pix2Pix(unet), &pairs, None, &device, |_, _, _, _| Ok(()), |_| {}).unwrap();
/// assert_eq!((scores.images, scores.fid), (2, None));
/// assert!(scores.l1 > 0.0 && scores.psnr > 0.0 && scores.psnr < 100.0);
/// ```
pub fn score_translations<D: PairedDataset + ?Sized>(
    translator: &Translator,
    pairs: &D,
    fid_network: Option<&FidInceptionV3>,
    device: &Device,
    mut each: impl FnMut(usize, &Tensor<4>, &Tensor<4>, &Tensor<4>) -> Result<()>,
    mut progress: impl FnMut(usize),
) -> Result<TranslationScores> {
    if pairs.is_empty() {
        return Err(RganError::invalid("pairs", "holds no images to translate"));
    }
    if fid_network.is_some() && pairs.len() < 2 {
        return Err(RganError::invalid("pairs", "hold 1 image; a FID needs two"));
    }
    let [[ic, ih, iw], [tc, th, tw]] = pairs.shapes();
    let (mut abs_sum, mut psnr_sum, mut values) = (0.0f64, 0.0f64, 0usize);
    let (mut fakes, mut reals) = (Vec::new(), Vec::new());
    let (mut fake_moments, mut real_moments) = (ActivationMoments::new(), ActivationMoments::new());
    let mut flush = |fakes: &mut Vec<Tensor<4>>, reals: &mut Vec<Tensor<4>>| -> Result<()> {
        if let Some(net) = fid_network
            && !fakes.is_empty()
        {
            let fake = preprocess(Tensor::cat(std::mem::take(fakes), 0), InputRange::MinusOneToOne)?;
            fake_moments.update(&net.features(fake)?)?;
            let real = preprocess(Tensor::cat(std::mem::take(reals), 0), InputRange::MinusOneToOne)?;
            real_moments.update(&net.features(real)?)?;
        }
        Ok(())
    };
    for index in 0..pairs.len() {
        let (mut input, mut target) = (Vec::with_capacity(ic * ih * iw), Vec::with_capacity(tc * th * tw));
        pairs.extend_pair(index, &mut input, &mut target);
        let input = Tensor::<4>::from_data(TensorData::new(input, [1, ic, ih, iw]), device);
        let translated = translator.translate(&input)?;
        if translated.dims() != [1, tc, th, tw] {
            return Err(RganError::shape(
                "translation",
                &translated.dims(),
                format!("but the targets are [1, {tc}, {th}, {tw}]: the model does not fit these pairs"),
            ));
        }
        let fake = translated
            .clone()
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| RganError::invalid("translation", format!("{e:?}")))?;
        if let Some(at) = fake.iter().position(|v| !v.is_finite()) {
            return Err(RganError::invalid(
                "translation",
                format!("of pair {index} holds {} (a diverged generator?)", fake[at]),
            ));
        }
        let (mut abs, mut squared) = (0.0f64, 0.0f64);
        for (&f, &r) in fake.iter().zip(&target) {
            let d = f as f64 - r as f64;
            abs += d.abs();
            squared += d * d;
        }
        abs_sum += abs;
        values += fake.len();
        let mse = squared / fake.len() as f64;
        psnr_sum += if mse > 0.0 { 10.0 * (4.0 / mse).log10() } else { EXACT_PSNR };
        let target = Tensor::<4>::from_data(TensorData::new(target, [1, tc, th, tw]), device);
        each(index, &input, &translated, &target)?;
        if fid_network.is_some() {
            fakes.push(translated);
            reals.push(target);
            if fakes.len() == FID_BATCH {
                flush(&mut fakes, &mut reals)?;
                progress(index + 1);
            }
        }
    }
    flush(&mut fakes, &mut reals)?;
    progress(pairs.len());
    let fid = match fid_network {
        Some(_) => Some(
            FidStatistics::from_moments(&fake_moments)?
                .frechet_distance(&FidStatistics::from_moments(&real_moments)?)?,
        ),
        None => None,
    };
    let n = pairs.len();
    Ok(TranslationScores { images: n, l1: abs_sum / values as f64, psnr: psnr_sum / n as f64, fid })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Cifar10, DerivedPairs, PairInput};
    use crate::recipes::image_to_image::UNetGeneratorConfig;

    /// L1 and PSNR against an independent f64 computation of the same translations.
    #[test]
    fn l1_and_psnr_match_a_direct_computation() {
        let device = Device::default();
        let data = Cifar10 { pixels: (0..3 * 3072).map(|i| ((i * 7) % 256) as u8).collect(), labels: vec![0, 1, 2] };
        let pairs = DerivedPairs::new(&data, PairInput::Grey).unwrap();
        let unet = UNetGeneratorConfig::new(1, 3)
            .with_base_filters(2)
            .with_depth(5)
            .init(&mut crate::rng::Rng::seed_from_u64(1), &device)
            .unwrap();
        let translator = Translator::Pix2Pix(unet);
        let mut seen = Vec::new();
        let scores = score_translations(
            &translator,
            &pairs,
            None,
            &device,
            |i, _, fake, real| {
                let f: Vec<f32> = fake.clone().into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
                let r: Vec<f32> = real.clone().into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
                seen.push((i, f, r));
                Ok(())
            },
            |_| {},
        )
        .unwrap();
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 1, 2]);
        let all: Vec<(f64, f64)> =
            seen.iter().flat_map(|(_, f, r)| f.iter().zip(r).map(|(&a, &b)| (a as f64, b as f64))).collect();
        let l1 = all.iter().map(|(a, b)| (a - b).abs()).sum::<f64>() / all.len() as f64;
        let psnr = seen
            .iter()
            .map(|(_, f, r)| {
                let mse = f.iter().zip(r).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum::<f64>() / f.len() as f64;
                10.0 * (4.0 / mse).log10()
            })
            .sum::<f64>()
            / 3.0;
        assert!((scores.l1 - l1).abs() < 1e-12 && (scores.psnr - psnr).abs() < 1e-9, "{scores:?} vs {l1} {psnr}");
        // Each image is translated alone: the first translation is the same with or without the others.
        let one = Cifar10 { pixels: data.pixels[..3072].to_vec(), labels: vec![0] };
        let alone = score_translations(
            &translator,
            &DerivedPairs::new(&one, PairInput::Grey).unwrap(),
            None,
            &device,
            |_, _, f, _| {
                let f: Vec<f32> = f.clone().into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
                assert_eq!(f, seen[0].1);
                Ok(())
            },
            |_| {},
        )
        .unwrap();
        assert_eq!(alone.images, 1);
    }

    #[test]
    fn pairs_the_model_does_not_fit_are_errors() {
        let device = Device::default();
        let data = Cifar10 { pixels: vec![9; 2 * 3072], labels: vec![0, 1] };
        let pairs = DerivedPairs::new(&data, PairInput::Blur { sigma: 1.0 }).unwrap();
        let grey_in = UNetGeneratorConfig::new(1, 3)
            .with_base_filters(2)
            .with_depth(3)
            .init(&mut crate::rng::Rng::seed_from_u64(1), &device)
            .unwrap();
        let err = score_translations(&Translator::Pix2Pix(grey_in), &pairs, None, &device, |_, _, _, _| Ok(()), |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("channel"), "{err}");
        let empty = Cifar10 { pixels: vec![], labels: vec![] };
        assert!(DerivedPairs::new(&empty, PairInput::Grey).is_err());
    }
}
