//! CIFAR-10 evaluation: the FID of a generator's images against the statistics of CIFAR-10's
//! training set, with the FID Inception network ([`FidInceptionV3`]); the CIFAR-10 classifier
//! score (TF-GAN's `classifier_score` with rgan's [`CifarClassifier`]); and the Inception Score
//! when the Inception weights have their 1008-way classifier ([`CifarScorer`]).
//!
//! - Real images go through pytorch-fid's pipeline exactly: the 8-bit pixels (as the files or
//!   binary records hold them) scaled to `[0, 1]`, resized bilinearly to 299×299, mapped to
//!   `[-1, 1]` ([`preprocess`] with [`InputRange::ZeroTo255`]). Their statistics are what
//!   pytorch-fid computes on the same images, so a `.npz` written here compares with its own.
//! - Generated images in `[-1, 1]` go through the same resize without quantization to 8 bits (as
//!   TF-GAN feeds float images to its Inception network).
//! - The protocol of TTUR and most papers: 10,000 generated images ([`CIFAR_FID_SAMPLES`]) against
//!   all 50,000 training images; the conditional model's labels cycle through the classes, so
//!   every class is drawn equally often.
//! - The Inception Score: Salimans et al.'s protocol (softmax of the classifier's logits without
//!   bias, mean ± std over 10 splits), on the same images as the FID (10,000 by default; the
//!   papers draw 50,000). The classifier score: one score over all images, as TF-GAN's
//!   `classifier_score_from_logits`, from the classifier's view of the images in `[-1, 1]`
//!   (real pixels `(x − 128) / 128`, as it was trained).

use std::path::{Path, PathBuf};

use burn::prelude::*;

use super::cifar_classifier::CifarClassifier;
use super::classifier_score::{ClassifierScoreStreaming, inception_score_splits};
use super::fid_statistics::FidStatistics;
use super::frechet::ActivationMoments;
use super::inception::{FidInceptionV3, InputRange, preprocess};
use crate::data::Cifar10;
use crate::error::{Result, RganError};
use crate::model::{BatchNormMode, GanDiscriminator, GanGenerator, ImageClassifier, NoiseInputs};
use crate::rng::Rng;
use crate::summary::EventWriter;
use crate::train::{GanStep, HookAction, StepReport, TrainHook};

/// Generated images of a CIFAR-10 FID: 10,000, as TTUR's and most papers' protocol.
pub const CIFAR_FID_SAMPLES: usize = 10_000;

/// The splits of the Inception Score (Salimans et al.'s protocol).
pub const INCEPTION_SCORE_SPLITS: usize = 10;

/// The scores of one set of CIFAR-10 images ([`CifarScorer::finish`]).
#[derive(Clone, Debug, PartialEq)]
pub struct CifarScores {
    /// The images' FID statistics (their Fréchet distance to the training set's is the FID).
    pub statistics: FidStatistics,
    /// The CIFAR-10 classifier score, when a classifier was given.
    pub classifier_score: Option<f64>,
    /// The Inception Score's mean and standard deviation over the splits, when the Inception
    /// weights had their classifier and the score was asked for.
    pub inception_score: Option<(f64, f64)>,
}

/// Scores batches of CIFAR-10 images as they come: FID statistics always, the classifier score
/// with a classifier, the Inception Score when asked (its logits are kept until
/// [`finish`](Self::finish): 1008 per image).
pub struct CifarScorer<'a> {
    net: &'a FidInceptionV3,
    classifier: Option<&'a CifarClassifier>,
    inception_score_splits: Option<usize>,
    moments: ActivationMoments,
    classifier_score: ClassifierScoreStreaming,
    inception_logits: Vec<Tensor<2>>,
}

impl<'a> CifarScorer<'a> {
    /// A scorer with the FID network `net`, the CIFAR-10 `classifier` (if any), and the
    /// Inception Score over `inception_score_splits` splits (if any; the weights must then have
    /// the 1008-way classifier, else this errors now rather than after the images).
    pub fn new(
        net: &'a FidInceptionV3,
        classifier: Option<&'a CifarClassifier>,
        inception_score_splits: Option<usize>,
    ) -> Result<Self> {
        if let Some(splits) = inception_score_splits {
            if splits == 0 {
                return Err(RganError::invalid("splits", "must be at least 1"));
            }
            // The weights' classifier is checked now: a missing one names the file to get.
            net.check_classifier()?;
        }
        Ok(Self {
            net,
            classifier,
            inception_score_splits,
            moments: ActivationMoments::new(),
            classifier_score: ClassifierScoreStreaming::new(),
            inception_logits: Vec::new(),
        })
    }

    /// Scores `images` `[N, 3, 32, 32]`: 8-bit pixel values ([`InputRange::ZeroTo255`]) or a
    /// generator's output ([`InputRange::MinusOneToOne`]).
    pub fn update(&mut self, images: Tensor<4>, range: InputRange) -> Result<()> {
        if let Some(classifier) = self.classifier {
            let scaled = match range {
                InputRange::ZeroTo255 => images.clone().sub_scalar(128.0).div_scalar(128.0),
                InputRange::ZeroToOne => images.clone().mul_scalar(255.0).sub_scalar(128.0).div_scalar(128.0),
                InputRange::MinusOneToOne => images.clone(),
            };
            self.classifier_score.update(&classifier.logits(scaled)?)?;
        }
        let pool3 = self.net.features(preprocess(images, range)?)?;
        if self.inception_score_splits.is_some() {
            self.inception_logits.push(self.net.inception_score_logits(pool3.clone())?);
        }
        self.moments.update(&pool3)
    }

    /// The scores of every image given.
    pub fn finish(self) -> Result<CifarScores> {
        let inception_score = match self.inception_score_splits {
            Some(splits) => Some(inception_score_splits(&Tensor::cat(self.inception_logits, 0), splits)?),
            None => None,
        };
        Ok(CifarScores {
            statistics: FidStatistics::from_moments(&self.moments)?,
            classifier_score: self.classifier.map(|_| self.classifier_score.value()).transpose()?,
            inception_score,
        })
    }
}

/// The FID statistics of every image of `data` (`batch` at a time); `progress` is called with
/// the number of images done after each batch.
pub fn cifar_statistics(
    net: &FidInceptionV3,
    data: &Cifar10,
    batch: usize,
    device: &Device,
    progress: impl FnMut(usize),
) -> Result<FidStatistics> {
    Ok(score_cifar_images(CifarScorer::new(net, None, None)?, data, batch, device, progress)?.statistics)
}

/// The scores of every image of `data` (`batch` at a time) by `scorer`; `progress` is called
/// with the number of images done after each batch.
///
/// The pixels go to the Inception network as pytorch-fid takes them (8-bit values scaled to
/// `[0, 1]`), and to the classifier as it was trained on them (`(x − 128) / 128`).
pub fn score_cifar_images(
    mut scorer: CifarScorer,
    data: &Cifar10,
    batch: usize,
    device: &Device,
    mut progress: impl FnMut(usize),
) -> Result<CifarScores> {
    if batch == 0 {
        return Err(RganError::invalid("batch_size", "must be at least 1"));
    }
    if data.len() < 2 {
        return Err(RganError::invalid("data", format!("holds {} images; a covariance needs two", data.len())));
    }
    let image_bytes = 3 * 32 * 32;
    for start in (0..data.len()).step_by(batch) {
        let count = batch.min(data.len() - start);
        let bytes = &data.pixels[start * image_bytes..(start + count) * image_bytes];
        let values: Vec<f32> = bytes.iter().map(|&b| b as f32).collect();
        let images = Tensor::<4>::from_data(TensorData::new(values, [count, 3, 32, 32]), device);
        scorer.update(images, InputRange::ZeroTo255)?;
        progress(start + count);
    }
    scorer.finish()
}

/// The FID statistics of `count` images of `generator` (inputs drawn by `inputs` from `seed`;
/// labels, for a conditional generator, cycling through the classes), `batch` at a time, with
/// the batch norm in `mode`; `progress` is called with the images done after each batch.
/// Errors on NaN or infinite pixels, naming the batch.
#[allow(clippy::too_many_arguments)]
pub fn generator_statistics<G: GanGenerator>(
    net: &FidInceptionV3,
    generator: &G,
    inputs: &NoiseInputs,
    count: usize,
    batch: usize,
    mode: BatchNormMode,
    seed: u64,
    device: &Device,
    progress: impl FnMut(usize),
) -> Result<FidStatistics> {
    let scorer = CifarScorer::new(net, None, None)?;
    let draw = GeneratorDraw { count, batch, mode, seed };
    Ok(score_generator(scorer, generator, inputs, draw, device, progress)?.statistics)
}

/// How [`score_generator`] draws its images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneratorDraw {
    /// Images (at least 2). The protocol: [`CIFAR_FID_SAMPLES`].
    pub count: usize,
    /// Images per generator and Inception pass.
    pub batch: usize,
    /// The generator's batch norm.
    pub mode: BatchNormMode,
    /// The seed of the noise.
    pub seed: u64,
}

/// The scores of `draw.count` images of `generator` by `scorer` (inputs drawn by `inputs` from
/// `draw.seed`; labels, for a conditional generator, cycling through the classes);
/// `progress` is called with the images done after each batch. Errors on NaN or infinite
/// pixels, naming the batch.
pub fn score_generator<G: GanGenerator>(
    mut scorer: CifarScorer,
    generator: &G,
    inputs: &NoiseInputs,
    draw: GeneratorDraw,
    device: &Device,
    mut progress: impl FnMut(usize),
) -> Result<CifarScores> {
    let GeneratorDraw { count, batch, mode, seed } = draw;
    if batch == 0 || count < 2 {
        return Err(RganError::invalid(
            if batch == 0 { "batch_size" } else { "num" },
            "must be at least 1 (batch) and 2 (images: a covariance needs two)",
        ));
    }
    let mut rng = Rng::seed_from_u64(seed);
    for start in (0..count).step_by(batch) {
        let n = batch.min(count - start);
        let images = generator.generate_with(&inputs.random(n, start, &mut rng, device), mode)?;
        if !crate::model::all_finite(&images) {
            return Err(RganError::invalid(
                "generator",
                format!("made NaN or infinite pixels in images {start}..{}: its weights diverged", start + n),
            ));
        }
        scorer.update(images, InputRange::MinusOneToOne)?;
        progress(start + n);
    }
    scorer.finish()
}

/// The columns of a CIFAR-10 run's `eval.csv`, after `step`.
const EVAL_COLUMNS: [&str; 4] = ["fid", "classifier_score", "inception_score", "inception_score_std"];

/// Evaluates a CIFAR-10 GAN while it trains: every [`every`](Self::every) steps (and at the
/// run's last step) it scores [`num_samples`](Self::num_samples) images of the current
/// generator (fixed inputs from [`seed`](Self::seed), each batch's own batch-norm statistics, as
/// `rgan eval cifar` by default) with [`score_generator`] and writes
///
/// - TensorBoard scalars `eval/fid`, `eval/classifier_score` and, when the Inception weights
///   have their classifier, `eval/inception_score` and `eval/inception_score_std`, to an event
///   file of its own in the log folder, and
/// - a row `step,fid,classifier_score,inception_score,inception_score_std` appended to
///   `eval.csv` there.
pub struct CifarEvalHook {
    net: FidInceptionV3,
    classifier: CifarClassifier,
    reference: FidStatistics,
    device: Device,
    logdir: PathBuf,
    writer: Option<EventWriter>,
    /// Evaluate every this many steps (0: only at the last step).
    pub every: usize,
    /// Generated images per evaluation. Default [`CIFAR_FID_SAMPLES`].
    pub num_samples: usize,
    /// Images per generator and Inception pass. Default 50.
    pub batch: usize,
    /// Seed of the generator inputs (the same inputs at every evaluation). Default 0.
    pub seed: u64,
    /// The Inception Score's splits. Default [`INCEPTION_SCORE_SPLITS`].
    pub splits: usize,
    /// The step and the scores (FID, classifier score, Inception Score and its std; NaN where
    /// absent) of the latest evaluation.
    pub last: Option<(usize, [f64; 4])>,
}

impl CifarEvalHook {
    /// A hook for a run logging to `logdir`, with the FID network `net`, the training set's
    /// statistics `reference` and the CIFAR-10 `classifier`, running on `device` without
    /// autodiff (the generator's `valid()` copy runs there).
    pub fn new(
        net: FidInceptionV3,
        reference: FidStatistics,
        classifier: CifarClassifier,
        logdir: impl AsRef<Path>,
        every: usize,
        device: &Device,
    ) -> Self {
        Self {
            net,
            classifier,
            reference,
            device: device.clone().without_autodiff(),
            logdir: logdir.as_ref().to_path_buf(),
            writer: None,
            every,
            num_samples: CIFAR_FID_SAMPLES,
            batch: 50,
            seed: 0,
            splits: INCEPTION_SCORE_SPLITS,
            last: None,
        }
    }

    /// Scores `generator` (whose inputs `inputs` describes) now and logs the result at `step`.
    pub fn evaluate<G: GanGenerator>(&mut self, generator: &G, inputs: &NoiseInputs, step: usize) -> Result<[f64; 4]> {
        let splits = self.net.has_classifier().then_some(self.splits);
        let scorer = CifarScorer::new(&self.net, Some(&self.classifier), splits)?;
        let draw = GeneratorDraw {
            count: self.num_samples,
            batch: self.batch,
            mode: BatchNormMode::BatchStatistics,
            seed: self.seed,
        };
        let scores = score_generator(scorer, generator, inputs, draw, &self.device, |_| {})?;
        let values = [
            scores.statistics.frechet_distance(&self.reference)?,
            scores.classifier_score.unwrap_or(f64::NAN),
            scores.inception_score.map_or(f64::NAN, |(mean, _)| mean),
            scores.inception_score.map_or(f64::NAN, |(_, std)| std),
        ];
        super::log_evaluation(&mut self.writer, &self.logdir, &EVAL_COLUMNS, &values, step)?;
        self.last = Some((step, values));
        Ok(values)
    }
}

impl<G, D, C> TrainHook<GanStep<G, D, NoiseInputs, C>> for CifarEvalHook
where
    G: GanGenerator,
    D: GanDiscriminator,
    C: ImageClassifier,
{
    fn after_step(&mut self, report: &StepReport, step: &GanStep<G, D, NoiseInputs, C>) -> Result<HookAction> {
        super::evaluate_when_due(self.every, report, step, |generator, inputs, at| {
            self.evaluate(generator, inputs, at).map(|_| ())
        })
    }
}
