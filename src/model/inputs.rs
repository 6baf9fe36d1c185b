//! What a generator takes: TF-GAN's `generator_inputs`, which may be any structure of tensors.
//!
//! [`GanInputs`] is what the rest of rgan needs to know about a generator's inputs: the batch
//! size, how to cut them off from the autodiff graph, stack two batches (one discriminator pass
//! over real and generated data), hand their tensors to a replay pool and back, and the parts
//! some losses read (one-hot labels for ACGAN, structured codes for InfoGAN, images for
//! image-to-image sample grids). rgan implements it for:
//!
//! - [`GeneratorInputs`]: noise, optionally with one-hot labels and InfoGAN's structured codes
//!   (the MNIST models, DCGAN, the zoo), drawn by [`NoiseInputs`];
//! - `Tensor<4>`: images (image-to-image translation, compression, CycleGAN);
//! - [`ImagesAndLabels`]: images with one-hot labels (StarGAN's target domains).
//!
//! A user's own structure implements the trait the same way.

use burn::prelude::*;
use burn::tensor::TensorData;

use crate::error::{Result, RganError};
use crate::losses::StructuredInput;
use crate::rng::Rng;

/// A generator's inputs (TF-GAN's `generator_inputs`): what the core needs to know of them.
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::GanInputs;
/// let device = Device::default();
/// let images = Tensor::<4>::zeros([2, 3, 8, 8], &device);
/// assert_eq!(images.batch_size(), 2);
/// let both = images.stacked(&Tensor::ones([3, 3, 8, 8], &device)).unwrap();
/// assert_eq!(both.dims(), [5, 3, 8, 8]);
/// let back = images.from_data(&mut GanInputs::to_data(&images).into_iter(), &device).unwrap();
/// assert_eq!(back.to_data(), images.to_data());
/// ```
pub trait GanInputs: Clone + std::fmt::Debug {
    /// The number of examples.
    fn batch_size(&self) -> usize;

    /// The same inputs cut off from the autodiff graph.
    fn detach(&self) -> Self;

    /// These inputs with `other`'s below them along the batch dimension; an error when the two
    /// hold different kinds of inputs.
    fn stacked(&self, other: &Self) -> Result<Self>;

    /// One-hot labels `[batch, classes]` (conditional GANs, ACGAN, StarGAN's target domains), if
    /// the inputs carry them.
    fn one_hot_labels(&self) -> Option<Tensor<2>> {
        None
    }

    /// InfoGAN's structured codes, in the order the recognizer predicts them (empty if none).
    fn structured(&self) -> &[StructuredInput] {
        &[]
    }

    /// Images `[batch, C, H, W]` the generator translates, if the inputs hold them (shown beside
    /// the generated images in sample grids).
    fn images(&self) -> Option<Tensor<4>> {
        None
    }

    /// The tensors, in a fixed order (what a replay pool stores).
    fn to_data(&self) -> Vec<TensorData>;

    /// Inputs of this structure made of `data` (as [`to_data`](Self::to_data) wrote it) on
    /// `device`; an error when `data` runs short.
    fn from_data(&self, data: &mut dyn Iterator<Item = TensorData>, device: &Device) -> Result<Self>;
}

fn too_few() -> RganError {
    RganError::invalid("generator_inputs", "were rebuilt from too few tensors")
}

fn next_data(data: &mut dyn Iterator<Item = TensorData>) -> Result<TensorData> {
    data.next().ok_or_else(too_few)
}

impl GanInputs for Tensor<4> {
    fn batch_size(&self) -> usize {
        self.dims()[0]
    }

    fn detach(&self) -> Self {
        self.clone().detach()
    }

    fn stacked(&self, other: &Self) -> Result<Self> {
        let (a, b) = (self.dims(), other.dims());
        if a[1..] != b[1..] {
            return Err(RganError::shape(
                "generator_inputs",
                &b,
                format!("cannot be stacked below images of shape {a:?}"),
            ));
        }
        Ok(Tensor::cat(vec![self.clone(), other.clone()], 0))
    }

    fn images(&self) -> Option<Tensor<4>> {
        Some(self.clone())
    }

    fn to_data(&self) -> Vec<TensorData> {
        vec![self.to_data()]
    }

    fn from_data(&self, data: &mut dyn Iterator<Item = TensorData>, device: &Device) -> Result<Self> {
        Ok(Tensor::from_data(next_data(data)?, device))
    }
}

/// What a noise-driven generator receives: unstructured noise, and optionally one-hot labels
/// (conditional GAN, ACGAN) and structured codes (InfoGAN).
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::{GanInputs, GeneratorInputs};
/// let device = Device::default();
/// let inputs = GeneratorInputs::noise(Tensor::zeros([4, 64], &device))
///     .with_labels(Tensor::zeros([4, 10], &device));
/// assert_eq!(inputs.batch_size(), 4);
/// ```
#[derive(Clone, Debug)]
pub struct GeneratorInputs {
    /// Unstructured noise `[batch, noise_dims]`.
    pub noise: Tensor<2>,
    /// One-hot labels `[batch, num_classes]` (conditional GAN, ACGAN).
    pub one_hot_labels: Option<Tensor<2>>,
    /// InfoGAN's structured codes, in the order the recognizer predicts them.
    pub structured: Vec<StructuredInput>,
}

impl GeneratorInputs {
    /// Inputs made of noise only.
    pub fn noise(noise: Tensor<2>) -> Self {
        Self { noise, one_hot_labels: None, structured: Vec::new() }
    }

    /// Adds one-hot labels.
    pub fn with_labels(mut self, one_hot_labels: Tensor<2>) -> Self {
        self.one_hot_labels = Some(one_hot_labels);
        self
    }

    /// Adds InfoGAN's structured codes.
    pub fn with_structured(mut self, structured: Vec<StructuredInput>) -> Self {
        self.structured = structured;
        self
    }

    /// The labels, or an error naming `what` needs them.
    pub fn labels(&self, what: &str) -> Result<Tensor<2>> {
        self.one_hot_labels.clone().ok_or_else(|| {
            RganError::invalid("generator_inputs", format!("{what} needs one-hot labels but the inputs have none"))
        })
    }
}

fn cat_structured(a: &StructuredInput, b: &StructuredInput) -> Option<StructuredInput> {
    match (a, b) {
        (StructuredInput::ClassIds(a), StructuredInput::ClassIds(b)) => {
            Some(StructuredInput::ClassIds(Tensor::cat(vec![a.clone(), b.clone()], 0)))
        }
        (StructuredInput::Values(a), StructuredInput::Values(b)) => {
            Some(StructuredInput::Values(Tensor::cat(vec![a.clone(), b.clone()], 0)))
        }
        _ => None,
    }
}

impl GanInputs for GeneratorInputs {
    fn batch_size(&self) -> usize {
        self.noise.dims()[0]
    }

    fn detach(&self) -> Self {
        Self {
            noise: self.noise.clone().detach(),
            one_hot_labels: self.one_hot_labels.clone().map(Tensor::detach),
            structured: self
                .structured
                .iter()
                .map(|s| match s {
                    StructuredInput::ClassIds(ids) => StructuredInput::ClassIds(ids.clone()),
                    StructuredInput::Values(v) => StructuredInput::Values(v.clone().detach()),
                })
                .collect(),
        }
    }

    fn stacked(&self, other: &Self) -> Result<Self> {
        let mismatch = || {
            RganError::invalid("generator_inputs", "cannot be stacked: the two batches hold different kinds of inputs")
        };
        let one_hot_labels = match (&self.one_hot_labels, &other.one_hot_labels) {
            (Some(a), Some(b)) => Some(Tensor::cat(vec![a.clone(), b.clone()], 0)),
            (None, None) => None,
            _ => return Err(mismatch()),
        };
        if self.structured.len() != other.structured.len() {
            return Err(mismatch());
        }
        let structured = self
            .structured
            .iter()
            .zip(&other.structured)
            .map(|(a, b)| cat_structured(a, b).ok_or_else(mismatch))
            .collect::<Result<_>>()?;
        Ok(Self { noise: Tensor::cat(vec![self.noise.clone(), other.noise.clone()], 0), one_hot_labels, structured })
    }

    fn one_hot_labels(&self) -> Option<Tensor<2>> {
        self.one_hot_labels.clone()
    }

    fn structured(&self) -> &[StructuredInput] {
        &self.structured
    }

    fn to_data(&self) -> Vec<TensorData> {
        let mut values = vec![self.noise.to_data()];
        if let Some(labels) = &self.one_hot_labels {
            values.push(labels.to_data());
        }
        for code in &self.structured {
            values.push(match code {
                StructuredInput::ClassIds(ids) => ids.to_data(),
                StructuredInput::Values(v) => v.to_data(),
            });
        }
        values
    }

    fn from_data(&self, data: &mut dyn Iterator<Item = TensorData>, device: &Device) -> Result<Self> {
        let mut inputs = GeneratorInputs::noise(Tensor::from_data(next_data(data)?, device));
        if self.one_hot_labels.is_some() {
            inputs.one_hot_labels = Some(Tensor::from_data(next_data(data)?, device));
        }
        for code in &self.structured {
            inputs.structured.push(match code {
                StructuredInput::ClassIds(_) => StructuredInput::ClassIds(Tensor::from_data(next_data(data)?, device)),
                StructuredInput::Values(_) => StructuredInput::Values(Tensor::from_data(next_data(data)?, device)),
            });
        }
        Ok(inputs)
    }
}

/// Images with one-hot labels: StarGAN's generator inputs (an image and the domain to translate
/// it to), or any label-conditioned image-to-image generator's.
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::{GanInputs, ImagesAndLabels};
/// let device = Device::default();
/// let inputs = ImagesAndLabels::new(Tensor::zeros([2, 3, 4, 4], &device), Tensor::zeros([2, 5], &device)).unwrap();
/// assert_eq!((inputs.batch_size(), inputs.one_hot_labels().unwrap().dims()), (2, [2, 5]));
/// assert!(ImagesAndLabels::new(Tensor::zeros([2, 3, 4, 4], &device), Tensor::zeros([3, 5], &device)).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct ImagesAndLabels {
    /// The images `[batch, C, H, W]`.
    pub images: Tensor<4>,
    /// One-hot labels `[batch, classes]`.
    pub labels: Tensor<2>,
}

impl ImagesAndLabels {
    /// Images and their labels; an error when their batch sizes differ.
    pub fn new(images: Tensor<4>, labels: Tensor<2>) -> Result<Self> {
        let (n, m) = (images.dims()[0], labels.dims()[0]);
        if n != m {
            return Err(RganError::shape(
                "labels",
                &labels.dims(),
                format!("but the images hold {n} examples ({:?}); one label row per image", images.dims()),
            ));
        }
        Ok(Self { images, labels })
    }
}

impl GanInputs for ImagesAndLabels {
    fn batch_size(&self) -> usize {
        self.images.dims()[0]
    }

    fn detach(&self) -> Self {
        Self { images: self.images.clone().detach(), labels: self.labels.clone().detach() }
    }

    fn stacked(&self, other: &Self) -> Result<Self> {
        let images = self.images.stacked(&other.images)?;
        let (a, b) = (self.labels.dims(), other.labels.dims());
        if a[1] != b[1] {
            return Err(RganError::shape("labels", &b, format!("cannot be stacked below labels of shape {a:?}")));
        }
        Ok(Self { images, labels: Tensor::cat(vec![self.labels.clone(), other.labels.clone()], 0) })
    }

    fn one_hot_labels(&self) -> Option<Tensor<2>> {
        Some(self.labels.clone())
    }

    fn images(&self) -> Option<Tensor<4>> {
        Some(self.images.clone())
    }

    fn to_data(&self) -> Vec<TensorData> {
        vec![self.images.to_data(), self.labels.to_data()]
    }

    fn from_data(&self, data: &mut dyn Iterator<Item = TensorData>, device: &Device) -> Result<Self> {
        let images = Tensor::from_data(next_data(data)?, device);
        Self::new(images, Tensor::from_data(next_data(data)?, device))
    }
}

/// One-hot rows `[batch, classes]` of class ids `[batch]` (ids outside `0..classes` give a
/// row of zeros).
///
/// ```
/// use burn::prelude::*;
/// let ids = Tensor::<1, Int>::from_ints([2, 0], &Device::default());
/// let rows = rgan::model::one_hot(ids, 3);
/// assert_eq!(rows.into_data().to_vec::<f32>().unwrap(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// ```
pub fn one_hot(ids: Tensor<1, Int>, classes: usize) -> Tensor<2> {
    let n = ids.dims()[0];
    let device = ids.device();
    let columns = Tensor::<1, Int>::arange(0..classes as i64, &device).reshape([1, classes]).expand([n, classes]);
    ids.reshape([n, 1]).expand([n, classes]).equal(columns).float()
}

/// Reads class ids and checks each lies in `0..classes`; `what` names them in errors.
pub(crate) fn class_ids(labels: Tensor<1, Int>, classes: usize, what: &str) -> Result<Vec<i64>> {
    let ids: Vec<i64> = labels
        .into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .map_err(|e| RganError::invalid(what, format!("cannot be read: {e:?}")))?;
    if let Some(bad) = ids.iter().find(|&&id| id < 0 || id as usize >= classes) {
        return Err(RganError::invalid(what, format!("hold class {bad} but the networks take {classes} classes")));
    }
    Ok(ids)
}

/// How noise-driven generator inputs are drawn (TF-GAN's MNIST input pipeline and
/// `get_infogan_noise`): N(0, 1) noise of `noise_dims`, the batch's one-hot labels when the
/// networks take `num_classes` classes, and InfoGAN's codes (a uniform category of
/// `categorical_dim`, `continuous_dim` U(-1, 1) values).
///
/// ```
/// use burn::prelude::*;
/// use rgan::model::NoiseInputs;
/// let spec = NoiseInputs::new(64).with_num_classes(10);
/// let mut rng = rgan::rng::Rng::seed_from_u64(0);
/// let inputs = spec.random(12, 0, &mut rng, &Device::default());
/// assert_eq!((inputs.noise.dims(), inputs.one_hot_labels.unwrap().dims()), ([12, 64], [12, 10]));
/// ```
#[derive(Config, Debug, PartialEq, Eq)]
pub struct NoiseInputs {
    /// The size of the noise vector.
    pub noise_dims: usize,
    /// Classes of the one-hot labels the networks take (0: none). Default 0.
    #[config(default = 0)]
    pub num_classes: usize,
    /// InfoGAN: categories of the categorical code (0: none). Default 0.
    #[config(default = 0)]
    pub categorical_dim: usize,
    /// InfoGAN: the number of continuous codes. Default 0.
    #[config(default = 0)]
    pub continuous_dim: usize,
}

impl NoiseInputs {
    /// InfoGAN's codes for `count` examples: uniform categories, then U(-1, 1) continuous codes.
    fn codes(&self, count: usize, rng: &mut Rng, device: &Device) -> Vec<StructuredInput> {
        let mut codes = Vec::new();
        if self.categorical_dim > 0 {
            let ids: Vec<i64> = (0..count).map(|_| rng.below(self.categorical_dim) as i64).collect();
            codes.push(StructuredInput::ClassIds(Tensor::from_data(TensorData::new(ids, [count]), device)));
        }
        if self.continuous_dim > 0 {
            codes.push(StructuredInput::Values(rng.uniform([count, self.continuous_dim], -1.0, 1.0, device)));
        }
        codes
    }

    /// The inputs of a training batch whose examples have class `labels` `[batch]`: noise, the
    /// labels one-hot (when the networks take labels; an error naming a label out of range), the
    /// codes.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::model::NoiseInputs;
    /// let device = Device::default();
    /// let labels = Tensor::<1, Int>::from_ints([3, 12], &device);
    /// let err = NoiseInputs::new(8).with_num_classes(10).for_batch(labels, &mut rgan::rng::Rng::seed_from_u64(0), &device);
    /// assert!(err.unwrap_err().to_string().contains("class 12"));
    /// ```
    pub fn for_batch(&self, labels: Tensor<1, Int>, rng: &mut Rng, device: &Device) -> Result<GeneratorInputs> {
        let count = labels.dims()[0];
        let mut inputs = GeneratorInputs::noise(rng.normal([count, self.noise_dims], 0.0, 1.0, device));
        if self.num_classes > 0 {
            class_ids(labels.clone(), self.num_classes, "labels")?;
            inputs = inputs.with_labels(one_hot(labels, self.num_classes));
        }
        Ok(inputs.with_structured(self.codes(count, rng, device)))
    }

    /// Fresh inputs for `count` samples: noise, then the codes; labels cycle through the classes
    /// starting at `first_label`, so that every class is drawn equally often.
    pub fn random(&self, count: usize, first_label: usize, rng: &mut Rng, device: &Device) -> GeneratorInputs {
        let mut inputs = GeneratorInputs::noise(rng.normal([count, self.noise_dims], 0.0, 1.0, device));
        if self.num_classes > 0 {
            let ids: Vec<i64> = (first_label..first_label + count).map(|i| (i % self.num_classes) as i64).collect();
            let ids = Tensor::from_data(TensorData::new(ids, [count]), device);
            inputs = inputs.with_labels(one_hot(ids, self.num_classes));
        }
        inputs.with_structured(self.codes(count, rng, device))
    }

    /// The rows of a sample grid: one per class (conditional, ACGAN) or category (InfoGAN),
    /// else `columns`.
    pub fn grid_rows(&self, columns: usize) -> usize {
        if self.num_classes > 0 {
            self.num_classes
        } else if self.categorical_dim > 0 {
            self.categorical_dim
        } else {
            columns
        }
    }

    /// The fixed inputs of a sample grid of [`grid_rows`](Self::grid_rows) rows and `columns`
    /// columns: noise (and continuous codes) drawn from `rng`, the class or category of each row.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::model::NoiseInputs;
    /// let spec = NoiseInputs::new(4).with_num_classes(3);
    /// let grid = spec.grid(2, &mut rgan::rng::Rng::seed_from_u64(0), &Device::default());
    /// let labels = grid.one_hot_labels.unwrap().argmax(1).into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
    /// assert_eq!(labels, vec![0, 0, 1, 1, 2, 2]);
    /// ```
    pub fn grid(&self, columns: usize, rng: &mut Rng, device: &Device) -> GeneratorInputs {
        let n = self.grid_rows(columns) * columns;
        let noise: Vec<f32> = (0..n * self.noise_dims).map(|_| rng.next_normal() as f32).collect();
        let codes: Vec<f32> = (0..n * self.continuous_dim).map(|_| (2.0 * rng.next_f64() - 1.0) as f32).collect();
        let row_ids = |k: usize| -> Tensor<1, Int> {
            let ids: Vec<i64> = (0..n).map(|i| ((i / columns) % k) as i64).collect();
            Tensor::from_data(TensorData::new(ids, [n]), device)
        };
        let mut inputs =
            GeneratorInputs::noise(Tensor::from_data(TensorData::new(noise, [n, self.noise_dims]), device));
        if self.num_classes > 0 {
            inputs = inputs.with_labels(one_hot(row_ids(self.num_classes), self.num_classes));
        }
        if self.categorical_dim > 0 {
            inputs.structured.push(StructuredInput::ClassIds(row_ids(self.categorical_dim)));
        }
        if self.continuous_dim > 0 {
            let codes = TensorData::new(codes, [n, self.continuous_dim]);
            inputs.structured.push(StructuredInput::Values(Tensor::from_data(codes, device)));
        }
        inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_inputs_round_trip_through_tensor_data() {
        let device = Device::default();
        let spec = NoiseInputs::new(3).with_num_classes(4).with_categorical_dim(5).with_continuous_dim(2);
        let inputs = spec.random(6, 1, &mut Rng::seed_from_u64(1), &device);
        let back = inputs.from_data(&mut inputs.to_data().into_iter(), &device).unwrap();
        assert_eq!(back.to_data().len(), 4);
        for (a, b) in inputs.to_data().iter().zip(back.to_data()) {
            assert_eq!(*a, b);
        }
        let err = inputs.from_data(&mut inputs.to_data().into_iter().take(2), &device).unwrap_err().to_string();
        assert!(err.contains("too few"), "{err}");
        let stacked = inputs.stacked(&inputs).unwrap();
        assert_eq!((stacked.batch_size(), stacked.structured().len()), (12, 2));
        let plain = GeneratorInputs::noise(Tensor::zeros([6, 3], &device));
        assert!(inputs.stacked(&plain).is_err());
    }

    #[test]
    fn images_of_other_shapes_do_not_stack() {
        let device = Device::default();
        let a = Tensor::<4>::zeros([2, 3, 4, 4], &device);
        let err = a.stacked(&Tensor::zeros([2, 1, 4, 4], &device)).unwrap_err().to_string();
        assert!(err.contains("[2, 1, 4, 4]") && err.contains("[2, 3, 4, 4]"), "{err}");
    }
}
