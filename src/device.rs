//! Choosing the compute device by name: `cpu` (burn's flex backend) always, `cuda` and `wgpu`
//! when rgan is built with those cargo features.

use burn::prelude::*;

use crate::error::{Result, RganError};

/// The device named `name`: `cpu`, `cuda` (the first CUDA GPU; feature `cuda`) or `wgpu` (the
/// best adapter wgpu finds; feature `wgpu`). Errors name the feature a build lacks.
///
/// ```
/// assert!(rgan::device::device_by_name("cpu").is_ok());
/// let err = rgan::device::device_by_name("tpu").unwrap_err().to_string();
/// assert!(err.contains("tpu"));
/// ```
pub fn device_by_name(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(cpu()),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(not(feature = "cuda"))]
        "cuda" => Err(missing_feature(name)),
        #[cfg(not(feature = "wgpu"))]
        "wgpu" => Err(missing_feature(name)),
        other => Err(RganError::invalid("device", format!("`{other}` is not one of cpu, cuda, wgpu"))),
    }
}

#[cfg(not(all(feature = "cuda", feature = "wgpu")))]
fn missing_feature(name: &str) -> RganError {
    RganError::invalid("device", format!("`{name}` needs rgan built with `--features {name}` (this build lacks it)"))
}

/// The CPU device (burn's flex backend), even in builds where the default device is a GPU.
#[cfg(feature = "flex")]
fn cpu() -> Device {
    Device::flex()
}

#[cfg(not(feature = "flex"))]
fn cpu() -> Device {
    Device::default()
}
