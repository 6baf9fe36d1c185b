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

/// The lock file's name in a log folder.
pub const LOCK_FILE: &str = "rgan.lock";

/// A log folder held by one run: an advisory lock (`flock` on Unix, `LockFileEx` on Windows,
/// through `std::fs::File::try_lock`) on `<folder>/rgan.lock`, which names the owner (PID, host,
/// start time) for the error a second run gets.
///
/// The operating system drops the lock when its process ends, however it ends (`kill -9`
/// included), so a lock is never stale in the sense of blocking a folder; a lock file still
/// naming an owner that did not release it (a killed run) is taken over with a message
/// ([`FolderLock::taken_over`]). The file itself is never deleted: deleting a lock file races
/// with a process that has opened it and is about to lock it.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("rgan-doc-lock-{}", std::process::id()));
/// let lock = rgan::files::FolderLock::acquire(&dir).unwrap();
/// let err = rgan::files::FolderLock::acquire(&dir).unwrap_err().to_string();
/// assert!(err.contains("is in use by another rgan run") && err.contains(&format!("PID {}", std::process::id())));
/// drop(lock);
/// rgan::files::FolderLock::acquire(&dir).unwrap();
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug)]
pub struct FolderLock {
    file: std::fs::File,
    path: std::path::PathBuf,
    taken_over: Option<String>,
}

/// The name of this machine, for lock files (the kernel's, else `$HOSTNAME`; the standard
/// library has no call for it and one file read does not justify a crate).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "an unknown host".to_string())
}

impl FolderLock {
    /// Locks `dir` (created if needed) for this process, or errors naming the folder and the
    /// run that holds it.
    pub fn acquire(dir: impl AsRef<Path>) -> Result<Self> {
        use std::io::{Read, Seek, Write};
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| RganError::file(dir, format!("cannot create the folder: {e}")))?;
        let path = dir.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| RganError::file(&path, format!("cannot open the log folder's lock file: {e}")))?;
        let mut owner = String::new();
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let _ = file.read_to_string(&mut owner);
                let owner = owner.trim();
                let owner = if owner.is_empty() { "a process that has not written its name yet" } else { owner };
                return Err(RganError::file(
                    dir,
                    format!(
                        "is in use by another rgan run ({owner}): wait for it to end, stop it, or pass another \
                         log folder"
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(RganError::file(&path, format!("cannot lock the log folder: {e}")));
            }
        }
        let _ = file.read_to_string(&mut owner);
        let taken_over = Some(owner.trim().to_string()).filter(|o| !o.is_empty());
        let since =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let me = format!("PID {} on {}, since {since} (Unix time)", std::process::id(), host_name());
        let written = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(me.as_bytes()))
            .and_then(|()| file.flush());
        written.map_err(|e| RganError::file(&path, format!("cannot write the log folder's lock file: {e}")))?;
        Ok(Self { file, path, taken_over })
    }

    /// The owner a killed run left in the lock file, whose lock this one took over (`None` when
    /// the folder was free).
    pub fn taken_over(&self) -> Option<&str> {
        self.taken_over.as_deref()
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FolderLock {
    /// Marks the folder released (an empty lock file); the lock itself goes with the file handle.
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}
