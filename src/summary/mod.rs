//! Training summaries that TensorBoard opens: event files with scalars and images.
//!
//! No maintained crate writes TensorBoard event files (`tensorboard-rs` was last released in
//! 2022 on protobuf 2), so rgan writes them itself over two well-kept crates: `prost` for the
//! protobuf messages (`Event`, `Summary`, `Summary.Image`) and `crc32c` for the TFRecord framing.
//! Tests read the files back with TensorBoard's own reader.

mod event_writer;

pub use event_writer::{EventWriter, ReadEvent, ReadValue, read_events};
