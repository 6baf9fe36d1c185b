//! Allocator settings for the CPU backend.
//!
//! burn-flex allocates and frees a fresh buffer for nearly every tensor op. With glibc's default
//! settings each buffer over 128 KiB is a fresh `mmap` that is `munmap`ed on free, so every step
//! pays the system calls and a page fault per 4 KiB page touched again (a third of the MNIST
//! step's time went to the kernel). Raising the mmap threshold to glibc's maximum (32 MiB, above
//! every activation and weight of the MNIST networks) and keeping freed memory instead of trimming
//! it lets malloc reuse the same pages every step. Measured on the MNIST training step: 1.59 →
//! 1.90 steps/s, and 1.87 → 2.45 with burn's rayon kernels; kernel time 10 s → 1.6 s per 60
//! steps, peak RSS within 10 % (`docs/BENCHMARKS.md`). mimalloc was tried and was slower, with a
//! higher peak RSS.
//!
//! Written here rather than taken from a crate because it is three `mallopt` calls; `libc` provides
//! the bindings.

/// Tunes glibc's malloc for the tensor workload; a no-op on other C libraries.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes malloc's tuning parameters; it is called before any thread
    // other than the main one exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}
