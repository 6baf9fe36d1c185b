//! Files written so that a crash never leaves a half-written one behind.

use std::path::Path;

use crate::error::{Result, RganError};

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename. Creates the
/// parent folder if needed.
///
/// ```
/// let path = std::env::temp_dir().join(format!("rgan-doc-atomic-{}", std::process::id()));
/// rgan::files::write_atomically(&path, b"hello").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| RganError::file(parent, format!("cannot create the folder: {e}")))?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| RganError::file(&tmp, format!("cannot be written: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| RganError::file(path, format!("cannot be replaced: {e}")))
}
