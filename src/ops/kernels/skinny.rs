//! Products of a few rows (a batch) against a large matrix (a dense layer's weight), in AVX-512
//! or AVX2 chosen at run time.
//!
//! Written by hand because gemm packs the whole of the large operand into its own layout for
//! every call; for 32 rows that costs about as much as the arithmetic. Here the large matrix is
//! read once, in place or one row segment at a time, and every row of the batch uses each value
//! while it is in the L1 or L2 cache. Two layouts of the large matrix `b` (`[k, n]`):
//! - *rows contiguous* (`x · W`): blocks of `kc` rows are copied into a buffer, and a register
//!   tile of 8 rows × 48 columns (AVX2: 4 × 24) multiplies broadcast batch values by vectors of
//!   the buffer's rows;
//! - *columns contiguous* (`g · Wᵀ`, the input gradient): each column of `b` is a row of `W`, read
//!   in place; a tile of 12 columns × 32 batch rows (AVX2: 3 × 32) multiplies broadcast values of
//!   `W` by vectors of the batch's transpose.
//!
//! A weight gradient `xᵀ · g` (many rows, an inner dimension of one batch) runs the first kernel
//! with the threads taking blocks of rows, and a matrix-vector product the transposed problem.
//!
//! Every output is computed whole by one thread, in an order fixed by the shapes alone, so a
//! result does not depend on how the work is split over threads.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{_MM_HINT_T1, _mm_prefetch};
#[cfg(target_arch = "x86_64")]
use std::cell::RefCell;

use super::gemm::{Matrix, OutPtr, for_each_index, threads};
#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512, Simd};
use super::simd::{Isa, detected};

/// The most batch rows these kernels take; larger products go to gemm.
const MAX_ROWS: usize = 64;

/// The least `n · k` (the large matrix's size) worth these kernels.
const MIN_LARGE: usize = 1 << 16;

/// Multiply-adds per thread below which one thread computes the whole product.
const PARALLEL_WORK: usize = 1 << 21;

/// `[m, k] · [k, n]` as a row-major `[m, n]`, or `None` where gemm is the better choice: more
/// than [`MAX_ROWS`] rows with a longer inner dimension, a small product, no AVX2, or a large
/// matrix with no contiguous direction.
pub(super) fn product(m: usize, n: usize, k: usize, a: Matrix, b: Matrix) -> Option<Vec<f32>> {
    product_with(detected(), m, n, k, a, b)
}

pub(super) fn product_with(isa: Isa, m: usize, n: usize, k: usize, a: Matrix, b: Matrix) -> Option<Vec<f32>> {
    if isa == Isa::None || k == 0 {
        return None;
    }
    let contiguous = |b: Matrix| b.col_stride == 1 || b.row_stride == 1;
    if m <= MAX_ROWS && n >= 16 && n.saturating_mul(k) >= MIN_LARGE && contiguous(b) {
        return Some(rows_times_large(isa, m, n, k, a, b));
    }
    // A weight gradient `xᵀ · g` over a batch: many rows, a short inner dimension.
    if m > MAX_ROWS && k <= MAX_ROWS && n >= 16 && m.saturating_mul(n) >= MIN_LARGE && b.col_stride == 1 {
        return Some(rows_times_large(isa, m, n, k, a, b));
    }
    // A matrix-vector product `W · v` is `(vᵀ · Wᵀ)ᵀ`, and a `[m, 1]` result has the layout of
    // its `[1, m]` transpose.
    if n == 1 && m >= 16 && m.saturating_mul(k) >= MIN_LARGE && contiguous(a) {
        return Some(rows_times_large(isa, 1, m, k, b.t(), a.t()));
    }
    None
}

/// The `[m, n]` product, its columns (or, for many rows, its rows) split over the thread pool.
fn rows_times_large(isa: Isa, m: usize, n: usize, k: usize, a: Matrix, b: Matrix) -> Vec<f32> {
    let mut out: Vec<f32> = Vec::with_capacity(m * n);
    let c = OutPtr(out.as_mut_ptr());
    let lanes = if isa == Isa::Avx512 { 16 } else { 8 };
    let by_columns = b.col_stride != 1;
    // For the columns-contiguous kernel: `a` transposed, `[k, mp]`, zero-padded to whole vectors.
    let padded = m.next_multiple_of(lanes);
    let mut at = Vec::new();
    if by_columns && m > 1 {
        at = vec![0f32; k * padded];
        for (p, row) in at.chunks_exact_mut(padded).enumerate() {
            for (i, value) in row[..m].iter_mut().enumerate() {
                // SAFETY: `(i, p)` is inside `a`'s `[m, k]` shape.
                *value = unsafe { *a.at(i, p) };
            }
        }
    }
    let at = Matrix { ptr: at.as_ptr(), row_stride: padded as isize, col_stride: 1 };
    // Threads take blocks of columns, or, when there are many rows, blocks of rows.
    let by_rows = m > MAX_ROWS;
    let along = if by_rows { m } else { n };
    let blocks = if m * n * k < PARALLEL_WORK { 1 } else { threads().min(along.div_ceil(48)) };
    let block = along.div_ceil(blocks).next_multiple_of(48);
    for_each_index(blocks, |t| {
        let (c, a, at, b) = (c, a, at, b);
        let start = t * block;
        if start >= along {
            return;
        }
        let end = (start + block).min(along);
        let (rows, a, c, columns) = if by_rows {
            // SAFETY: row `start` is inside `a` and `c`.
            (end - start, Matrix { ptr: unsafe { a.at(start, 0) }, ..a }, OutPtr(c.at(start * n)), 0..n)
        } else {
            (m, a, c, start..end)
        };
        // SAFETY: this block's outputs (its columns of every row, or every column of its rows)
        // are disjoint from every other block's and inside `out`'s capacity; the views are valid
        // for their shapes, and the instruction set was detected.
        unsafe {
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => block_avx512(rows, k, a, at, b, c, n, columns),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => block_avx2(rows, k, a, at, b, c, n, columns),
                _ => unreachable!("no kernel without AVX2"),
            }
        }
    });
    // SAFETY: the blocks together wrote every one of the `m · n` outputs.
    unsafe { out.set_len(m * n) };
    out
}

/// One thread's block of the product in one instruction set: [`by_panels`] or [`by_columns`],
/// by the layout of `b`.
macro_rules! block_kernel {
    ($name:ident, $simd:ty, $features:literal) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $name(
            m: usize,
            k: usize,
            a: Matrix,
            at: Matrix,
            b: Matrix,
            c: OutPtr,
            ldc: usize,
            columns: std::ops::Range<usize>,
        ) {
            // SAFETY: forwarded from the caller.
            unsafe {
                if b.col_stride == 1 {
                    by_panels::<$simd>(m, k, a, b, c, ldc, columns)
                } else {
                    by_columns::<$simd>(m, k, a, at, b, c, ldc, columns)
                }
            }
        }
    };
}

block_kernel!(block_avx512, Avx512, "avx512f");
block_kernel!(block_avx2, Avx2, "avx2,fma");

#[cfg(target_arch = "x86_64")]
thread_local! {
    /// Each thread's copy of a block of the large matrix's rows (rows-contiguous kernel).
    static ROWS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `c[r, ·] (+)= Σ_p a[p·R + r] · b[p, ·]` for `R` rows and `V` whole vectors of columns, with
/// `a` packed (each `p`'s `R` values together) and `b`'s rows `b_stride` apart; while `prefetch`
/// is set, also asks for the same columns of the block after this one (`prefetch.1` apart).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn panel_tile<S: Simd, const R: usize, const V: usize>(
    a: *const f32,
    kc: usize,
    b: *const f32,
    b_stride: usize,
    c: *mut f32,
    c_stride: usize,
    accumulate: bool,
    prefetch: Option<(*const f32, usize)>,
) {
    // SAFETY: the caller guarantees `a`, `b` and `c` are valid for the tile's reads and writes.
    unsafe {
        let l = S::LANES;
        let mut acc = [[S::zero(); V]; R];
        if accumulate {
            for (r, row) in acc.iter_mut().enumerate() {
                for (v, value) in row.iter_mut().enumerate() {
                    *value = S::load(c.add(r * c_stride + v * l));
                }
            }
        }
        for p in 0..kc {
            let row = b.add(p * b_stride);
            if let Some((next, stride)) = prefetch {
                for v in 0..V {
                    _mm_prefetch::<_MM_HINT_T1>(next.wrapping_add(p * stride + v * l) as *const i8);
                }
            }
            let mut bv = [S::zero(); V];
            for (v, value) in bv.iter_mut().enumerate() {
                *value = S::load(row.add(v * l));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let x = S::splat(a.add(p * R + r));
                for (value, b) in row.iter_mut().zip(bv) {
                    *value = S::fma(x, b, *value);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (v, value) in row.iter().enumerate() {
                S::store(c.add(r * c_stride + v * l), *value);
            }
        }
    }
}

/// [`panel_tile`] for a tile of which only the first `width` columns lie in `c`, through a
/// full-width scratch tile.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn panel_tile_part<S: Simd, const R: usize, const V: usize>(
    a: *const f32,
    kc: usize,
    b: *const f32,
    b_stride: usize,
    c: *mut f32,
    c_stride: usize,
    width: usize,
    accumulate: bool,
    prefetch: Option<(*const f32, usize)>,
) {
    // SAFETY: as for `panel_tile`, with `c` valid for `width` columns of `R` rows.
    unsafe {
        let w = V * S::LANES;
        if width == w {
            return panel_tile::<S, R, V>(a, kc, b, b_stride, c, c_stride, accumulate, prefetch);
        }
        let mut scratch = [0f32; 8 * 8 * 16];
        if accumulate {
            for r in 0..R {
                std::ptr::copy_nonoverlapping(c.add(r * c_stride), scratch.as_mut_ptr().add(r * w), width);
            }
        }
        panel_tile::<S, R, V>(a, kc, b, b_stride, scratch.as_mut_ptr(), w, accumulate, prefetch);
        for r in 0..R {
            std::ptr::copy_nonoverlapping(scratch.as_ptr().add(r * w), c.add(r * c_stride), width);
        }
    }
}

/// Columns `columns` of `c = a · b` for a `b` whose rows are contiguous.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn by_panels<S: Simd>(
    m: usize,
    k: usize,
    a: Matrix,
    b: Matrix,
    c: OutPtr,
    ldc: usize,
    columns: std::ops::Range<usize>,
) {
    // SAFETY: the caller guarantees the views cover `[m, k]` and `[k, n]` and that `c`'s columns
    // `columns` are this call's to write.
    unsafe {
        let (l, rb) = (S::LANES, S::PANEL_ROWS);
        let (j0, j1) = (columns.start, columns.end);
        if m == 1 {
            // One row uses each value of `b` once: `b` is streamed row by row, in place, into
            // sums that stay in L1.
            let width = j1 - j0;
            let whole = width / l * l;
            let mut sums = vec![0f32; width];
            for p in 0..k {
                let x = *a.at(0, p);
                let (splat, row) = (S::splat(&x), b.at(p, j0));
                for v in (0..whole).step_by(l) {
                    let sum = sums.as_mut_ptr().add(v);
                    S::store(sum, S::fma(splat, S::load(row.add(v)), S::load(sum)));
                }
                for (q, sum) in sums.iter_mut().enumerate().skip(whole) {
                    *sum = x.mul_add(*row.add(q), *sum);
                }
            }
            std::ptr::copy_nonoverlapping(sums.as_ptr(), c.at(j0), width);
            return;
        }
        let w = 3 * l;
        let panels = (j1 - j0).div_ceil(w);
        // Blocks of `kc` rows are copied, one row segment at a time, into a buffer whose rows are
        // a whole number of panels plus one vector long (rows of a weight with 1024 columns are
        // 4 KB apart, and would all fall on the same cache sets). It stays within L2.
        let stride = panels * w + l;
        let kc = ((1usize << 16) / stride).clamp(16, 128).min(k);
        let mut buf = ROWS.take();
        if buf.len() < kc * stride {
            buf.resize(kc * stride, 0.0);
        }
        let mut packed = Vec::with_capacity(m * kc);
        let full = m / rb * rb;
        let mut p0 = 0;
        while p0 < k {
            let kk = kc.min(k - p0);
            for p in 0..kk {
                std::ptr::copy_nonoverlapping(b.at(p0 + p, j0), buf.as_mut_ptr().add(p * stride), j1 - j0);
            }
            // Columns p0..p0+kk of `a`, in blocks of `rb` rows with each column's values together.
            packed.clear();
            for i0 in (0..full).step_by(rb) {
                for p in p0..p0 + kk {
                    packed.extend((i0..i0 + rb).map(|i| *a.at(i, p)));
                }
            }
            for i in full..m {
                packed.extend((p0..p0 + kk).map(|p| *a.at(i, p)));
            }
            // While the first rows' tiles run, the next block's rows are fetched into L2.
            let next = (p0 + 2 * kk <= k).then(|| b.at(p0 + kk, 0));
            // A batch's few rows run panel by panel (each panel stays in L1 for all of them);
            // many rows run row block by row block, so the output is written in row order.
            let (blocks, singles) = (full / rb, m - full);
            let tiles = panels * (blocks + singles);
            for t in 0..tiles {
                let (q, block) = if m > MAX_ROWS {
                    (t % panels, t / panels)
                } else {
                    (t / (blocks + singles), t % (blocks + singles))
                };
                let panel = buf.as_ptr().add(q * w);
                let col = j0 + q * w;
                let width = w.min(j1 - col);
                if block < blocks {
                    let i = block * rb;
                    let (rows, out) = (packed.as_ptr().add(i * kk), c.at(i * ldc + col));
                    let prefetch = next.filter(|_| i == 0).map(|next| (next.wrapping_add(col), b.row_stride as usize));
                    if rb == 8 {
                        panel_tile_part::<S, 8, 3>(rows, kk, panel, stride, out, ldc, width, p0 > 0, prefetch);
                    } else {
                        panel_tile_part::<S, 4, 3>(rows, kk, panel, stride, out, ldc, width, p0 > 0, prefetch);
                    }
                } else {
                    let i = full + block - blocks;
                    let (rows, out) = (packed.as_ptr().add(i * kk), c.at(i * ldc + col));
                    panel_tile_part::<S, 1, 3>(rows, kk, panel, stride, out, ldc, width, p0 > 0, None);
                }
            }
            p0 += kk;
        }
        ROWS.set(buf);
    }
}

/// `c[i, r] = Σ_p at[p, i] · b[p, r]` for `R` columns of `b`, each contiguous over `p` and `ldb`
/// apart, and the `V` vectors of `at`'s zero-padded rows; only the first `m` rows are stored.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn column_tile<S: Simd, const R: usize, const V: usize>(
    at: *const f32,
    k: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    m: usize,
) {
    // SAFETY: the caller guarantees `at` holds `[k, V·LANES]`, `b` `R` columns of `k` values, and
    // `c` `m` rows of `R` columns.
    unsafe {
        let l = S::LANES;
        let mut acc = [[S::zero(); V]; R];
        for p in 0..k {
            let mut av = [S::zero(); V];
            for (v, value) in av.iter_mut().enumerate() {
                *value = S::load(at.add(p * V * l + v * l));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let x = S::splat(b.add(r * ldb + p));
                for (value, a) in row.iter_mut().zip(av) {
                    *value = S::fma(x, a, *value);
                }
            }
        }
        let mut spill = [0f32; 16];
        for (r, row) in acc.iter().enumerate() {
            for (v, value) in row.iter().enumerate() {
                S::store(spill.as_mut_ptr(), *value);
                for (q, value) in spill.iter().enumerate().take(l.min(m.saturating_sub(v * l))) {
                    *c.add((v * l + q) * ldc + r) = *value;
                }
            }
        }
    }
}

/// `c[r] = Σ_p a[p] · b[p, r]` for `R` columns of `b`, each contiguous over `p`: dot products.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn dot_tile<S: Simd, const R: usize>(a: *const f32, k: usize, b: *const f32, ldb: usize, c: *mut f32) {
    // SAFETY: the caller guarantees `a` holds `k` values, `b` `R` columns of `k`, `c` `R` values.
    unsafe {
        let l = S::LANES;
        let mut acc = [S::zero(); R];
        let mut p = 0;
        while p + l <= k {
            let x = S::load(a.add(p));
            for (r, value) in acc.iter_mut().enumerate() {
                *value = S::fma(x, S::load(b.add(r * ldb + p)), *value);
            }
            p += l;
        }
        for (r, value) in acc.iter().enumerate() {
            let mut sum = S::sum(*value);
            for q in p..k {
                sum += *a.add(q) * *b.add(r * ldb + q);
            }
            *c.add(r) = sum;
        }
    }
}

/// Columns `columns` of `c` by [`column_tile`]s of `R` columns, then single columns.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn column_tiles<S: Simd, const R: usize, const V: usize>(
    at: *const f32,
    k: usize,
    b: *const f32,
    ldb: usize,
    c: OutPtr,
    ldc: usize,
    m: usize,
    columns: std::ops::Range<usize>,
) {
    // SAFETY: forwarded from `by_columns`.
    unsafe {
        let mut j = columns.start;
        while j + R <= columns.end {
            column_tile::<S, R, V>(at, k, b.add(j * ldb), ldb, c.at(j), ldc, m);
            j += R;
        }
        while j < columns.end {
            column_tile::<S, 1, V>(at, k, b.add(j * ldb), ldb, c.at(j), ldc, m);
            j += 1;
        }
    }
}

/// Columns `columns` of `c = a · b` for a `b` whose columns are contiguous, with `at` the
/// zero-padded transpose of `a`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn by_columns<S: Simd>(
    m: usize,
    k: usize,
    a: Matrix,
    at: Matrix,
    b: Matrix,
    c: OutPtr,
    ldc: usize,
    columns: std::ops::Range<usize>,
) {
    // SAFETY: as for `by_panels`, with `at` holding `[k, m.next_multiple_of(LANES)]`.
    unsafe {
        let ldb = b.col_stride as usize;
        let (at, b) = (at.ptr, b.ptr);
        if m == 1 {
            let row: Vec<f32> = (0..k).map(|p| *a.at(0, p)).collect();
            let mut j = columns.start;
            while j + 4 <= columns.end {
                dot_tile::<S, 4>(row.as_ptr(), k, b.add(j * ldb), ldb, c.at(j));
                j += 4;
            }
            while j < columns.end {
                dot_tile::<S, 1>(row.as_ptr(), k, b.add(j * ldb), ldb, c.at(j));
                j += 1;
            }
            return;
        }
        // Tiles of at most 24 (AVX2: 12) accumulator registers.
        let vectors = m.div_ceil(S::LANES);
        match (S::LANES, vectors) {
            (16, 1) => column_tiles::<S, 24, 1>(at, k, b, ldb, c, ldc, m, columns),
            (16, 2) => column_tiles::<S, 12, 2>(at, k, b, ldb, c, ldc, m, columns),
            (16, 3) => column_tiles::<S, 8, 3>(at, k, b, ldb, c, ldc, m, columns),
            (16, _) => column_tiles::<S, 6, 4>(at, k, b, ldb, c, ldc, m, columns),
            (_, 1) => column_tiles::<S, 12, 1>(at, k, b, ldb, c, ldc, m, columns),
            (_, 2) => column_tiles::<S, 6, 2>(at, k, b, ldb, c, ldc, m, columns),
            (_, 3) => column_tiles::<S, 4, 3>(at, k, b, ldb, c, ldc, m, columns),
            (_, 4) => column_tiles::<S, 3, 4>(at, k, b, ldb, c, ldc, m, columns),
            (_, 5 | 6) => column_tiles::<S, 2, 6>(at, k, b, ldb, c, ldc, m, columns),
            _ => column_tiles::<S, 1, 8>(at, k, b, ldb, c, ldc, m, columns),
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// `[m, k] · [k, n]` in f64, from views.
    fn reference(m: usize, n: usize, k: usize, a: Matrix, b: Matrix) -> Vec<f64> {
        let mut out = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] =
                    (0..k).map(|p| unsafe { f64::from(*a.at(i, p)) * f64::from(*b.at(p, j)) }).sum::<f64>();
            }
        }
        out
    }

    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    fn isas() -> Vec<Isa> {
        let mut isas = Vec::new();
        if is_x86_feature_detected!("avx512f") {
            isas.push(Isa::Avx512);
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            isas.push(Isa::Avx2);
        }
        isas
    }

    /// Every row count the tiles split differently, both layouts of the large matrix, a
    /// transposed batch, column counts off the panel and tile widths, and more rows of `b` than
    /// one copied block.
    #[test]
    fn matches_an_f64_product_in_every_layout() {
        for isa in isas() {
            for &(m, n, k) in
                &[(1, 100, 700), (3, 300, 257), (8, 48, 1400), (13, 1000, 300), (32, 517, 260), (64, 129, 600)]
            {
                let a_data = values(m * k, 1);
                let b_data = values(k * n, 2);
                let a_rows = Matrix { ptr: a_data.as_ptr(), row_stride: k as isize, col_stride: 1 };
                let a_cols = Matrix { ptr: a_data.as_ptr(), row_stride: 1, col_stride: m as isize };
                let b_rows = Matrix { ptr: b_data.as_ptr(), row_stride: n as isize, col_stride: 1 };
                let b_cols = Matrix { ptr: b_data.as_ptr(), row_stride: 1, col_stride: k as isize };
                for (a, b, case) in
                    [(a_rows, b_rows, "rows"), (a_cols, b_rows, "a transposed"), (a_rows, b_cols, "b columns")]
                {
                    let got = product_with(isa, m, n, k, a, b).expect("a skinny product");
                    let want = reference(m, n, k, a, b);
                    for (index, (got, want)) in got.iter().zip(&want).enumerate() {
                        let tolerance = 1e-5 * (k as f64).sqrt();
                        assert!(
                            (f64::from(*got) - want).abs() <= tolerance,
                            "{isa:?} {case} {m}x{k}x{n}: output {index} is {got}, f64 gives {want}"
                        );
                    }
                }
            }
        }
    }

    /// A weight gradient `xᵀ · g`: many rows, a short inner dimension, split over threads by rows.
    #[test]
    fn many_rows_with_a_short_inner_dimension_match_an_f64_product() {
        for isa in isas() {
            for &(m, n, k) in &[(300, 517, 33), (1000, 100, 7), (65, 1030, 64)] {
                let a_data = values(m * k, 6);
                let b_data = values(k * n, 7);
                let b = Matrix { ptr: b_data.as_ptr(), row_stride: n as isize, col_stride: 1 };
                for a in [
                    Matrix { ptr: a_data.as_ptr(), row_stride: k as isize, col_stride: 1 },
                    Matrix { ptr: a_data.as_ptr(), row_stride: 1, col_stride: m as isize },
                ] {
                    let got = product_with(isa, m, n, k, a, b).expect("a weight-gradient product");
                    let want = reference(m, n, k, a, b);
                    for (index, (got, want)) in got.iter().zip(&want).enumerate() {
                        assert!(
                            (f64::from(*got) - want).abs() <= 1e-4,
                            "{isa:?} {m}x{k}x{n}: output {index} is {got}, f64 gives {want}"
                        );
                    }
                }
            }
        }
    }

    /// `W · v` and `Wᵀ · u`, the power iteration's products, through the transposed problem.
    #[test]
    fn matrix_vector_products_use_the_transposed_problem() {
        for isa in isas() {
            let (rows, cols) = (300, 517);
            let w = values(rows * cols, 3);
            let x = values(rows.max(cols), 4);
            let w_rows = Matrix { ptr: w.as_ptr(), row_stride: cols as isize, col_stride: 1 };
            let vector = Matrix { ptr: x.as_ptr(), row_stride: 1, col_stride: 1 };
            for (a, m, k) in [(w_rows, rows, cols), (w_rows.t(), cols, rows)] {
                let got = product_with(isa, m, 1, k, a, vector).expect("a matrix-vector product");
                let want = reference(m, 1, k, a, vector);
                for (got, want) in got.iter().zip(&want) {
                    assert!((f64::from(*got) - want).abs() <= 1e-4, "{isa:?} {m}x{k}: {got} against {want}");
                }
            }
        }
    }

    #[test]
    fn small_or_many_row_products_are_left_to_gemm() {
        let data = values(200 * 200, 5);
        let view = Matrix { ptr: data.as_ptr(), row_stride: 200, col_stride: 1 };
        assert!(product_with(Isa::Avx2, 32, 100, 100, view, view).is_none(), "b below MIN_LARGE");
        assert!(product_with(Isa::Avx2, 100, 200, 200, view, view).is_none(), "more than MAX_ROWS rows");
        assert!(product_with(Isa::None, 32, 200, 200, view, view).is_none(), "no AVX2");
    }
}
