//! Charts of a run's curves (`loss_curves.png`, the vanilla GAN's loss plots).
//!
//! Drawn with `plotters` into a pixel buffer (its bitmap backend, no system libraries) and
//! encoded with `image`; the text uses DejaVu Sans embedded through the `dejavu` crate, so no
//! system font or fontconfig is needed.

use std::path::Path;
use std::sync::OnceLock;

use super::images::encode_png;
use crate::error::{Result, RganError};
use crate::files::write_atomically;

/// The loss-curve picture's size in pixels.
pub(super) const PLOT_SIZE: (u32, u32) = (800, 500);
/// At most this many points are drawn per curve; longer runs are thinned evenly.
const MAX_POINTS: usize = 2000;

/// Registers DejaVu Sans as plotters' `sans-serif` font, once.
fn register_font() -> std::result::Result<(), &'static str> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, dejavu::sans::regular())
            .is_ok()
    });
    if ok { Ok(()) } else { Err("the embedded DejaVu Sans font could not be loaded") }
}

/// One curve: its name and `(step, value)` points.
type Curve = (String, Vec<(f64, f64)>);

/// Reads the loss columns of a scalars CSV: those named `loss/...`, or for runs written before
/// that naming, those ending in `_loss`.
fn read_loss_curves(csv: &Path) -> Result<Vec<Curve>> {
    let text = std::fs::read_to_string(csv).map_err(|e| RganError::file(csv, format!("cannot read: {e}")))?;
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, h)| h).ok_or_else(|| RganError::file(csv, "is empty: no header"))?;
    let names = parse_header(header, csv)?;
    let mut columns: Vec<usize> = (0..names.len()).filter(|&i| names[i].starts_with("loss/")).collect();
    if columns.is_empty() {
        columns = (0..names.len()).filter(|&i| names[i].ends_with("_loss")).collect();
    }
    if columns.is_empty() {
        return Err(RganError::file(csv, format!("has no loss column (named \"loss/...\") among {names:?}")));
    }
    let mut curves: Vec<Curve> = columns.iter().map(|&i| (names[i].clone(), Vec::new())).collect();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let bad = || {
            RganError::file(csv, format!("line {}: expected a step and {} numbers, found {line:?}", i + 1, names.len()))
        };
        if fields.len() != names.len() + 1 {
            return Err(bad());
        }
        let step: f64 = fields[0].trim().parse::<usize>().map_err(|_| bad())? as f64;
        for (curve, &c) in curves.iter_mut().zip(&columns) {
            let v: f64 = fields[c + 1].trim().parse().map_err(|_| bad())?;
            if v.is_finite() {
                curve.1.push((step, v));
            }
        }
    }
    if curves.iter().all(|(_, points)| points.is_empty()) {
        return Err(RganError::file(csv, "has no finite loss value to plot"));
    }
    Ok(curves)
}

/// Keeps at most about `max` evenly spaced points, always the last.
pub(super) fn thin(points: &mut Vec<(f64, f64)>, max: usize) {
    if points.len() <= max {
        return;
    }
    let every = points.len().div_ceil(max);
    let last = *points.last().expect("non-empty");
    let mut kept: Vec<(f64, f64)> = points.iter().copied().step_by(every).collect();
    if kept.last() != Some(&last) {
        kept.push(last);
    }
    *points = kept;
}

/// A plot range around `[lo, hi]` with a little margin; a single value gets a unit-wide range.
fn padded(lo: f64, hi: f64, pad: f64) -> std::ops::Range<f64> {
    if hi > lo {
        let m = (hi - lo) * pad;
        (lo - m)..(hi + m)
    } else {
        let m = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - m)..(hi + m)
    }
}

/// Draws every column of a scalars CSV whose name starts with `loss/` (one line each, with a
/// legend, x axis "step", y axis "loss" and a title) into an 800x500 PNG at `out` (written
/// atomically, folder created if needed). CSVs from before the `loss/` naming plot their
/// `*_loss` columns instead. Curves of more than 2000 points are thinned evenly. Usable on an
/// existing run; errors name the CSV when it is missing, malformed or has no loss column.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("rgan-doc-plot-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let csv = dir.join("scalars.csv");
/// std::fs::write(&csv, "step,loss/generator,loss/discriminator\n1,2.0,1.0\n2,1.5,1.1\n3,1.2,1.3\n").unwrap();
/// rgan::summary::plot_loss_curves(&csv, dir.join("loss.png")).unwrap();
/// let png = image::open(dir.join("loss.png")).unwrap();
/// assert_eq!((png.width(), png.height()), (800, 500));
/// let e = rgan::summary::plot_loss_curves(dir.join("missing.csv"), dir.join("x.png")).unwrap_err();
/// assert!(e.to_string().contains("missing.csv"), "{e}");
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub fn plot_loss_curves(csv: impl AsRef<Path>, out: impl AsRef<Path>) -> Result<()> {
    let (csv, out) = (csv.as_ref(), out.as_ref());
    let curves = read_loss_curves(csv)?;
    let title = match csv.parent().and_then(Path::file_name) {
        Some(run) => format!("Loss curves: {}", run.to_string_lossy()),
        None => "Loss curves".to_string(),
    };
    let lines: Vec<ChartLine> = curves
        .into_iter()
        .enumerate()
        .map(|(i, (name, points))| ChartLine { name, points, color: i, ..ChartLine::default() })
        .collect();
    draw_chart(out, &title, "step", "loss", &lines)
}

/// One line of a chart drawn by [`draw_chart`].
#[derive(Clone, Debug)]
pub(crate) struct ChartLine {
    /// The legend entry.
    pub name: String,
    /// `(x, y)` points; non-finite ones are skipped.
    pub points: Vec<(f64, f64)>,
    /// The index of the line's colour in plotters' `Palette99`.
    pub color: usize,
    /// The line's width in pixels.
    pub stroke_width: u32,
    /// The radius of a dot drawn at every point (0: none).
    pub point_size: u32,
    /// The line's opacity, in `[0, 1]`.
    pub opacity: f64,
}

impl Default for ChartLine {
    fn default() -> Self {
        Self { name: String::new(), points: Vec::new(), color: 0, stroke_width: 2, point_size: 0, opacity: 1.0 }
    }
}

/// Draws lines (each thinned evenly to at most 2000 points) with a legend, axis descriptions and
/// a title into an 800x500 PNG at `out` (written atomically, folder created if needed), in
/// DejaVu Sans. Errors naming `out` when no line has a finite point or drawing fails.
pub(crate) fn draw_chart(out: &Path, title: &str, x_desc: &str, y_desc: &str, lines: &[ChartLine]) -> Result<()> {
    use plotters::prelude::*;

    let lines: Vec<ChartLine> = lines
        .iter()
        .map(|line| {
            let mut line = line.clone();
            line.points.retain(|(x, y)| x.is_finite() && y.is_finite());
            thin(&mut line.points, MAX_POINTS);
            line
        })
        .collect();
    if lines.iter().all(|line| line.points.is_empty()) {
        return Err(RganError::file(out, "cannot be drawn: no finite value to plot"));
    }
    register_font().map_err(|e| RganError::file(out, e))?;
    let points = || lines.iter().flat_map(|line| line.points.iter());
    let (x_lo, x_hi) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y_lo, y_hi) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));

    let (width, height) = PLOT_SIZE;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    let draw_error = |e: &dyn std::fmt::Display| RganError::file(out, format!("cannot draw the chart: {e}"));
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_error(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(padded(x_lo, x_hi, 0.0), padded(y_lo, y_hi, 0.05))
            .map_err(|e| draw_error(&e))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| draw_error(&e))?;
        for line in &lines {
            let color = Palette99::pick(line.color).mix(line.opacity.clamp(0.0, 1.0));
            let stroke = line.stroke_width;
            chart
                .draw_series(
                    LineSeries::new(line.points.iter().copied(), color.stroke_width(stroke))
                        .point_size(line.point_size),
                )
                .map_err(|e| draw_error(&e))?
                .label(line.name.as_str())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(stroke.max(2))));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| draw_error(&e))?;
        root.present().map_err(|e| draw_error(&e))?;
    }
    let picture = image::RgbImage::from_raw(width, height, pixels).expect("sized above");
    let png = encode_png(&image::DynamicImage::ImageRgb8(picture), out)?;
    write_atomically(out, &png)
}

/// The value columns of a scalars CSV's header `step,<names…>`; an error naming the file otherwise.
pub(super) fn parse_header(header: &str, path: &Path) -> Result<Vec<String>> {
    let mut columns = header.split(',');
    if columns.next().map(str::trim) != Some("step") {
        return Err(RganError::file(
            path,
            format!("line 1: expected a header starting with \"step,\", found {header:?}"),
        ));
    }
    let names: Vec<String> = columns.map(|c| c.trim().to_string()).collect();
    if names.is_empty() {
        return Err(RganError::file(path, "line 1: the header names no column besides \"step\""));
    }
    Ok(names)
}
