//! A training run's human-readable outputs in its log folder: `scalars.csv`, TensorBoard event
//! files, PNG sample grids and a picture of the loss curves.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::prelude::*;

use super::EventWriter;
use super::charts::{parse_header, plot_loss_curves};
use super::images::{encode_png, image_grid};
use crate::error::{Result, RganError};
use crate::files::write_atomically;

/// The CSV file's name in a log folder.
const SCALARS_CSV: &str = "scalars.csv";
/// The loss-curve picture's name in a log folder.
const LOSS_CURVES_PNG: &str = "loss_curves.png";
/// The image tag whose grids keep the historical name `samples/step_NNNNNN.png`.
const DEFAULT_IMAGE_TAG: &str = "generated";

/// A training run's outputs in its log folder: `scalars.csv`, TensorBoard event files (scalars
/// and image grids, via [`EventWriter`]), PNG sample grids under `samples/`, and a picture of the
/// loss curves `loss_curves.png`.
///
/// Each [`RunLog::scalars`] row is written to the CSV at once (a crash loses no row); the event
/// file is buffered until [`RunLog::flush`] or drop.
///
/// ```
/// use burn::prelude::*;
/// use rgan::summary::RunLog;
/// let dir = std::env::temp_dir().join(format!("rgan-doc-runlog-{}", std::process::id()));
/// let mut log = RunLog::open(&dir, None).unwrap();
/// for step in 1..=3 {
///     let g = 1.0 / step as f64;
///     log.scalars(step, &[("loss/generator", g), ("loss/discriminator", 0.5 * g)]).unwrap();
/// }
/// let images = Tensor::<4>::zeros([4, 1, 8, 8], &Device::default());
/// let png = log.image_grid(3, "generated", images, 2).unwrap();
/// assert!(png.ends_with("samples/step_000003.png"));
/// log.flush().unwrap();
/// let plot = log.plot_loss_curves().unwrap();
/// assert_eq!(image::open(&plot).unwrap().width(), 800);
/// let csv = std::fs::read_to_string(dir.join("scalars.csv")).unwrap();
/// assert_eq!(csv.lines().next(), Some("step,loss/generator,loss/discriminator"));
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub struct RunLog {
    logdir: PathBuf,
    csv_path: PathBuf,
    csv: File,
    /// The CSV's value columns (without `step`), once known.
    names: Option<Vec<String>>,
    events: EventWriter,
}

impl RunLog {
    /// Opens the run log in `logdir` (created if needed). `resume_step`: `None` starts fresh
    /// (truncates `scalars.csv`); `Some(k)` keeps the CSV rows with step `<= k` and drops later
    /// ones (they belong to steps the resumed run will redo), so a crash and a resume leave one row
    /// per step. A row torn by a crash (the last line, incomplete) is dropped too. A new
    /// TensorBoard event file is created in either case (TensorBoard merges them).
    ///
    /// ```
    /// use rgan::summary::RunLog;
    /// let dir = std::env::temp_dir().join(format!("rgan-doc-resume-{}", std::process::id()));
    /// let mut log = RunLog::open(&dir, None).unwrap();
    /// for step in [10, 20, 30] {
    ///     log.scalars(step, &[("loss/generator", 1.0)]).unwrap();
    /// }
    /// drop(log);
    /// let mut log = RunLog::open(&dir, Some(20)).unwrap();
    /// log.scalars(30, &[("loss/generator", 0.5)]).unwrap();
    /// let csv = std::fs::read_to_string(dir.join("scalars.csv")).unwrap();
    /// assert_eq!(csv, "step,loss/generator\n10,1\n20,1\n30,0.5\n");
    /// # std::fs::remove_dir_all(&dir).ok();
    /// ```
    pub fn open(logdir: impl AsRef<Path>, resume_step: Option<usize>) -> Result<Self> {
        let logdir = logdir.as_ref().to_path_buf();
        std::fs::create_dir_all(&logdir).map_err(|e| RganError::file(&logdir, format!("cannot create: {e}")))?;
        let csv_path = logdir.join(SCALARS_CSV);
        let names = match resume_step {
            Some(k) if csv_path.is_file() => {
                let text = std::fs::read_to_string(&csv_path)
                    .map_err(|e| RganError::file(&csv_path, format!("cannot read: {e}")))?;
                let (names, kept) = rows_up_to(&text, k, &csv_path)?;
                write_atomically(&csv_path, kept.as_bytes())?;
                names
            }
            _ => {
                File::create(&csv_path).map_err(|e| RganError::file(&csv_path, format!("cannot create: {e}")))?;
                None
            }
        };
        let csv = OpenOptions::new()
            .append(true)
            .open(&csv_path)
            .map_err(|e| RganError::file(&csv_path, format!("cannot open: {e}")))?;
        let events = EventWriter::create(&logdir)?;
        Ok(Self { logdir, csv_path, csv, names, events })
    }

    /// The log folder.
    pub fn logdir(&self) -> &Path {
        &self.logdir
    }

    /// The TensorBoard event file this run log writes.
    pub fn event_file(&self) -> &Path {
        self.events.path()
    }

    /// Appends one row of scalars at `step` to the CSV and to TensorBoard (one tag per name,
    /// e.g. `"loss/generator"`, `"learning_rate/discriminator"`, `"steps_per_sec"`).
    ///
    /// The CSV's header `step,<names...>` is written from the first call's names (or taken from
    /// the existing file when resuming); a later call with other names (or another order) is an
    /// error naming both. Names must be non-empty, distinct, not `step`, and free of commas,
    /// quotes and line breaks.
    ///
    /// ```
    /// use rgan::summary::RunLog;
    /// let dir = std::env::temp_dir().join(format!("rgan-doc-scalars-{}", std::process::id()));
    /// let mut log = RunLog::open(&dir, None).unwrap();
    /// log.scalars(1, &[("loss/generator", 0.7), ("steps_per_sec", 12.5)]).unwrap();
    /// let e = log.scalars(2, &[("loss/generator", 0.6)]).unwrap_err();
    /// assert!(e.to_string().contains("steps_per_sec"), "{e}");
    /// # std::fs::remove_dir_all(&dir).ok();
    /// ```
    pub fn scalars(&mut self, step: usize, values: &[(&str, f64)]) -> Result<()> {
        check_names(values)?;
        match &self.names {
            Some(names) => {
                if names.len() != values.len() || names.iter().zip(values).any(|(n, (v, _))| n != v) {
                    let given: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
                    return Err(RganError::invalid(
                        "values",
                        format!(
                            "names {given:?} differ from the columns {names:?} of {}; \
                             every row of a run must log the same names in the same order",
                            self.csv_path.display()
                        ),
                    ));
                }
            }
            None => {
                let names: Vec<String> = values.iter().map(|(n, _)| n.to_string()).collect();
                let header = format!("step,{}\n", names.join(","));
                self.csv
                    .write_all(header.as_bytes())
                    .map_err(|e| RganError::file(&self.csv_path, format!("cannot write: {e}")))?;
                self.names = Some(names);
            }
        }
        let mut row = step.to_string();
        for (_, v) in values {
            row.push(',');
            row.push_str(&v.to_string());
        }
        row.push('\n');
        self.csv
            .write_all(row.as_bytes())
            .map_err(|e| RganError::file(&self.csv_path, format!("cannot write: {e}")))?;
        for (name, v) in values {
            self.events.add_scalar(name, *v, step as u64)?;
        }
        Ok(())
    }

    /// Writes images `[N, C, H, W]` in `[-1, 1]` (`C` is 1 or 3) as a grid with `columns` images
    /// per row (see [`image_grid`](super::image_grid)) to `samples/step_NNNNNN.png` for the
    /// tag `"generated"` and to `samples/<tag>_step_NNNNNN.png` for other tags (every character
    /// other than ASCII letters, digits, `-` and `_` replaced by `_`, so `"real/mnist"` gives
    /// `samples/real_mnist_step_NNNNNN.png`), and to TensorBoard as an image under `tag`.
    /// Returns the PNG's path.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::summary::RunLog;
    /// let dir = std::env::temp_dir().join(format!("rgan-doc-grid-log-{}", std::process::id()));
    /// let mut log = RunLog::open(&dir, None).unwrap();
    /// let images = Tensor::<4>::zeros([6, 3, 4, 4], &Device::default());
    /// let path = log.image_grid(40, "real/mnist", images, 3).unwrap();
    /// assert_eq!(path, dir.join("samples").join("real_mnist_step_000040.png"));
    /// assert_eq!(image::open(&path).unwrap().width(), 12);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// ```
    pub fn image_grid(&mut self, step: usize, tag: &str, images: Tensor<4>, columns: usize) -> Result<PathBuf> {
        if tag.is_empty() {
            return Err(RganError::invalid("tag", "is empty; name the images, e.g. \"generated\""));
        }
        let grid = image_grid(images, columns)?;
        let file = if tag == DEFAULT_IMAGE_TAG {
            format!("step_{step:06}.png")
        } else {
            let clean: String =
                tag.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
            format!("{clean}_step_{step:06}.png")
        };
        let path = self.logdir.join("samples").join(file);
        let png = encode_png(&grid, &path)?;
        write_atomically(&path, &png)?;
        let channels = grid.color().channel_count();
        self.events.add_png(tag, png, grid.width(), grid.height(), channels, step as u64)?;
        Ok(path)
    }

    /// Flushes the CSV and the event file to disk.
    pub fn flush(&mut self) -> Result<()> {
        self.csv.flush().map_err(|e| RganError::file(&self.csv_path, format!("cannot write: {e}")))?;
        self.events.flush()
    }

    /// Draws `loss_curves.png` in the log folder from its `scalars.csv` (see
    /// [`plot_loss_curves`]) and returns its path.
    pub fn plot_loss_curves(&self) -> Result<PathBuf> {
        let out = self.logdir.join(LOSS_CURVES_PNG);
        plot_loss_curves(&self.csv_path, &out)?;
        Ok(out)
    }
}

fn check_names(values: &[(&str, f64)]) -> Result<()> {
    if values.is_empty() {
        return Err(RganError::invalid("values", "is empty; a row needs at least one named scalar"));
    }
    for (i, (name, _)) in values.iter().enumerate() {
        if name.is_empty() || *name == "step" || name.contains([',', '"', '\n', '\r']) {
            return Err(RganError::invalid(
                "values",
                format!(
                    "name {name:?} cannot be a CSV column: use a non-empty name other than \"step\" without commas, quotes or line breaks"
                ),
            ));
        }
        if values[..i].iter().any(|(other, _)| other == name) {
            return Err(RganError::invalid("values", format!("name {name:?} appears twice in one row")));
        }
    }
    Ok(())
}

/// The header's value columns of a scalars CSV and the file's text keeping the rows with step
/// `<= k`. An incomplete last line (a torn write) is dropped; any other malformed row is an error
/// naming the file and line.
fn rows_up_to(text: &str, k: usize, path: &Path) -> Result<(Option<Vec<String>>, String)> {
    let mut lines = text.split_inclusive('\n').enumerate().peekable();
    let Some((_, header)) = lines.next() else { return Ok((None, String::new())) };
    if !header.ends_with('\n') {
        // Only a torn header: start over.
        return Ok((None, String::new()));
    }
    let names = parse_header(header.trim_end_matches(['\n', '\r']), path)?;
    let mut kept = header.to_string();
    while let Some((i, line)) = lines.next() {
        let is_last = lines.peek().is_none();
        let body = line.trim_end_matches(['\n', '\r']);
        if body.is_empty() {
            continue;
        }
        let fields: Vec<&str> = body.split(',').collect();
        let step = fields[0].trim().parse::<usize>().ok().filter(|_| fields.len() == names.len() + 1);
        match step {
            Some(step) if step <= k => {
                kept.push_str(body);
                kept.push('\n');
            }
            Some(_) => {}
            None if is_last && !line.ends_with('\n') => {}
            None => {
                return Err(RganError::file(
                    path,
                    format!("line {}: expected a step and {} values, found {body:?}", i + 1, names.len()),
                ));
            }
        }
    }
    Ok((Some(names), kept))
}

#[cfg(test)]
mod tests {
    use super::super::charts::{PLOT_SIZE, thin};
    use super::*;
    use crate::summary::{ReadValue, read_events};

    fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rgan-runlog-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        dir
    }

    fn csv_of(dir: &Path) -> String {
        std::fs::read_to_string(dir.join(SCALARS_CSV)).unwrap()
    }

    #[test]
    fn scalars_write_the_header_once_and_one_row_per_call() {
        let dir = fresh_dir("rows");
        let mut log = RunLog::open(&dir, None).unwrap();
        log.scalars(1, &[("loss/generator", 0.75), ("loss/discriminator", 1.25), ("steps_per_sec", 10.0)]).unwrap();
        log.scalars(2, &[("loss/generator", 0.5), ("loss/discriminator", 1.5), ("steps_per_sec", 12.5)]).unwrap();
        assert_eq!(
            csv_of(&dir),
            "step,loss/generator,loss/discriminator,steps_per_sec\n1,0.75,1.25,10\n2,0.5,1.5,12.5\n"
        );
        // Starting fresh truncates.
        drop(log);
        let mut log = RunLog::open(&dir, None).unwrap();
        assert_eq!(csv_of(&dir), "");
        log.scalars(1, &[("x", 1.0)]).unwrap();
        assert_eq!(csv_of(&dir), "step,x\n1,1\n");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn resuming_keeps_rows_up_to_the_step_and_the_header() {
        let dir = fresh_dir("resume");
        let mut log = RunLog::open(&dir, None).unwrap();
        for step in 1..=5 {
            log.scalars(step, &[("loss/generator", step as f64), ("loss/discriminator", 0.5)]).unwrap();
        }
        drop(log);
        // A crash in the middle of a row leaves a torn last line.
        let mut text = csv_of(&dir);
        text.push_str("6,0.");
        std::fs::write(dir.join(SCALARS_CSV), &text).unwrap();

        let mut log = RunLog::open(&dir, Some(3)).unwrap();
        assert_eq!(csv_of(&dir), "step,loss/generator,loss/discriminator\n1,1,0.5\n2,2,0.5\n3,3,0.5\n");
        log.scalars(4, &[("loss/generator", 40.0), ("loss/discriminator", 0.25)]).unwrap();
        assert_eq!(csv_of(&dir).lines().filter(|l| l.starts_with("4,")).collect::<Vec<_>>(), ["4,40,0.25"]);
        // The header came from the file: other names are refused.
        let e = log.scalars(5, &[("loss/generator", 1.0)]).unwrap_err().to_string();
        assert!(e.contains("loss/discriminator") && e.contains("scalars.csv"), "{e}");
        drop(log);

        // Resuming where no CSV exists starts one.
        let other = fresh_dir("resume-empty");
        let mut log = RunLog::open(&other, Some(100)).unwrap();
        log.scalars(101, &[("loss/generator", 1.0)]).unwrap();
        assert_eq!(csv_of(&other), "step,loss/generator\n101,1\n");
        std::fs::remove_dir_all(&dir).ok();
        std::fs::remove_dir_all(&other).ok();
    }

    #[test]
    fn resuming_from_a_malformed_csv_names_the_file_and_line() {
        let dir = fresh_dir("malformed");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(SCALARS_CSV), "step,a\n1,2\nnot a row\n3,4\n").unwrap();
        let e = RunLog::open(&dir, Some(2)).err().unwrap().to_string();
        assert!(e.contains("scalars.csv") && e.contains("line 3"), "{e}");
        std::fs::write(dir.join(SCALARS_CSV), "time,a\n1,2\n").unwrap();
        let e = RunLog::open(&dir, Some(2)).err().unwrap().to_string();
        assert!(e.contains("scalars.csv") && e.contains("step"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn mismatched_or_bad_names_are_errors_naming_them() {
        let dir = fresh_dir("names");
        let mut log = RunLog::open(&dir, None).unwrap();
        log.scalars(1, &[("loss/generator", 1.0), ("loss/discriminator", 2.0)]).unwrap();
        let e = log.scalars(2, &[("loss/discriminator", 2.0), ("loss/generator", 1.0)]).unwrap_err().to_string();
        assert!(e.contains("[\"loss/discriminator\", \"loss/generator\"]"), "{e}");
        let e = log.scalars(2, &[("loss/generator", 1.0), ("lr", 2.0)]).unwrap_err().to_string();
        assert!(e.contains("lr") && e.contains("loss/discriminator"), "{e}");
        for bad in [&[("a,b", 1.0)][..], &[("step", 1.0)], &[("", 1.0)], &[("x", 1.0), ("x", 2.0)], &[]] {
            assert!(matches!(log.scalars(2, bad), Err(RganError::InvalidArgument { .. })), "{bad:?}");
        }
        // Nothing was written by the refused calls.
        assert_eq!(csv_of(&dir), "step,loss/generator,loss/discriminator\n1,1,2\n");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn image_grids_and_scalars_reach_the_png_and_the_event_file() {
        let dir = fresh_dir("events");
        let mut log = RunLog::open(&dir, None).unwrap();
        log.scalars(7, &[("loss/generator", 0.5), ("steps_per_sec", 3.0)]).unwrap();
        let images = Tensor::<4>::zeros([5, 1, 3, 4], &Device::default());
        let path = log.image_grid(7, "generated", images, 2).unwrap();
        assert_eq!(path, dir.join("samples").join("step_000007.png"));
        let png = image::open(&path).unwrap();
        assert_eq!((png.width(), png.height()), (8, 9));
        let rgb = Tensor::<4>::ones([2, 3, 2, 2], &Device::default());
        let path = log.image_grid(7, "real/data set", rgb, 2).unwrap();
        assert_eq!(path, dir.join("samples").join("real_data_set_step_000007.png"));
        log.flush().unwrap();

        let events = read_events(log.event_file()).unwrap();
        assert!(log.event_file().starts_with(&dir));
        let values: Vec<(i64, &str, &ReadValue)> =
            events.iter().flat_map(|e| e.values.iter().map(move |(t, v)| (e.step, t.as_str(), v))).collect();
        assert!(values.contains(&(7, "loss/generator", &ReadValue::Scalar(0.5))), "{values:?}");
        assert!(values.contains(&(7, "steps_per_sec", &ReadValue::Scalar(3.0))), "{values:?}");
        let images: Vec<_> = values
            .iter()
            .filter_map(|(step, tag, v)| match v {
                ReadValue::Image { width, height, png } => Some((*step, *tag, *width, *height, png)),
                _ => None,
            })
            .collect();
        assert_eq!(images.len(), 2);
        assert_eq!((images[0].0, images[0].1, images[0].2, images[0].3), (7, "generated", 8, 9));
        assert_eq!(image::load_from_memory(images[0].4).unwrap().height(), 9);
        assert_eq!((images[1].0, images[1].1, images[1].2, images[1].3), (7, "real/data set", 4, 2));
        assert!(log.image_grid(8, "", Tensor::<4>::zeros([1, 1, 2, 2], &Device::default()), 1).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_second_open_writes_a_new_event_file() {
        let dir = fresh_dir("two-files");
        let first = RunLog::open(&dir, None).unwrap().event_file().to_path_buf();
        let second = RunLog::open(&dir, Some(0)).unwrap().event_file().to_path_buf();
        assert_ne!(first, second);
        assert!(first.is_file() && second.is_file());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_loss_plot_is_a_small_png_of_the_right_size() {
        let dir = fresh_dir("plot");
        let mut log = RunLog::open(&dir, None).unwrap();
        // More points than are drawn, and a non-loss column that is left out.
        for step in 0..2500 {
            let t = step as f64;
            log.scalars(
                step,
                &[
                    ("loss/generator", 2.0 / (1.0 + t / 100.0)),
                    ("loss/discriminator", 0.7 + (t / 50.0).sin() * 0.1),
                    ("steps_per_sec", 1e4),
                ],
            )
            .unwrap();
        }
        let path = log.plot_loss_curves().unwrap();
        assert_eq!(path, dir.join(LOSS_CURVES_PNG));
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() < 200_000, "{} bytes", bytes.len());
        let png = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(png.dimensions(), PLOT_SIZE);
        // Lines, a legend and text in more than one colour, on white.
        let colours: std::collections::HashSet<[u8; 3]> = png.pixels().map(|p| p.0).collect();
        assert!(colours.len() > 10, "{} colours", colours.len());
        let white = png.pixels().filter(|p| p.0 == [255, 255, 255]).count();
        assert!(white > png.pixels().len() / 2);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn plotting_errors_name_the_csv() {
        let dir = fresh_dir("plot-errors");
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out.png");
        let e = plot_loss_curves(dir.join("nope.csv"), &out).unwrap_err().to_string();
        assert!(e.contains("nope.csv") && e.contains("cannot read"), "{e}");
        let csv = dir.join("bad.csv");
        for (text, expected) in [
            ("", "no header"),
            ("step,steps_per_sec\n1,2\n", "no loss column"),
            ("step,loss/g\n1,x\n", "line 2"),
            ("step,loss/g\n1,1,1\n", "line 2"),
            ("step,loss/g\n", "no finite loss"),
        ] {
            std::fs::write(&csv, text).unwrap();
            let e = plot_loss_curves(&csv, &out).unwrap_err().to_string();
            assert!(e.contains("bad.csv") && e.contains(expected), "{text:?}: {e}");
        }
        assert!(!out.exists());
        // A CSV from before the `loss/` names plots its `*_loss` columns, one step is fine.
        std::fs::write(&csv, "step,d_loss,g_loss,steps_per_sec\n5,1.0,2.0,3.0\n").unwrap();
        plot_loss_curves(&csv, &out).unwrap();
        assert_eq!(image::open(&out).unwrap().width(), PLOT_SIZE.0);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn thinning_keeps_the_last_point() {
        let mut points: Vec<(f64, f64)> = (0..4999).map(|i| (i as f64, 0.0)).collect();
        thin(&mut points, 2000);
        assert!(points.len() <= 2001, "{}", points.len());
        assert_eq!(points.first().unwrap().0, 0.0);
        assert_eq!(points.last().unwrap().0, 4998.0);
    }
}
