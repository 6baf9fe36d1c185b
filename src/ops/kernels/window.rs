//! Convolutions as matrix products: im2col, col2im and the three batched products that make a
//! 2-D convolution, its transpose and their gradients.
//!
//! A [`Window`] relates a "big" image to a "small" one: small pixel `(oy, ox)` sees the big pixels
//! `(oy·stride + ky − pad_top, ox·stride + kx − pad_left)` for every kernel offset `(ky, kx)`.
//! A convolution maps big to small ([`lower`]); its transpose maps small to big ([`raise`]); the
//! weight gradient of either is [`weight_grad`]. The weight is the row-major matrix
//! `[small channels, big channels · kh · kw]`, which is burn's conv weight `[out, in, kh, kw]`
//! and its transposed-conv weight `[in, out, kh, kw]` as they are stored.
//!
//! Written here because burn-flex's convolutions zero-fill and copy each output, and its
//! transposed convolution and conv backward run several times slower than these products on the
//! MNIST GAN's layers; no maintained crate offers batched im2col convolutions on plain slices.

use super::gemm::{Matrix, OutPtr, for_each_index, gemm_serial, threads};
#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512, Simd};
use super::simd::{Isa, Vectorizable, detected, vectorize};

/// The geometry of a 2-D convolution between a big and a small image (dilation 1, one group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Vertical and horizontal stride.
    pub stride: [usize; 2],
    /// Padding above and to the left of the big image.
    pub pad: [usize; 2],
    /// Height and width of the big image.
    pub big: [usize; 2],
    /// Height and width of the small image.
    pub small: [usize; 2],
}

impl Window {
    /// Whether im2col is the identity (1×1 kernel, stride 1, no padding): the image is its own
    /// column matrix.
    fn pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.pad == [0, 0] && self.big == self.small
    }

    fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    fn big_len(&self) -> usize {
        self.big[0] * self.big[1]
    }

    fn small_len(&self) -> usize {
        self.small[0] * self.small[1]
    }

    /// The big-image index seen by small index `o` at kernel offset `k` along axis `axis`, if
    /// inside the image.
    #[inline]
    fn source(&self, axis: usize, o: usize, k: usize) -> Option<usize> {
        (o * self.stride[axis] + k).checked_sub(self.pad[axis]).filter(|&i| i < self.big[axis])
    }

    /// The range of small indices along `axis` whose source at offset `k` is inside the image.
    fn valid(&self, axis: usize, k: usize) -> std::ops::Range<usize> {
        let s = self.stride[axis];
        let first = self.pad[axis].saturating_sub(k).div_ceil(s).min(self.small[axis]);
        // Last `o` with o·s + k − pad < big, i.e. o·s < big + pad − k.
        let end = (self.big[axis] + self.pad[axis]).checked_sub(k).map_or(0, |limit| limit.div_ceil(s));
        first..end.min(self.small[axis]).max(first)
    }
}

/// The window's walk, computed once per call: for each kernel column `kx`, the valid small
/// columns and the big column of the first; for each kernel row `ky` and small row `oy`, the big
/// row seen (if inside the image).
struct Walk {
    columns: Vec<(std::ops::Range<usize>, usize)>,
    rows: Vec<Option<usize>>,
}

impl Walk {
    fn new(w: &Window) -> Self {
        let columns = (0..w.kernel[1])
            .map(|kx| {
                let xs = w.valid(1, kx);
                let first = (xs.start * w.stride[1] + kx).saturating_sub(w.pad[1]);
                (xs, first)
            })
            .collect();
        let rows = (0..w.kernel[0]).flat_map(|ky| (0..w.small[0]).map(move |oy| w.source(0, oy, ky))).collect();
        Walk { columns, rows }
    }
}

/// `col[(c, ky, kx), (oy, ox)]` = the big image's pixel seen there, for one image of `channels`
/// channels. Only the pixels inside the image are written: `col` must hold zeros in the padding
/// positions, as a buffer zeroed once and then used only for this window does.
#[inline(always)]
fn im2col(image: &[f32], channels: usize, w: &Window, walk: &Walk, col: &mut [f32]) {
    let [kh, kw] = w.kernel;
    let [sh, sw] = w.small;
    let (plane_len, bw, stride) = (w.big_len(), w.big[1], w.stride[1]);
    let row_len = sh * sw;
    for c in 0..channels {
        let plane = &image[c * plane_len..(c + 1) * plane_len];
        for ky in 0..kh {
            for (oy, iy) in walk.rows[ky * sh..(ky + 1) * sh].iter().enumerate() {
                let Some(iy) = *iy else { continue };
                let src = &plane[iy * bw..(iy + 1) * bw];
                for (kx, (xs, first)) in walk.columns.iter().enumerate() {
                    if xs.is_empty() {
                        continue;
                    }
                    let start = ((c * kh + ky) * kw + kx) * row_len + oy * sw;
                    let out = &mut col[start + xs.start..start + xs.end];
                    if stride == 1 {
                        out.copy_from_slice(&src[*first..first + xs.len()]);
                    } else {
                        let src = &src[*first..=first + (xs.len() - 1) * stride];
                        for (j, o) in out.iter_mut().enumerate() {
                            *o = src[j * stride];
                        }
                    }
                }
            }
        }
    }
}

/// One image's column matrix: the image itself for a pointwise window, else [`im2col`] into
/// `col` (vectorized for the processor).
fn columns<'a>(image: &'a [f32], channels: usize, w: &Window, walk: &Walk, col: &'a mut [f32]) -> &'a [f32] {
    if w.pointwise() {
        return image;
    }
    vectorize(Im2col { image, channels, w, walk, col: &mut *col });
    col
}

/// [`im2col`] as a [`Vectorizable`] kernel.
struct Im2col<'a> {
    image: &'a [f32],
    channels: usize,
    w: &'a Window,
    walk: &'a Walk,
    col: &'a mut [f32],
}

impl Vectorizable for Im2col<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        im2col(self.image, self.channels, self.w, self.walk, self.col);
    }
}

/// [`col2im`] as a [`Vectorizable`] kernel.
struct Col2im<'a> {
    col: &'a [f32],
    channels: usize,
    w: &'a Window,
    walk: &'a Walk,
    image: &'a mut [f32],
}

impl Vectorizable for Col2im<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        col2im(self.col, self.channels, self.w, self.walk, self.image);
    }
}

/// The adjoint of [`im2col`]: `image` = the sum, at each big pixel, of the columns that see it.
#[inline(always)]
fn col2im(col: &[f32], channels: usize, w: &Window, walk: &Walk, image: &mut [f32]) {
    let [kh, kw] = w.kernel;
    let [sh, sw] = w.small;
    let (plane_len, bw, stride) = (w.big_len(), w.big[1], w.stride[1]);
    let row_len = sh * sw;
    image.fill(0.0);
    for c in 0..channels {
        let plane = &mut image[c * plane_len..(c + 1) * plane_len];
        for ky in 0..kh {
            for (oy, iy) in walk.rows[ky * sh..(ky + 1) * sh].iter().enumerate() {
                let Some(iy) = *iy else { continue };
                let dst = &mut plane[iy * bw..(iy + 1) * bw];
                for (kx, (xs, first)) in walk.columns.iter().enumerate() {
                    if xs.is_empty() {
                        continue;
                    }
                    let start = ((c * kh + ky) * kw + kx) * row_len + oy * sw;
                    let src = &col[start + xs.start..start + xs.end];
                    if stride == 1 {
                        for (d, s) in dst[*first..first + xs.len()].iter_mut().zip(src) {
                            *d += s;
                        }
                    } else {
                        let dst = &mut dst[*first..=first + (xs.len() - 1) * stride];
                        for (j, s) in src.iter().enumerate() {
                            dst[j * stride] += s;
                        }
                    }
                }
            }
        }
    }
}

/// Calls `f(c, weight_index, row_pairs)` for every channel `c` and kernel offset: `row_pairs`
/// yields, for each small row with a source row inside the image, the small row's start, the
/// valid small columns, and the big row's start of the first valid column (in the channel's
/// plane). The three direct kernels below share this walk.
fn for_each_tap(
    w: &Window,
    channels: usize,
    mut f: impl FnMut(usize, usize, &mut dyn Iterator<Item = (usize, std::ops::Range<usize>, usize)>),
) {
    let [kh, kw] = w.kernel;
    let [sh, sw] = w.small;
    let bw = w.big[1];
    for c in 0..channels {
        for ky in 0..kh {
            for kx in 0..kw {
                let xs = w.valid(1, kx);
                if xs.is_empty() {
                    continue;
                }
                let first = xs.start * w.stride[1] + kx - w.pad[1];
                let mut rows =
                    (0..sh).filter_map(|oy| w.source(0, oy, ky).map(|iy| (oy * sw, xs.clone(), iy * bw + first)));
                f(c, (c * kh + ky) * kw + kx, &mut rows);
            }
        }
    }
}

/// [`lower`] of one image into one output channel, without im2col: for each tap, the output
/// rows get the weight times the shifted input rows.
fn lower_single_scalar(image: &[f32], channels: usize, weight: &[f32], w: &Window, out: &mut [f32]) {
    out.fill(0.0);
    let (stride, plane_len) = (w.stride[1], w.big_len());
    for_each_tap(w, channels, |c, tap, rows| {
        let (wv, plane) = (weight[tap], &image[c * plane_len..(c + 1) * plane_len]);
        for (row, xs, src) in rows {
            let dst = &mut out[row + xs.start..row + xs.end];
            if stride == 1 {
                for (d, x) in dst.iter_mut().zip(&plane[src..src + xs.len()]) {
                    *d += wv * x;
                }
            } else {
                for (j, d) in dst.iter_mut().enumerate() {
                    *d += wv * plane[src + j * stride];
                }
            }
        }
    });
}

/// [`raise`] of one image from one input channel, without col2im.
fn raise_single_scalar(small: &[f32], channels: usize, weight: &[f32], w: &Window, image: &mut [f32]) {
    image.fill(0.0);
    let (stride, plane_len) = (w.stride[1], w.big_len());
    for_each_tap(w, channels, |c, tap, rows| {
        let wv = weight[tap];
        let plane = &mut image[c * plane_len..(c + 1) * plane_len];
        for (row, xs, dst) in rows {
            let src = &small[row + xs.start..row + xs.end];
            if stride == 1 {
                for (d, g) in plane[dst..dst + xs.len()].iter_mut().zip(src) {
                    *d += wv * g;
                }
            } else {
                for (j, g) in src.iter().enumerate() {
                    plane[dst + j * stride] += wv * g;
                }
            }
        }
    });
}

/// [`weight_grad`]'s term of one image for one small channel, added to `grad`, without im2col.
fn weight_grad_single_scalar(big: &[f32], channels: usize, small: &[f32], w: &Window, grad: &mut [f32]) {
    let (stride, plane_len) = (w.stride[1], w.big_len());
    for_each_tap(w, channels, |c, tap, rows| {
        let plane = &big[c * plane_len..(c + 1) * plane_len];
        let mut acc = 0.0f32;
        for (row, xs, src) in rows {
            let g = &small[row + xs.start..row + xs.end];
            acc += if stride == 1 {
                dot(g, &plane[src..src + xs.len()])
            } else {
                g.iter().enumerate().map(|(j, g)| g * plane[src + j * stride]).sum::<f32>()
            };
        }
        grad[tap] += acc;
    });
}

/// For every kernel offset of a window with unit column stride: its index `ky·kw + kx` and the
/// rows it touches, each `[small start, big start, length]` within a channel's plane.
type TapRows = Vec<(usize, Vec<[usize; 3]>)>;

fn tap_rows(w: &Window) -> TapRows {
    let mut taps = Vec::new();
    for_each_tap(w, 1, |_, tap, rows| {
        taps.push((tap, rows.map(|(row, xs, big)| [row + xs.start, big, xs.len()]).collect()));
    });
    taps
}

/// The single-channel kernels in vectors, where the instruction set and the window allow (a unit
/// column stride keeps each offset's rows contiguous): `lower` and `raise` keep each output row's
/// sums in registers ([`gather_lower`], [`gather_raise`]), and `weight_grad` sums each offset's
/// products in vector lanes. Each kernel falls back to its scalar form otherwise.
struct Single {
    isa: Isa,
    /// Whether [`gather_lower`] and [`gather_raise`] apply: unit strides, rows of at most four
    /// vectors on both sides.
    gather: bool,
    taps: TapRows,
}

impl Single {
    /// The kernels for `w`, when its small image has `channels` channels (only one uses them).
    fn new(w: &Window, channels: usize) -> Self {
        if channels != 1 {
            return Single { isa: Isa::None, gather: false, taps: Vec::new() };
        }
        Self::with_isa(w, if w.stride[1] == 1 { detected() } else { Isa::None })
    }

    fn with_isa(w: &Window, isa: Isa) -> Self {
        let taps = if isa == Isa::None { Vec::new() } else { tap_rows(w) };
        let lanes = if isa == Isa::Avx512 { 16 } else { 8 };
        let gather = w.stride == [1, 1] && w.small[1].max(w.big[1]) <= 4 * lanes;
        Single { isa, gather, taps }
    }

    /// [`lower`] of one image into one output channel.
    fn lower(&self, image: &[f32], channels: usize, weight: &[f32], w: &Window, out: &mut [f32]) {
        // SAFETY: `gather` holds for the window, and the instruction set was detected.
        unsafe {
            match (self.isa, self.gather) {
                #[cfg(target_arch = "x86_64")]
                (Isa::Avx512, true) => single_lower_avx512(image, channels, weight, w, out),
                #[cfg(target_arch = "x86_64")]
                (Isa::Avx2, true) => single_lower_avx2(image, channels, weight, w, out),
                _ => lower_single_scalar(image, channels, weight, w, out),
            }
        }
    }

    /// [`raise`] of one image from one input channel.
    fn raise(&self, small: &[f32], channels: usize, weight: &[f32], w: &Window, image: &mut [f32]) {
        // SAFETY: as in `lower`.
        unsafe {
            match (self.isa, self.gather) {
                #[cfg(target_arch = "x86_64")]
                (Isa::Avx512, true) => single_raise_avx512(small, channels, weight, w, image),
                #[cfg(target_arch = "x86_64")]
                (Isa::Avx2, true) => single_raise_avx2(small, channels, weight, w, image),
                _ => raise_single_scalar(small, channels, weight, w, image),
            }
        }
    }

    /// [`weight_grad`]'s term of one image for one small channel, added to `grad`.
    fn weight_grad(&self, big: &[f32], channels: usize, small: &[f32], w: &Window, grad: &mut [f32]) {
        let (taps, plane) = (w.taps(), w.big_len());
        // SAFETY: as in `lower`.
        unsafe {
            match self.isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => single_weight_grad_avx512(&self.taps, big, channels, plane, small, taps, grad),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => single_weight_grad_avx2(&self.taps, big, channels, plane, small, taps, grad),
                _ => weight_grad_single_scalar(big, channels, small, w, grad),
            }
        }
    }
}

/// `acc + a[j] · b[j]`, lane by lane, for `len` values.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn dot_lanes<S: Simd>(a: *const f32, b: *const f32, len: usize, mut acc: S::V) -> S::V {
    // SAFETY: the caller guarantees `len` values at `a` and `b`.
    unsafe {
        let mut j = 0;
        while j + S::LANES <= len {
            acc = S::fma(S::load(a.add(j)), S::load(b.add(j)), acc);
            j += S::LANES;
        }
        if j < len {
            acc = S::fma(S::load_part(a.add(j), len - j), S::load_part(b.add(j), len - j), acc);
        }
        acc
    }
}

/// [`lower`] of one image into one output channel for a window of unit strides whose small rows
/// are at most `V` vectors: each small row's sums stay in registers over every channel and
/// kernel offset, reading the big rows shifted by the offset with the lanes outside the image
/// masked off.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn gather_lower<S: Simd, const V: usize>(
    image: &[f32],
    channels: usize,
    weight: &[f32],
    w: &Window,
    out: &mut [f32],
) {
    let ([kh, kw], [sh, sw], bw, l) = (w.kernel, w.small, w.big[1], S::LANES);
    // SAFETY: every unmasked lane reads a pixel inside its plane (the masks keep the big column
    // inside the image), every store is inside `out`'s `sh × sw`, and the caller detected the
    // instruction set.
    unsafe {
        let masks: Vec<[S::Mask; V]> = (0..kw)
            .map(|kx| {
                std::array::from_fn(|v| {
                    S::mask(|j| {
                        let ox = v * l + j;
                        ox < sw && (ox + kx).checked_sub(w.pad[1]).is_some_and(|ix| ix < bw)
                    })
                })
            })
            .collect();
        for oy in 0..sh {
            let mut acc = [S::zero(); V];
            for c in 0..channels {
                let plane = image[c * w.big_len()..(c + 1) * w.big_len()].as_ptr();
                for ky in 0..kh {
                    let Some(iy) = w.source(0, oy, ky) else { continue };
                    let row = plane.add(iy * bw).wrapping_sub(w.pad[1]);
                    for (kx, masks) in masks.iter().enumerate() {
                        let weight = S::splat(&weight[(c * kh + ky) * kw + kx]);
                        for (v, acc) in acc.iter_mut().enumerate() {
                            *acc = S::fma(weight, S::load_masked(row.wrapping_add(kx + v * l), masks[v]), *acc);
                        }
                    }
                }
            }
            store_row::<S>(&acc, out[oy * sw..(oy + 1) * sw].as_mut_ptr(), sw);
        }
    }
}

/// [`raise`] of one image from one input channel, the same way round: each big row's sums stay
/// in registers over the kernel offsets, reading the small rows that reach it.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn gather_raise<S: Simd, const V: usize>(
    small: &[f32],
    channels: usize,
    weight: &[f32],
    w: &Window,
    image: &mut [f32],
) {
    let ([kh, kw], [sh, sw], [bh, bw], l) = (w.kernel, w.small, w.big, S::LANES);
    // SAFETY: as in `gather_lower`, with the masks keeping the small column inside the image.
    unsafe {
        let masks: Vec<[S::Mask; V]> = (0..kw)
            .map(|kx| {
                std::array::from_fn(|v| {
                    S::mask(|j| {
                        let ix = v * l + j;
                        ix < bw && (ix + w.pad[1]).checked_sub(kx).is_some_and(|ox| ox < sw)
                    })
                })
            })
            .collect();
        for c in 0..channels {
            for iy in 0..bh {
                let mut acc = [S::zero(); V];
                for ky in 0..kh {
                    let Some(oy) = (iy + w.pad[0]).checked_sub(ky).filter(|&oy| oy < sh) else { continue };
                    let row = small[oy * sw..(oy + 1) * sw].as_ptr().wrapping_add(w.pad[1]);
                    for (kx, masks) in masks.iter().enumerate() {
                        let weight = S::splat(&weight[(c * kh + ky) * kw + kx]);
                        for (v, acc) in acc.iter_mut().enumerate() {
                            *acc = S::fma(
                                weight,
                                S::load_masked(row.wrapping_add(v * l).wrapping_sub(kx), masks[v]),
                                *acc,
                            );
                        }
                    }
                }
                let at = (c * bh + iy) * bw;
                store_row::<S>(&acc, image[at..at + bw].as_mut_ptr(), bw);
            }
        }
    }
}

/// Stores the first `len` lanes of `acc`'s vectors at `dst`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn store_row<S: Simd>(acc: &[S::V], dst: *mut f32, len: usize) {
    // SAFETY: the caller guarantees `len` values at `dst`.
    unsafe {
        for (v, acc) in acc.iter().enumerate() {
            let start = v * S::LANES;
            if start + S::LANES <= len {
                S::store(dst.add(start), *acc);
            } else if start < len {
                S::store_part(dst.add(start), len - start, *acc);
            }
        }
    }
}

/// The vector kernels behind [`Single`], for each instruction set: `lower`, `raise` and
/// `weight_grad` of one image, with `plane` values per channel and `taps` weights per channel.
macro_rules! single_kernels {
    ($simd:ty, $features:literal, $lower:ident, $raise:ident, $grad:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $lower(image: &[f32], channels: usize, weight: &[f32], w: &Window, out: &mut [f32]) {
            // SAFETY: forwarded; `Single` checked the window's strides and widths.
            unsafe {
                match w.small[1].div_ceil(<$simd>::LANES) {
                    1 => gather_lower::<$simd, 1>(image, channels, weight, w, out),
                    2 => gather_lower::<$simd, 2>(image, channels, weight, w, out),
                    3 => gather_lower::<$simd, 3>(image, channels, weight, w, out),
                    _ => gather_lower::<$simd, 4>(image, channels, weight, w, out),
                }
            }
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $raise(small: &[f32], channels: usize, weight: &[f32], w: &Window, image: &mut [f32]) {
            // SAFETY: as above.
            unsafe {
                match w.big[1].div_ceil(<$simd>::LANES) {
                    1 => gather_raise::<$simd, 1>(small, channels, weight, w, image),
                    2 => gather_raise::<$simd, 2>(small, channels, weight, w, image),
                    3 => gather_raise::<$simd, 3>(small, channels, weight, w, image),
                    _ => gather_raise::<$simd, 4>(small, channels, weight, w, image),
                }
            }
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $grad(
            rows: &TapRows,
            big: &[f32],
            channels: usize,
            plane: usize,
            small: &[f32],
            taps: usize,
            grad: &mut [f32],
        ) {
            // SAFETY: as in the lowering kernel.
            unsafe {
                for c in 0..channels {
                    let src = big[c * plane..(c + 1) * plane].as_ptr();
                    for (tap, rows) in rows {
                        let mut acc = <$simd>::zero();
                        for &[from, at, len] in rows {
                            acc = dot_lanes::<$simd>(small.as_ptr().add(from), src.add(at), len, acc);
                        }
                        grad[c * taps + tap] += <$simd>::sum(acc);
                    }
                }
            }
        }
    };
}

single_kernels!(Avx512, "avx512f", single_lower_avx512, single_raise_avx512, single_weight_grad_avx512);
single_kernels!(Avx2, "avx2,fma", single_lower_avx2, single_raise_avx2, single_weight_grad_avx2);

/// A dot product in eight independent lanes (which the compiler vectorizes).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// A per-channel affine map followed by a ReLU, applied to a convolution's output as it is
/// written (an inference batch norm folded into the convolution).
#[derive(Clone, Copy)]
pub(super) struct Affine<'a> {
    pub scale: &'a [f32],
    pub shift: &'a [f32],
}

impl Affine<'_> {
    /// `out[c, ..] = max(0, out[c, ..] · scale[c] + shift[c])` for one image of `plane`-long
    /// channels.
    fn apply(self, out: &mut [f32], plane: usize) {
        for (c, row) in out.chunks_exact_mut(plane).enumerate() {
            let (k, b) = (self.scale[c], self.shift[c]);
            for v in row {
                *v = (*v * k + b).max(0.0);
            }
        }
    }
}

/// A pooling reduction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pool {
    /// The maximum of the window's pixels inside the image.
    Max,
    /// The mean of the window's pixels inside the image (padding not counted).
    MeanOfValid,
    /// The window's sum divided by the kernel's size (padding counted as zeros).
    MeanOfWindow,
}

/// Pools every `[big…]` plane of `planes` planes into a `[small…]` plane over the window `w`.
pub(super) fn pool(input: &[f32], planes: usize, w: &Window, kind: Pool) -> Vec<f32> {
    let (big, small) = (w.big_len(), w.small_len());
    let mut out: Vec<f32> = Vec::with_capacity(planes * small);
    let dst = OutPtr(out.as_mut_ptr());
    let [sh, sw] = w.small;
    let stride = w.stride[1];
    // The number of valid taps of each small row and column.
    let count = |axis: usize, o: usize| (0..w.kernel[axis]).filter(|&k| w.source(axis, o, k).is_some()).count();
    let rows: Vec<usize> = (0..sh).map(|oy| count(0, oy)).collect();
    let cols: Vec<usize> = (0..sw).map(|ox| count(1, ox)).collect();
    let blocks = threads().min(planes).max(1);
    let per_block = planes.div_ceil(blocks);
    for_each_index(blocks, |block| {
        for p in block * per_block..((block + 1) * per_block).min(planes) {
            let plane = &input[p * big..(p + 1) * big];
            // SAFETY: plane `p` of the output is written by this thread only.
            let out = unsafe { std::slice::from_raw_parts_mut(dst.at(p * small), small) };
            out.fill(if kind == Pool::Max { f32::NEG_INFINITY } else { 0.0 });
            for_each_tap(w, 1, |_, _, taps| {
                for (row, xs, src) in taps {
                    let dst = &mut out[row + xs.start..row + xs.end];
                    match (kind, stride) {
                        (Pool::Max, 1) => dst.iter_mut().zip(&plane[src..]).for_each(|(d, &x)| *d = d.max(x)),
                        (Pool::Max, _) => {
                            dst.iter_mut().enumerate().for_each(|(j, d)| *d = d.max(plane[src + j * stride]))
                        }
                        (_, 1) => dst.iter_mut().zip(&plane[src..]).for_each(|(d, &x)| *d += x),
                        (_, _) => dst.iter_mut().enumerate().for_each(|(j, d)| *d += plane[src + j * stride]),
                    }
                }
            });
            match kind {
                Pool::Max => {}
                Pool::MeanOfWindow => {
                    let scale = 1.0 / w.taps() as f32;
                    out.iter_mut().for_each(|v| *v *= scale);
                }
                Pool::MeanOfValid => {
                    for (oy, row) in out.chunks_exact_mut(sw).enumerate() {
                        for (v, &c) in row.iter_mut().zip(&cols) {
                            *v /= (rows[oy] * c) as f32;
                        }
                    }
                }
            }
        }
    });
    // SAFETY: every plane was written above.
    unsafe { out.set_len(planes * small) };
    out
}

/// The contiguous block of images each thread takes.
fn image_blocks(batch: usize) -> (usize, usize) {
    let blocks = threads().min(batch).max(1);
    (blocks, batch.div_ceil(blocks))
}

/// A convolution, big → small: `out[b] = weight @ im2col(big[b])`, with `big` `[batch,
/// big_channels, big…]`, `weight` `[small_channels, big_channels · kh · kw]`; returns `[batch,
/// small_channels, small…]`.
pub(super) fn lower(
    big: &[f32],
    batch: usize,
    big_channels: usize,
    weight: &[f32],
    small_channels: usize,
    w: &Window,
    epilogue: Option<Affine<'_>>,
) -> Vec<f32> {
    let (k, n) = (big_channels * w.taps(), w.small_len());
    let mut out: Vec<f32> = Vec::with_capacity(batch * small_channels * n);
    let dst = OutPtr(out.as_mut_ptr());
    let (blocks, per_block) = image_blocks(batch);
    let direct = Single::new(w, small_channels);
    for_each_index(blocks, |block| {
        let mut col = vec![0.0f32; if w.pointwise() { 0 } else { k * n }];
        let walk = Walk::new(w);
        for b in block * per_block..((block + 1) * per_block).min(batch) {
            let image = &big[b * big_channels * w.big_len()..][..big_channels * w.big_len()];
            if small_channels == 1 && !w.pointwise() {
                // SAFETY: image `b`'s output is written by this thread only.
                let out = unsafe { std::slice::from_raw_parts_mut(dst.at(b * n), n) };
                direct.lower(image, big_channels, weight, w, out);
                if let Some(affine) = epilogue {
                    affine.apply(out, n);
                }
                continue;
            }
            let col = columns(image, big_channels, w, &walk, &mut col);
            // SAFETY: image `b`'s `[small_channels, n]` output block is inside `out`'s capacity
            // and written by this thread only; `weight` and `col` hold their shapes.
            unsafe {
                gemm_serial(
                    dst.at(b * small_channels * n),
                    n,
                    false,
                    small_channels,
                    n,
                    k,
                    Matrix::row_major(weight, k),
                    Matrix::row_major(col, n),
                )
            };
            if let Some(affine) = epilogue {
                // SAFETY: image `b`'s output block, just written by this thread.
                let out = unsafe { std::slice::from_raw_parts_mut(dst.at(b * small_channels * n), small_channels * n) };
                affine.apply(out, n);
            }
        }
    });
    // SAFETY: every image's block was written above.
    unsafe { out.set_len(batch * small_channels * n) };
    out
}

/// A transposed convolution, small → big: `out[b] = col2im(weightᵀ @ small[b])`, with `small`
/// `[batch, small_channels, small…]` and `weight` `[small_channels, big_channels · kh · kw]`;
/// returns `[batch, big_channels, big…]`.
pub(super) fn raise(
    small: &[f32],
    batch: usize,
    small_channels: usize,
    weight: &[f32],
    big_channels: usize,
    w: &Window,
) -> Vec<f32> {
    let (m, n) = (big_channels * w.taps(), w.small_len());
    let image_len = big_channels * w.big_len();
    let mut out = vec![0.0f32; batch * image_len];
    let dst = OutPtr(out.as_mut_ptr());
    let (blocks, per_block) = image_blocks(batch);
    let direct = Single::new(w, small_channels);
    for_each_index(blocks, |block| {
        let single = small_channels == 1;
        let mut col = vec![0.0f32; if single { 0 } else { m * n }];
        let walk = Walk::new(w);
        for b in block * per_block..((block + 1) * per_block).min(batch) {
            if single {
                // SAFETY: image `b` of the output is written by this thread only.
                let image = unsafe { std::slice::from_raw_parts_mut(dst.at(b * image_len), image_len) };
                direct.raise(&small[b * n..(b + 1) * n], big_channels, weight, w, image);
                continue;
            }
            // SAFETY: `col` is `[m, n]`; the weight's transpose is `[m, small_channels]` and the
            // image `[small_channels, n]`.
            unsafe {
                gemm_serial(
                    col.as_mut_ptr(),
                    n,
                    false,
                    m,
                    n,
                    small_channels,
                    Matrix::row_major(weight, m).t(),
                    Matrix::row_major(&small[b * small_channels * n..][..small_channels * n], n),
                )
            };
            // SAFETY: image `b` of the output is written by this thread only.
            let image = unsafe { std::slice::from_raw_parts_mut(dst.at(b * image_len), image_len) };
            vectorize(Col2im { col: &col, channels: big_channels, w, walk: &walk, image });
        }
    });
    out
}

/// Images are summed in at most this many groups for a weight gradient: the groups run in
/// parallel, so this caps its threads, and each group costs a partial sum to add.
const GRADIENT_GROUPS: usize = 8;

/// The weight gradient of either direction: `Σ_b small[b] @ im2col(big[b])ᵀ`, shape
/// `[small_channels, big_channels · kh · kw]`.
///
/// The batch is cut into up to [`GRADIENT_GROUPS`] groups of consecutive images by its size alone;
/// the threads take whole groups, each group sums its images in order, and the groups' sums are
/// added in order. So the result is the same bits on any number of threads (one included).
pub(super) fn weight_grad(
    big: &[f32],
    small: &[f32],
    batch: usize,
    big_channels: usize,
    small_channels: usize,
    w: &Window,
) -> Vec<f32> {
    let (k, n) = (w.small_len(), big_channels * w.taps());
    let len = small_channels * n;
    let per_block = batch.div_ceil(GRADIENT_GROUPS).max(1);
    let blocks = batch.div_ceil(per_block).max(1);
    let mut partials = vec![0.0f32; blocks * len];
    let dst = OutPtr(partials.as_mut_ptr());
    let direct = Single::new(w, small_channels);
    for_each_index(blocks, |block| {
        let mut col = vec![0.0f32; if w.pointwise() { 0 } else { n * k }];
        let walk = Walk::new(w);
        for (i, b) in (block * per_block..((block + 1) * per_block).min(batch)).enumerate() {
            let image = &big[b * big_channels * w.big_len()..][..big_channels * w.big_len()];
            if small_channels == 1 && !w.pointwise() {
                // SAFETY: block `block`'s partial sum is written by this thread only.
                let grad = unsafe { std::slice::from_raw_parts_mut(dst.at(block * len), len) };
                direct.weight_grad(image, big_channels, &small[b * k..(b + 1) * k], w, grad);
                continue;
            }
            let col = columns(image, big_channels, w, &walk, &mut col);
            // SAFETY: block `block`'s partial sum is `[small_channels, n]` inside `partials` and
            // written by this thread only; `col` is `[n, k]`, its transpose `[k, n]`.
            unsafe {
                gemm_serial(
                    dst.at(block * len),
                    n,
                    i > 0,
                    small_channels,
                    n,
                    k,
                    Matrix::row_major(&small[b * small_channels * k..][..small_channels * k], k),
                    Matrix::row_major(col, k).t(),
                )
            };
        }
    });
    sum_in_order(partials, len)
}

/// Elements per parallel piece of [`sum_in_order`].
const SUM_PIECE: usize = 1 << 14;

/// `partials[0] + partials[1] + …` for `partials` holding consecutive runs of `len` values, added
/// in that order for every element (the threads split the elements, never the sum).
fn sum_in_order(mut partials: Vec<f32>, len: usize) -> Vec<f32> {
    let count = partials.len() / len.max(1);
    if count > 1 {
        let (first, rest) = partials.split_at_mut(len);
        let dst = OutPtr(first.as_mut_ptr());
        let rest: &[f32] = rest;
        for_each_index(len.div_ceil(SUM_PIECE), |piece| {
            let range = piece * SUM_PIECE..((piece + 1) * SUM_PIECE).min(len);
            // SAFETY: each piece writes its own range of the first partial.
            let out = unsafe { std::slice::from_raw_parts_mut(dst.at(range.start), range.len()) };
            for partial in rest.chunks_exact(len) {
                for (a, b) in out.iter_mut().zip(&partial[range.clone()]) {
                    *a += b;
                }
            }
        });
    }
    partials.truncate(len);
    partials
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct, loop-by-loop convolution to check the im2col products against.
    fn direct_conv(big: &[f32], batch: usize, cb: usize, weight: &[f32], cs: usize, w: &Window) -> Vec<f32> {
        let [kh, kw] = w.kernel;
        let mut out = vec![0.0f64; batch * cs * w.small_len()];
        for b in 0..batch {
            for o in 0..cs {
                for oy in 0..w.small[0] {
                    for ox in 0..w.small[1] {
                        let mut acc = 0.0f64;
                        for c in 0..cb {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    if let (Some(iy), Some(ix)) = (w.source(0, oy, ky), w.source(1, ox, kx)) {
                                        acc += big[((b * cb + c) * w.big[0] + iy) * w.big[1] + ix] as f64
                                            * weight[((o * cb + c) * kh + ky) * kw + kx] as f64;
                                    }
                                }
                            }
                        }
                        out[((b * cs + o) * w.small[0] + oy) * w.small[1] + ox] = acc;
                    }
                }
            }
        }
        out.into_iter().map(|v| v as f32).collect()
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n).map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0).collect()
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    fn windows() -> Vec<Window> {
        vec![
            // The MNIST networks' layers: k4 s2 "same" (pad 1) and k4 s1 "same" (pad 1 before, 2 after).
            Window { kernel: [4, 4], stride: [2, 2], pad: [1, 1], big: [14, 14], small: [7, 7] },
            Window { kernel: [4, 4], stride: [1, 1], pad: [1, 1], big: [9, 9], small: [9, 9] },
            // Odd shapes: no padding, uneven stride, a kernel wider than the padding allows.
            Window { kernel: [3, 2], stride: [1, 3], pad: [0, 0], big: [5, 8], small: [3, 3] },
            Window { kernel: [1, 1], stride: [1, 1], pad: [0, 0], big: [4, 5], small: [4, 5] },
            Window { kernel: [5, 5], stride: [2, 2], pad: [3, 2], big: [6, 7], small: [4, 4] },
        ]
    }

    #[test]
    fn lower_is_the_direct_convolution() {
        for w in windows() {
            for cs in [4, 1] {
                let (batch, cb) = (3, 2);
                let big = values(batch * cb * w.big_len(), 1);
                let weight = values(cs * cb * w.taps(), 2);
                let ours = lower(&big, batch, cb, &weight, cs, &w, None);
                let expected = direct_conv(&big, batch, cb, &weight, cs, &w);
                for (a, b) in ours.iter().zip(&expected) {
                    assert!((a - b).abs() < 1e-4, "{w:?}: {a} vs {b}");
                }
            }
        }
    }

    /// The single-channel kernels give the scalar forms' values in every instruction set the
    /// processor has, on the generator's last layer (k4 s1 "same", 28 × 28) and a narrow image.
    #[test]
    fn single_channel_vector_kernels_match_the_scalar_ones() {
        let mut isas = vec![];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                isas.push(Isa::Avx512);
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                isas.push(Isa::Avx2);
            }
        }
        let windows = [
            Window { kernel: [4, 4], stride: [1, 1], pad: [1, 1], big: [28, 28], small: [28, 28] },
            Window { kernel: [3, 3], stride: [2, 1], pad: [1, 1], big: [9, 5], small: [5, 5] },
            Window { kernel: [5, 3], stride: [1, 1], pad: [2, 0], big: [6, 19], small: [6, 17] },
            Window { kernel: [4, 4], stride: [1, 1], pad: [1, 1], big: [40, 40], small: [39, 39] },
        ];
        for w in windows {
            let channels = 3;
            let big = values(channels * w.big_len(), 6);
            let small = values(w.small_len(), 7);
            let weight = values(channels * w.taps(), 8);
            let mut lowered = vec![0.0; w.small_len()];
            let mut raised = vec![0.0; channels * w.big_len()];
            let mut grad = vec![0.0; channels * w.taps()];
            lower_single_scalar(&big, channels, &weight, &w, &mut lowered);
            raise_single_scalar(&small, channels, &weight, &w, &mut raised);
            weight_grad_single_scalar(&big, channels, &small, &w, &mut grad);
            for isa in &isas {
                let single = Single::with_isa(&w, *isa);
                let mut ours = vec![1.0; w.small_len()];
                single.lower(&big, channels, &weight, &w, &mut ours);
                let mut ours_raised = vec![1.0; channels * w.big_len()];
                single.raise(&small, channels, &weight, &w, &mut ours_raised);
                let mut ours_grad = vec![0.0; channels * w.taps()];
                single.weight_grad(&big, channels, &small, &w, &mut ours_grad);
                for (name, a, b) in
                    [("lower", &ours, &lowered), ("raise", &ours_raised, &raised), ("weight_grad", &ours_grad, &grad)]
                {
                    for (x, y) in a.iter().zip(b.iter()) {
                        assert!((x - y).abs() < 1e-4, "{isa:?} {name} {w:?}: {x} vs {y}");
                    }
                }
            }
        }
    }

    /// `raise` is `lower`'s adjoint, and `weight_grad` its derivative in the weight:
    /// ⟨lower(x, W), y⟩ = ⟨x, raise(y, W)⟩ = ⟨W, weight_grad(x, y)⟩.
    #[test]
    fn raise_and_weight_grad_are_the_adjoints() {
        for w in windows() {
            for cs in [4, 1] {
                let (batch, cb) = (3, 2);
                let x = values(batch * cb * w.big_len(), 3);
                let y = values(batch * cs * w.small_len(), 4);
                let weight = values(cs * cb * w.taps(), 5);
                let forward = dot(&lower(&x, batch, cb, &weight, cs, &w, None), &y);
                let back = dot(&x, &raise(&y, batch, cs, &weight, cb, &w));
                let grad = dot(&weight, &weight_grad(&x, &y, batch, cb, cs, &w));
                assert!((forward - back).abs() < 1e-3 * forward.abs().max(1.0), "{w:?}: {forward} vs {back}");
                assert!((forward - grad).abs() < 1e-3 * forward.abs().max(1.0), "{w:?}: {forward} vs {grad}");
            }
        }
    }
}
