//! Scores of image-to-image translators on held-out images.
//!
//! [`score_translations`] (pix2pix's evaluation): the L1 distance and PSNR of each translation
//! to its target, and the FID of all translations against all targets with the FID Inception
//! network. [`score_cycle`] (CycleGAN's): the FID of each domain's translations against the
//! other domain's real images, and the cycle reconstruction L1. [`score_domains`] (StarGAN's):
//! how often a classifier of the domains assigns a translation to its target domain.
//!
//! - The translators are closures (e.g. `|x| translator.translate(x)` with a
//!   [`Translator`](crate::recipes::Translator) that `rgan translate` loads), so any model can be
//!   scored. For pairs, every image is translated on its own: pix2pix normalizes a test image
//!   with its own statistics, so a batch would change the result.
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
    /// The targets' FID statistics when they were computed here (a FID network and no
    /// `target_statistics` given), to be cached for the next model scored on the same pairs.
    #[serde(skip)]
    pub target_statistics: Option<FidStatistics>,
}

/// The PSNR of an exact translation (its MSE is 0): a finite stand-in, far above any real one.
const EXACT_PSNR: f64 = 100.0;

/// Images fed to the FID network at a time.
const FID_BATCH: usize = 50;

/// Translates every pair of `pairs` with `translate` (one at a time) and scores the
/// translations against the targets ([module docs](self)). `each` sees every pair as it is
/// done: its index, and the input, translation and target `[1, C, H, W]` (to draw a grid
/// from); `progress` the number of pairs done after each FID batch.
///
/// With a FID network, the targets' statistics are `target_statistics` when given (computed
/// earlier from the same pairs, e.g. for another model: the targets then never pass through
/// the network), else computed here and returned in [`TranslationScores::target_statistics`].
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
/// let translator = Translator::Pix2Pix(unet);
/// let translate = |x: &Tensor<4>| translator.translate(x);
/// let scores = score_translations(translate, &pairs, None, None, &device, |_, _, _, _| Ok(()), |_| {}).unwrap();
/// assert_eq!((scores.images, scores.fid), (2, None));
/// assert!(scores.l1 > 0.0 && scores.psnr > 0.0 && scores.psnr < 100.0);
/// ```
pub fn score_translations<D: PairedDataset + ?Sized>(
    translate: impl Fn(&Tensor<4>) -> Result<Tensor<4>>,
    pairs: &D,
    fid_network: Option<&FidInceptionV3>,
    target_statistics: Option<&FidStatistics>,
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
    if target_statistics.is_some() && fid_network.is_none() {
        return Err(RganError::invalid("target_statistics", "given without a FID network to compare them with"));
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
            if target_statistics.is_none() {
                let real = preprocess(Tensor::cat(std::mem::take(reals), 0), InputRange::MinusOneToOne)?;
                real_moments.update(&net.features(real)?)?;
            }
        }
        Ok(())
    };
    for index in 0..pairs.len() {
        let (mut input, mut target) = (Vec::with_capacity(ic * ih * iw), Vec::with_capacity(tc * th * tw));
        pairs.extend_pair(index, &mut input, &mut target);
        let input = Tensor::<4>::from_data(TensorData::new(input, [1, ic, ih, iw]), device);
        let translated = translate(&input)?;
        if translated.dims() != [1, tc, th, tw] {
            return Err(RganError::shape(
                "translation",
                &translated.dims(),
                format!("but the targets are [1, {tc}, {th}, {tw}]: the model does not fit these pairs"),
            ));
        }
        let fake = finite(&translated, &format!("the translation of pair {index}"))?;
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
            if target_statistics.is_none() {
                reals.push(target);
            }
            if fakes.len() == FID_BATCH {
                flush(&mut fakes, &mut reals)?;
                progress(index + 1);
            }
        }
    }
    flush(&mut fakes, &mut reals)?;
    progress(pairs.len());
    let (fid, computed) = match fid_network {
        None => (None, None),
        Some(_) => {
            let targets = match target_statistics {
                Some(given) => std::borrow::Cow::Borrowed(given),
                None => std::borrow::Cow::Owned(FidStatistics::from_moments(&real_moments)?),
            };
            if targets.dims() != fake_moments.mean().len() {
                return Err(RganError::invalid(
                    "target_statistics",
                    format!("hold {} features; the FID network gives {}", targets.dims(), fake_moments.mean().len()),
                ));
            }
            let fid = FidStatistics::from_moments(&fake_moments)?.frechet_distance(&targets)?;
            let computed = match targets {
                std::borrow::Cow::Owned(stats) => Some(stats),
                std::borrow::Cow::Borrowed(_) => None,
            };
            (Some(fid), computed)
        }
    };
    let n = pairs.len();
    Ok(TranslationScores {
        images: n,
        l1: abs_sum / values as f64,
        psnr: psnr_sum / n as f64,
        fid,
        target_statistics: computed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Cifar10, DerivedPairs, PairInput};

    /// A stand-in colourising translator of grey images (any deterministic function will do),
    /// which checks that it is given one image at a time.
    fn colourise(x: &Tensor<4>) -> Result<Tensor<4>> {
        assert_eq!(x.dims()[0], 1, "pairs are translated one at a time");
        Ok(Tensor::cat(vec![x.clone(), x.clone().mul_scalar(0.5), x.clone().neg()], 1).tanh())
    }

    /// L1 and PSNR against an independent f64 computation of the same translations.
    #[test]
    fn l1_and_psnr_match_a_direct_computation() {
        let device = Device::default();
        let data = Cifar10 { pixels: (0..3 * 3072).map(|i| ((i * 7) % 256) as u8).collect(), labels: vec![0, 1, 2] };
        let pairs = DerivedPairs::new(&data, PairInput::Grey).unwrap();
        let mut seen = Vec::new();
        let read =
            |t: &Tensor<4>| -> Vec<f32> { t.clone().into_data().convert::<f32>().try_into_vec::<f32>().unwrap() };
        let scores = score_translations(
            colourise,
            &pairs,
            None,
            None,
            &device,
            |i, _, fake, real| {
                seen.push((i, read(fake), read(real)));
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
        assert_eq!(scores.images, 3);
    }

    #[test]
    fn translations_that_do_not_fit_the_targets_are_errors() {
        let device = Device::default();
        let data = Cifar10 { pixels: vec![9; 2 * 3072], labels: vec![0, 1] };
        let pairs = DerivedPairs::new(&data, PairInput::Grey).unwrap();
        let grey_out = |x: &Tensor<4>| Ok(x.clone());
        let err = score_translations(grey_out, &pairs, None, None, &device, |_, _, _, _| Ok(()), |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("[1, 1, 32, 32]") && err.contains("[1, 3, 32, 32]"), "{err}");
        let diverged = |x: &Tensor<4>| Ok(Tensor::full([1, 3, 32, 32], f32::NAN, &x.device()));
        let err = score_translations(diverged, &pairs, None, None, &device, |_, _, _, _| Ok(()), |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("NaN"), "{err}");
    }
}

/// What [`score_cycle`] measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CycleScores {
    /// Images of X and of Y.
    pub images: [usize; 2],
    /// FID of X translated to Y against the real Y images (when a FID network was given).
    pub fid_x2y: Option<f64>,
    /// FID of Y translated to X against the real X images.
    pub fid_y2x: Option<f64>,
    /// Mean `|F(G(x)) − x|` over the X images (`[-1, 1]` scale): the cycle reconstruction.
    pub cycle_l1_x: f64,
    /// Mean `|G(F(y)) − y|` over the Y images.
    pub cycle_l1_y: f64,
}

/// Images of `data` in batches of at most [`FID_BATCH`], as `[n, C, H, W]` tensors.
fn image_batches<'a, D: crate::data::ImageDataset + ?Sized>(
    data: &'a D,
    device: &'a Device,
) -> impl Iterator<Item = Tensor<4>> + 'a {
    let [c, h, w] = data.image_shape();
    (0..data.len()).step_by(FID_BATCH).map(move |start| {
        let n = FID_BATCH.min(data.len() - start);
        let mut values = Vec::with_capacity(n * c * h * w);
        for i in start..start + n {
            data.extend_image(i, &mut values);
        }
        Tensor::from_data(TensorData::new(values, [n, c, h, w]), device)
    })
}

/// The values of `images`, or an error naming `what` when one is NaN or infinite.
fn finite(images: &Tensor<4>, what: &str) -> Result<Vec<f32>> {
    let values = images.clone().into_data().convert::<f32>().try_into_vec::<f32>();
    let values = values.map_err(|e| RganError::invalid(what, format!("cannot be read back: {e:?}")))?;
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(RganError::invalid(what, format!("hold {v} (a diverged generator?)")));
    }
    Ok(values)
}

/// A CycleGAN's scores on held-out images of its two domains (CycleGAN's evaluation): the FID of
/// each domain's translations against the other domain's real images, and the cycle
/// reconstruction L1 of each domain. `x2y` and `y2x` translate with the two generators (e.g. the
/// [`Translator`](crate::recipes::Translator)s of `Translation::Forward` and `Backward`), a batch
/// at a time (CycleGAN's instance norm treats each image on its own).
pub fn score_cycle<X: crate::data::ImageDataset + ?Sized, Y: crate::data::ImageDataset + ?Sized>(
    x2y: impl Fn(&Tensor<4>) -> Result<Tensor<4>>,
    y2x: impl Fn(&Tensor<4>) -> Result<Tensor<4>>,
    x: &X,
    y: &Y,
    fid_network: Option<&FidInceptionV3>,
    device: &Device,
) -> Result<CycleScores> {
    if x.len() < 2 || y.len() < 2 {
        return Err(RganError::invalid(
            "images",
            format!("hold {} X and {} Y images; each needs two", x.len(), y.len()),
        ));
    }
    let (x_translated, x_real, cycle_l1_x) = cycle_side(image_batches(x, device), &x2y, &y2x, fid_network)?;
    let (y_translated, y_real, cycle_l1_y) = cycle_side(image_batches(y, device), &y2x, &x2y, fid_network)?;
    let fid = |a: &ActivationMoments, b: &ActivationMoments| -> Result<f64> {
        FidStatistics::from_moments(a)?.frechet_distance(&FidStatistics::from_moments(b)?)
    };
    let (fid_x2y, fid_y2x) = match fid_network {
        Some(_) => (Some(fid(&x_translated, &y_real)?), Some(fid(&y_translated, &x_real)?)),
        None => (None, None),
    };
    Ok(CycleScores { images: [x.len(), y.len()], fid_x2y, fid_y2x, cycle_l1_x, cycle_l1_y })
}

/// One domain's half of [`score_cycle`]: the FID moments of its translations and of its real
/// images, and its cycle reconstruction L1.
fn cycle_side(
    batches: impl Iterator<Item = Tensor<4>>,
    forward: &dyn Fn(&Tensor<4>) -> Result<Tensor<4>>,
    backward: &dyn Fn(&Tensor<4>) -> Result<Tensor<4>>,
    fid_network: Option<&FidInceptionV3>,
) -> Result<(ActivationMoments, ActivationMoments, f64)> {
    let (mut translated, mut real) = (ActivationMoments::new(), ActivationMoments::new());
    let (mut abs, mut count) = (0.0f64, 0usize);
    for images in batches {
        let there = forward(&images)?;
        let back = backward(&there)?;
        let (a, b) = (finite(&back, "cycle reconstructions")?, finite(&images, "images")?);
        abs += a.iter().zip(&b).map(|(&p, &q)| (p as f64 - q as f64).abs()).sum::<f64>();
        count += a.len();
        if let Some(net) = fid_network {
            translated.update(&net.features(preprocess(there, InputRange::MinusOneToOne)?)?)?;
            real.update(&net.features(preprocess(images, InputRange::MinusOneToOne)?)?)?;
        }
    }
    Ok((translated, real, abs / count.max(1) as f64))
}

/// What [`score_domains`] measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DomainScores {
    /// Images translated (each into every other domain).
    pub images: usize,
    /// Translations made: images × (domains − 1).
    pub translations: usize,
    /// The share of translations the classifier assigns to their target domain.
    pub target_accuracy: f64,
    /// The classifier's accuracy on the untranslated images (their own domains).
    pub real_accuracy: f64,
}

/// A StarGAN's translations judged by a classifier of its domains (StarGAN's evaluation): each
/// image of `data` (its label is its domain) translated into every other domain by
/// `translate(images, domain)`, and the share the classifier assigns to the target domain.
/// `class_of_domain[d]` is the classifier's class index of domain `d`.
pub fn score_domains<D: crate::data::ImageDataset + ?Sized>(
    translate: impl Fn(&Tensor<4>, usize) -> Result<Tensor<4>>,
    data: &D,
    classifier: &impl crate::model::ImageClassifier,
    class_of_domain: &[usize],
    device: &Device,
) -> Result<DomainScores> {
    let domains = class_of_domain.len();
    if domains < 2 || data.is_empty() {
        return Err(RganError::invalid("data", "needs images and at least two domains"));
    }
    let predicted = |images: Tensor<4>| -> Result<Vec<i64>> {
        let classes = classifier.logits(images)?.argmax(1).into_data().convert::<i64>().try_into_vec::<i64>();
        classes.map_err(|e| RganError::invalid("classifier", format!("cannot be read back: {e:?}")))
    };
    let (mut hits, mut translations, mut real_hits) = (0usize, 0usize, 0usize);
    let mut start = 0;
    for images in image_batches(data, device) {
        let n = images.dims()[0];
        let labels: Vec<usize> = (start..start + n).map(|i| data.label(i) as usize).collect();
        if let Some(&bad) = labels.iter().find(|&&l| l >= domains) {
            return Err(RganError::invalid("data", format!("has a label {bad} beyond its {domains} domains")));
        }
        let real = predicted(images.clone())?;
        real_hits += real.iter().zip(&labels).filter(|&(&p, &l)| p as usize == class_of_domain[l]).count();
        for target in 0..domains {
            let translated = translate(&images, target)?;
            finite(&translated, "translations")?;
            let classes = predicted(translated)?;
            for (i, &p) in classes.iter().enumerate() {
                if labels[i] != target {
                    translations += 1;
                    hits += usize::from(p as usize == class_of_domain[target]);
                }
            }
        }
        start += n;
    }
    Ok(DomainScores {
        images: data.len(),
        translations,
        target_accuracy: hits as f64 / translations.max(1) as f64,
        real_accuracy: real_hits as f64 / data.len() as f64,
    })
}

#[cfg(test)]
mod unpaired_tests {
    use super::*;
    use crate::data::Cifar10;

    /// Reads an image's class off its mean value: domain `d`'s images are `−0.9 + 0.2 d` flat.
    #[derive(burn::module::Module, Debug)]
    struct MeanClassifier;

    fn value(domain: usize) -> f32 {
        -0.9 + 0.2 * domain as f32
    }

    impl crate::model::ImageClassifier for MeanClassifier {
        fn logits(&self, images: Tensor<4>) -> Result<Tensor<2>> {
            let n = images.dims()[0];
            let mean = images.reshape([n as i32, -1]).mean_dim(1);
            let centres = Tensor::<1>::from_floats(&(0..10).map(value).collect::<Vec<_>>()[..], &mean.device());
            Ok(mean.sub(centres.unsqueeze::<2>()).square().neg())
        }
    }

    #[test]
    fn domain_accuracy_counts_translations_into_other_domains() {
        let device = Device::default();
        // 6 images of domains 0, 1, 2, each flat at its domain's value.
        let labels: Vec<u8> = (0..6).map(|i| i % 3).collect();
        let pixels =
            labels.iter().flat_map(|&l| vec![((value(l as usize) + 1.0) * 128.0).round() as u8; 3072]).collect();
        let data = Cifar10 { pixels, labels };
        let domains = [0, 1, 2];
        // A perfect translator: every image made flat at the target's value.
        let perfect = |images: &Tensor<4>, d: usize| Ok(Tensor::full(images.dims(), value(d), &images.device()));
        let scores = score_domains(perfect, &data, &MeanClassifier, &domains, &device).unwrap();
        assert_eq!((scores.images, scores.translations), (6, 12));
        assert_eq!((scores.target_accuracy, scores.real_accuracy), (1.0, 1.0));
        // A translator that changes nothing: never the target domain.
        let idle = |images: &Tensor<4>, _: usize| Ok(images.clone());
        let scores = score_domains(idle, &data, &MeanClassifier, &domains, &device).unwrap();
        assert_eq!(scores.target_accuracy, 0.0);
        // Domains mapped to other classes: the real images are then misjudged.
        let shifted = score_domains(perfect, &data, &MeanClassifier, &[3, 4, 5], &device).unwrap();
        assert_eq!(shifted.real_accuracy, 0.0);
    }

    #[test]
    fn cycle_l1_is_the_mean_reconstruction_error() {
        let device = Device::default();
        // Two stand-in generators: G brightens, F darkens and shifts; F(G(x)) is not x.
        let g = |x: &Tensor<4>| Ok(x.clone().mul_scalar(0.8).add_scalar(0.1));
        let f = |x: &Tensor<4>| Ok(x.clone().mul_scalar(0.9).sub_scalar(0.2));
        let x = Cifar10 { pixels: (0..2 * 3072).map(|i| (i % 200) as u8).collect(), labels: vec![0, 0] };
        let y = Cifar10 { pixels: (0..3 * 3072).map(|i| (i * 3 % 256) as u8).collect(), labels: vec![1, 1, 1] };
        let scores = score_cycle(g, f, &x, &y, None, &device).unwrap();
        let images: Vec<Tensor<4>> = image_batches(&x, &device).collect();
        let back = f(&g(&images[0]).unwrap()).unwrap();
        let (a, b) = (finite(&back, "a").unwrap(), finite(&images[0], "b").unwrap());
        let expected = a.iter().zip(&b).map(|(&p, &q)| (p as f64 - q as f64).abs()).sum::<f64>() / a.len() as f64;
        assert!((scores.cycle_l1_x - expected).abs() < 1e-12, "{scores:?} vs {expected}");
        assert_eq!((scores.images, scores.fid_x2y), ([2, 3], None));
        assert!(scores.cycle_l1_y > 0.0);
        let one = Cifar10 { pixels: vec![0; 3072], labels: vec![0] };
        assert!(score_cycle(g, f, &one, &y, None, &device).is_err());
    }
}
