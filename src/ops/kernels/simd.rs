//! The vector instructions rgan's hand-written kernels use, chosen at run time: AVX-512 or
//! AVX2 with FMA (a binary must run on processors with either).
//!
//! Each kernel is written once, generic over [`Simd`], and compiled inside a
//! `#[target_feature]` function per instruction set; every method is `#[inline(always)]` so that
//! it compiles with its caller's instructions.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::sync::OnceLock;

/// The instruction set the kernels run with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Isa {
    Avx512,
    Avx2,
    None,
}

/// The best instruction set this processor has, found once; `RGAN_CPU_CAPABILITY` (`avx512`,
/// `avx2` or `default`, as PyTorch's `ATEN_CPU_CAPABILITY`) caps it, to compare the kernels or
/// to rule them out (`default` leaves every product to gemm and the scalar loops).
pub(super) fn detected() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let cap = std::env::var("RGAN_CPU_CAPABILITY").unwrap_or_default().to_ascii_lowercase();
        if cap == "default" || cap == "none" {
            return Isa::None;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if cap != "avx2" && is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::None
    })
}

/// A loop nest that [`vectorize`] runs compiled for the detected instruction set. Its `run` is
/// `#[inline(always)]`, so it compiles inside `vectorize`'s `#[target_feature]` functions (a
/// closure given to a thread pool would compile on its own, for SSE2).
pub(super) trait Vectorizable {
    type Output;
    fn run(self) -> Self::Output;
}

/// Runs `kernel` compiled for AVX-512 or AVX2 where the processor has it: its plain loops
/// vectorize at that width, with the same values (no product and sum is contracted into a fused
/// multiply-add).
pub(super) fn vectorize<K: Vectorizable>(kernel: K) -> K::Output {
    match detected() {
        // SAFETY: the instruction set was detected.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { run_avx512(kernel) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { run_avx2(kernel) },
        _ => kernel.run(),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
unsafe fn run_avx512<K: Vectorizable>(kernel: K) -> K::Output {
    kernel.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<K: Vectorizable>(kernel: K) -> K::Output {
    kernel.run()
}

/// Runs `f` through [`vectorize`]: for a closure small enough to be inlined into it, such as a
/// call to an `#[inline(always)]` loop (Adam's step).
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    vectorize(Closure(f))
}

struct Closure<F>(F);

impl<R, F: FnOnce() -> R> Vectorizable for Closure<F> {
    type Output = R;

    #[inline(always)]
    fn run(self) -> R {
        (self.0)()
    }
}

/// One instruction set's vector of f32 lanes. Every method is `#[inline(always)]`, so that it
/// compiles inside the `#[target_feature]` function that calls it.
#[cfg(target_arch = "x86_64")]
pub(super) trait Simd {
    const LANES: usize;
    /// Rows of the rows-contiguous kernel's register tile (its columns are three vectors).
    const PANEL_ROWS: usize;
    type V: Copy;
    /// A choice of lanes, for [`Simd::load_masked`].
    type Mask: Copy;
    unsafe fn zero() -> Self::V;
    unsafe fn splat(p: *const f32) -> Self::V;
    unsafe fn load(p: *const f32) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    /// The first `len < LANES` values at `p`, the other lanes zero.
    unsafe fn load_part(p: *const f32, len: usize) -> Self::V;
    /// Stores the first `len < LANES` lanes at `p`.
    unsafe fn store_part(p: *mut f32, len: usize, v: Self::V);
    /// The lanes `j` for which `valid(j)`.
    unsafe fn mask(valid: impl Fn(usize) -> bool) -> Self::Mask;
    /// The values at `p` in the mask's lanes, zero in the others; the others' addresses are not
    /// read, so they may lie outside any buffer.
    unsafe fn load_masked(p: *const f32, mask: Self::Mask) -> Self::V;
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn sum(v: Self::V) -> f32;
}

#[cfg(target_arch = "x86_64")]
pub(super) struct Avx512;

#[cfg(target_arch = "x86_64")]
impl Simd for Avx512 {
    const LANES: usize = 16;
    const PANEL_ROWS: usize = 8;
    type V = __m512;
    type Mask = u16;
    #[inline(always)]
    unsafe fn zero() -> __m512 {
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> __m512 {
        unsafe { _mm512_set1_ps(*p) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        unsafe { _mm512_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn load_part(p: *const f32, len: usize) -> __m512 {
        unsafe { _mm512_maskz_loadu_ps(((1u32 << len) - 1) as u16, p) }
    }
    #[inline(always)]
    unsafe fn store_part(p: *mut f32, len: usize, v: __m512) {
        unsafe { _mm512_mask_storeu_ps(p, ((1u32 << len) - 1) as u16, v) }
    }
    #[inline(always)]
    unsafe fn mask(valid: impl Fn(usize) -> bool) -> u16 {
        (0..16).filter(|&j| valid(j)).fold(0, |mask, j| mask | (1 << j))
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f32, mask: u16) -> __m512 {
        unsafe { _mm512_maskz_loadu_ps(mask, p) }
    }
    #[inline(always)]
    unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn sum(v: __m512) -> f32 {
        unsafe { _mm512_reduce_add_ps(v) }
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Simd for Avx2 {
    const LANES: usize = 8;
    const PANEL_ROWS: usize = 4;
    type V = __m256;
    type Mask = __m256i;
    #[inline(always)]
    unsafe fn zero() -> __m256 {
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> __m256 {
        unsafe { _mm256_broadcast_ss(&*p) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m256) {
        unsafe { _mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn load_part(p: *const f32, len: usize) -> __m256 {
        unsafe { _mm256_maskload_ps(p, avx2_mask(len)) }
    }
    #[inline(always)]
    unsafe fn store_part(p: *mut f32, len: usize, v: __m256) {
        unsafe { _mm256_maskstore_ps(p, avx2_mask(len), v) }
    }
    #[inline(always)]
    unsafe fn mask(valid: impl Fn(usize) -> bool) -> __m256i {
        let lanes: [i32; 8] = std::array::from_fn(|j| if valid(j) { -1 } else { 0 });
        unsafe { _mm256_loadu_si256(lanes.as_ptr().cast()) }
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f32, mask: __m256i) -> __m256 {
        unsafe { _mm256_maskload_ps(p, mask) }
    }
    #[inline(always)]
    unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn sum(v: __m256) -> f32 {
        unsafe {
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
            _mm_cvtss_f32(s)
        }
    }
}

/// The AVX2 mask of the first `len` lanes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn avx2_mask(len: usize) -> __m256i {
    unsafe { _mm256_cmpgt_epi32(_mm256_set1_epi32(len as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)) }
}
