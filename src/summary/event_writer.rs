//! TensorBoard event files: TFRecord framing of `tensorflow.Event` protobuf messages.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Result, RganError};

/// `tensorflow.Event` (tensorflow/core/util/event.proto), the fields rgan writes.
#[derive(Clone, PartialEq, prost::Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(string, optional, tag = "3")]
    file_version: Option<String>,
    #[prost(message, optional, tag = "5")]
    summary: Option<Summary>,
}

/// `tensorflow.Summary` (tensorflow/core/framework/summary.proto).
#[derive(Clone, PartialEq, prost::Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<SummaryValue>,
}

/// `tensorflow.Summary.Value`: a scalar (`simple_value`) or an image.
#[derive(Clone, PartialEq, prost::Message)]
struct SummaryValue {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(float, optional, tag = "2")]
    simple_value: Option<f32>,
    #[prost(message, optional, tag = "4")]
    image: Option<SummaryImage>,
}

/// `tensorflow.Summary.Image`: an encoded PNG and its size.
#[derive(Clone, PartialEq, prost::Message)]
struct SummaryImage {
    #[prost(int32, tag = "1")]
    height: i32,
    #[prost(int32, tag = "2")]
    width: i32,
    #[prost(int32, tag = "3")]
    colorspace: i32,
    #[prost(bytes = "vec", tag = "4")]
    encoded_image_string: Vec<u8>,
}

/// TFRecord's masked CRC32C.
fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Writes a TensorBoard event file (`events.out.tfevents.<time>.<host>.rgan`) in a log
/// directory: scalars and PNG images, each at a step. Records are flushed on [`EventWriter::flush`]
/// and on drop.
///
/// ```
/// use rgan::summary::{read_events, EventWriter};
/// let dir = std::env::temp_dir().join(format!("rgan-doc-events-{}", std::process::id()));
/// let mut writer = EventWriter::create(&dir).unwrap();
/// writer.add_scalar("loss/generator", 0.7, 10).unwrap();
/// writer.flush().unwrap();
/// let events = read_events(writer.path()).unwrap();
/// assert_eq!(events.last().unwrap().step, 10);
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub struct EventWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl EventWriter {
    /// Creates the log directory if needed and a new event file in it (starting with the
    /// `brain.Event:2` version record TensorBoard expects).
    pub fn create(logdir: impl AsRef<Path>) -> Result<Self> {
        let logdir = logdir.as_ref();
        std::fs::create_dir_all(logdir)
            .map_err(|e| RganError::File { path: logdir.to_path_buf(), reason: format!("cannot create: {e}") })?;
        let secs = now() as u64;
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
        let mut path = logdir.join(format!("events.out.tfevents.{secs}.{host}.rgan"));
        let mut n = 1;
        while path.exists() {
            path = logdir.join(format!("events.out.tfevents.{secs}.{host}.rgan.{n}"));
            n += 1;
        }
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| RganError::File { path: path.clone(), reason: format!("cannot create: {e}") })?;
        let mut writer = Self { path, out: BufWriter::new(file) };
        writer.write_event(&Event {
            wall_time: now(),
            step: 0,
            file_version: Some("brain.Event:2".into()),
            summary: None,
        })?;
        writer.flush()?;
        Ok(writer)
    }

    /// The event file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_event(&mut self, event: &Event) -> Result<()> {
        let data = prost::Message::encode_to_vec(event);
        let len = (data.len() as u64).to_le_bytes();
        let io = |e: std::io::Error| RganError::File { path: self.path.clone(), reason: format!("cannot write: {e}") };
        let mut record = Vec::with_capacity(data.len() + 16);
        record.extend_from_slice(&len);
        record.extend_from_slice(&masked_crc(&len).to_le_bytes());
        record.extend_from_slice(&data);
        record.extend_from_slice(&masked_crc(&data).to_le_bytes());
        self.out.write_all(&record).map_err(io)
    }

    fn write_value(&mut self, step: u64, value: SummaryValue) -> Result<()> {
        let event = Event {
            wall_time: now(),
            step: step as i64,
            file_version: None,
            summary: Some(Summary { value: vec![value] }),
        };
        self.write_event(&event)
    }

    /// A scalar (TensorBoard's "Scalars" tab).
    pub fn add_scalar(&mut self, tag: &str, value: f64, step: u64) -> Result<()> {
        self.write_value(step, SummaryValue { tag: tag.into(), simple_value: Some(value as f32), image: None })
    }

    /// An image (TensorBoard's "Images" tab): `png` is an encoded PNG of `width x height` with
    /// `channels` channels (1 gray, 3 RGB, 4 RGBA).
    pub fn add_png(&mut self, tag: &str, png: Vec<u8>, width: u32, height: u32, channels: u8, step: u64) -> Result<()> {
        let image = SummaryImage {
            height: height as i32,
            width: width as i32,
            colorspace: i32::from(channels),
            encoded_image_string: png,
        };
        self.write_value(step, SummaryValue { tag: tag.into(), simple_value: None, image: Some(image) })
    }

    /// Writes buffered records to disk.
    pub fn flush(&mut self) -> Result<()> {
        let path = self.path.clone();
        self.out.flush().map_err(|e| RganError::File { path, reason: format!("cannot write: {e}") })
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

/// One value of an event read back by [`read_events`].
#[derive(Clone, Debug, PartialEq)]
pub enum ReadValue {
    /// A scalar.
    Scalar(f32),
    /// An encoded image, with its width and height.
    Image {
        /// Width in pixels.
        width: i32,
        /// Height in pixels.
        height: i32,
        /// The encoded PNG.
        png: Vec<u8>,
    },
}

/// One event read back by [`read_events`].
#[derive(Clone, Debug, PartialEq)]
pub struct ReadEvent {
    /// The step.
    pub step: i64,
    /// The version record's `file_version`, if this is it.
    pub file_version: Option<String>,
    /// Tagged values.
    pub values: Vec<(String, ReadValue)>,
}

/// Reads an event file back, checking both CRCs of every record; an error names the file and the
/// bad record.
///
/// ```
/// use rgan::summary::{read_events, EventWriter, ReadValue};
/// let dir = std::env::temp_dir().join(format!("rgan-doc-read-{}", std::process::id()));
/// let mut w = EventWriter::create(&dir).unwrap();
/// w.add_scalar("x", 1.5, 3).unwrap();
/// w.flush().unwrap();
/// let events = read_events(w.path()).unwrap();
/// assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
/// assert_eq!(events[1].values[0], ("x".to_string(), ReadValue::Scalar(1.5)));
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub fn read_events(path: impl AsRef<Path>) -> Result<Vec<ReadEvent>> {
    let path = path.as_ref();
    let err = |reason: String| RganError::File { path: path.to_path_buf(), reason };
    let mut bytes = Vec::new();
    File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(|e| err(format!("cannot read: {e}")))?;
    let mut events = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let record = events.len();
        let header = bytes.get(at..at + 12).ok_or_else(|| err(format!("record {record}: truncated header")))?;
        let len = u64::from_le_bytes(header[..8].try_into().expect("8 bytes")) as usize;
        if masked_crc(&header[..8]) != u32::from_le_bytes(header[8..12].try_into().expect("4 bytes")) {
            return Err(err(format!("record {record}: length CRC mismatch")));
        }
        let data = bytes.get(at + 12..at + 12 + len).ok_or_else(|| err(format!("record {record}: truncated data")))?;
        let crc =
            bytes.get(at + 12 + len..at + 16 + len).ok_or_else(|| err(format!("record {record}: truncated CRC")))?;
        if masked_crc(data) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
            return Err(err(format!("record {record}: data CRC mismatch")));
        }
        let event: Event =
            prost::Message::decode(data).map_err(|e| err(format!("record {record}: not an Event: {e}")))?;
        let values = event
            .summary
            .map(|s| s.value)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| {
                let value = match (v.simple_value, v.image) {
                    (Some(x), _) => ReadValue::Scalar(x),
                    (None, Some(i)) => {
                        ReadValue::Image { width: i.width, height: i.height, png: i.encoded_image_string }
                    }
                    (None, None) => return None,
                };
                Some((v.tag, value))
            })
            .collect();
        events.push(ReadEvent { step: event.step, file_version: event.file_version, values });
        at += 16 + len;
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorflow() {
        // TF's masked CRC of the 8-byte length of an empty record (tensorflow/core/lib/hash/crc32c).
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        let crc = crc32c::crc32c(b"");
        assert_eq!(masked_crc(b""), ((crc >> 15) | (crc << 17)).wrapping_add(0xa282_ead8));
    }

    #[test]
    fn a_corrupted_record_is_reported() {
        let dir = std::env::temp_dir().join(format!("rgan-events-corrupt-{}", std::process::id()));
        let mut w = EventWriter::create(&dir).unwrap();
        w.add_scalar("loss", 1.0, 1).unwrap();
        w.flush().unwrap();
        let mut bytes = std::fs::read(w.path()).unwrap();
        let n = bytes.len();
        bytes[n - 6] ^= 0xff;
        std::fs::write(w.path(), &bytes).unwrap();
        let e = read_events(w.path()).unwrap_err().to_string();
        assert!(e.contains("CRC mismatch") && e.contains("record 1"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
