//! SIGINT (Ctrl-C) and SIGTERM (what `kill`, job schedulers and `docker stop` send) stop a run
//! cleanly: the trainer finishes the current step, saves a checkpoint and returns, and `rgan`
//! exits with 128 + the signal's number (130, 143), as a shell reports a process the signal
//! ended, so that a script can tell an interrupted run from a finished one. A second signal
//! exits at once, with the same code, without saving.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

/// The stop flag the trainer polls, and the signal that set it.
pub(crate) struct StopSignals {
    /// Set by the first signal.
    pub flag: Arc<AtomicBool>,
    signal: Arc<AtomicI32>,
}

impl StopSignals {
    /// Installs the handlers (SIGINT and SIGTERM on Unix; Ctrl-C elsewhere).
    pub fn install() -> Result<Self> {
        let flag = Arc::new(AtomicBool::new(false));
        let signal = Arc::new(AtomicI32::new(0));
        for sig in stop_signals() {
            // Registered first, so that it sees the flag as the previous signal left it: a
            // second signal exits at once.
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, flag.clone())
                .with_context(|| format!("installing the handler of signal {sig}"))?;
            let seen = signal.clone();
            // SAFETY: the action only stores to an atomic, which is async-signal-safe.
            unsafe { signal_hook::low_level::register(sig, move || seen.store(sig, Ordering::SeqCst)) }
                .with_context(|| format!("installing the handler of signal {sig}"))?;
            signal_hook::flag::register(sig, flag.clone())
                .with_context(|| format!("installing the handler of signal {sig}"))?;
        }
        // Signal handlers cannot print: a watcher says what happens next.
        let (watched, which) = (flag.clone(), signal.clone());
        std::thread::spawn(move || {
            while !watched.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
            }
            eprintln!(
                "\n{}: saving a checkpoint after this step (send it again to quit at once, without saving)",
                name(which.load(Ordering::SeqCst))
            );
        });
        Ok(Self { flag, signal })
    }

    /// The exit code for a run that a signal stopped (128 + its number), `None` if none did.
    pub fn exit_code(&self) -> Option<i32> {
        let sig = self.signal.load(Ordering::SeqCst);
        (self.flag.load(Ordering::SeqCst) && sig > 0).then_some(128 + sig)
    }
}

#[cfg(unix)]
fn stop_signals() -> [i32; 2] {
    [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]
}

#[cfg(not(unix))]
fn stop_signals() -> [i32; 1] {
    [signal_hook::consts::SIGINT]
}

fn name(sig: i32) -> &'static str {
    match sig {
        signal_hook::consts::SIGINT => "Ctrl-C (SIGINT)",
        #[cfg(unix)]
        signal_hook::consts::SIGTERM => "SIGTERM",
        _ => "a stop signal",
    }
}
