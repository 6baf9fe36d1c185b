//! Single-threaded gemm calls on strided f32 views, and the split of a product over threads.
//!
//! Written here rather than left to burn-flex because flex zero-fills and then copies every
//! product's buffer before gemm writes it (two extra passes over a 25 MB weight gradient), and
//! hands gemm the whole thread pool, which for a 32-row product splits the work into chunks too
//! small to pay for their packing. Here gemm writes into a fresh buffer, and the output is cut
//! into one block of columns (or rows) per thread, each a single-threaded gemm.

/// A strided f32 matrix view: element `(i, j)` is at `ptr + i·row_stride + j·col_stride`.
#[derive(Clone, Copy)]
pub(super) struct Matrix {
    pub ptr: *const f32,
    pub row_stride: isize,
    pub col_stride: isize,
}

// SAFETY: the views are only read, while the buffers they point into are alive (every kernel
// holds the tensors that own them until it returns).
unsafe impl Send for Matrix {}
unsafe impl Sync for Matrix {}

impl Matrix {
    /// A row-major `[rows, cols]` matrix at the start of `data`.
    pub fn row_major(data: &[f32], cols: usize) -> Self {
        Matrix { ptr: data.as_ptr(), row_stride: cols as isize, col_stride: 1 }
    }

    /// The transposed view (no copy).
    pub fn t(self) -> Self {
        Matrix { ptr: self.ptr, row_stride: self.col_stride, col_stride: self.row_stride }
    }

    /// A pointer to element `(i, j)`.
    ///
    /// # Safety
    /// `(i, j)` must lie inside the matrix the view was made from.
    pub unsafe fn at(self, i: usize, j: usize) -> *const f32 {
        // SAFETY: in bounds by the caller's contract.
        unsafe { self.ptr.offset(i as isize * self.row_stride + j as isize * self.col_stride) }
    }

    /// The view starting `rows` rows and `cols` columns further in.
    fn shifted(self, rows: usize, cols: usize) -> Self {
        let offset = self.row_stride * rows as isize + self.col_stride * cols as isize;
        Matrix { ptr: self.ptr.wrapping_offset(offset), ..self }
    }
}

/// A pointer to an output buffer that threads write disjoint parts of.
#[derive(Clone, Copy)]
pub(super) struct OutPtr(pub *mut f32);

// SAFETY: every kernel gives each thread its own disjoint part of the output.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    pub fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// `dst = lhs @ rhs` (or `dst += lhs @ rhs` when `accumulate`) for `lhs` `[m, k]`, `rhs`
/// `[k, n]` and a row-major `dst` with row stride `dst_row_stride`, on the calling thread.
///
/// # Safety
/// `dst` must be valid for writes (and reads when `accumulate`) of the `[m, n]` block, and the
/// views valid for reads of their shapes. Without `accumulate`, `dst` is never read, so it may be
/// uninitialized.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemm_serial(
    dst: *mut f32,
    dst_row_stride: usize,
    accumulate: bool,
    m: usize,
    n: usize,
    k: usize,
    lhs: Matrix,
    rhs: Matrix,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                // SAFETY: row `i` of the `[m, n]` block is within `dst` (caller's contract).
                unsafe { std::slice::from_raw_parts_mut(dst.add(i * dst_row_stride), n).fill(0.0) };
            }
        }
        return;
    }
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.ptr,
            lhs.col_stride,
            lhs.row_stride,
            rhs.ptr,
            rhs.col_stride,
            rhs.row_stride,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Multiply-adds per block of a product that is split over threads (about a millisecond).
const BLOCK_WORK: usize = 1 << 22;

/// The `[m, n]` row-major product of `lhs` `[m, k]` and `rhs` `[k, n]`: by the `skinny` kernels
/// for a few rows against a large matrix (or many rows with a short inner dimension), else by
/// gemm, in blocks of output columns (or rows, when there are more rows) that the threads share.
///
/// The blocks are cut by the shapes alone (gemm's blocking of the inner dimension, and with it
/// the order of each output's sum, can depend on a block's width), so a product is the same bits
/// on any number of threads.
pub(super) fn product(m: usize, n: usize, k: usize, lhs: Matrix, rhs: Matrix) -> Vec<f32> {
    if let Some(out) = super::skinny::product(m, n, k, lhs, rhs) {
        return out;
    }
    let len = m * n;
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let dst = OutPtr(out.as_mut_ptr());
    let split_columns = n >= m;
    let along = if split_columns { n } else { m };
    let blocks = (m.saturating_mul(n).saturating_mul(k) / BLOCK_WORK).clamp(1, along.div_ceil(64).max(1));
    let block = along.div_ceil(blocks).next_multiple_of(16);
    for_each_index(blocks, |b| {
        let start = b * block;
        if start >= along {
            return;
        }
        let size = block.min(along - start);
        // SAFETY: block `b`'s outputs lie inside `out`'s capacity and are disjoint from every
        // other block's; the input views are valid for their shapes.
        unsafe {
            if split_columns {
                gemm_serial(dst.at(start), n, false, m, size, k, lhs, rhs.shifted(0, start));
            } else {
                gemm_serial(dst.at(start * n), n, false, size, n, k, lhs.shifted(start, 0), rhs);
            }
        }
    });
    // SAFETY: the blocks together wrote every one of the `len` outputs.
    unsafe { out.set_len(len) };
    out
}

/// How many threads rayon's current pool has: the most pieces worth cutting output-only work
/// into (the pieces of a sum are cut by the shapes instead, see [`product`]).
pub(super) fn threads() -> usize {
    rayon::current_num_threads().max(1)
}

/// Runs `run(0..count)` over rayon's current pool.
pub(super) fn for_each_index(count: usize, run: impl Fn(usize) + Sync + Send) {
    use rayon::prelude::*;
    if count > 1 && rayon::current_num_threads() > 1 {
        (0..count).into_par_iter().for_each(run);
    } else {
        (0..count).for_each(run);
    }
}
