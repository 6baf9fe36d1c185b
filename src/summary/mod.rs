//! A training run's summaries: TensorBoard event files (scalars and images), the run log of a log
//! folder (`scalars.csv`, sample grids), charts of its curves and image grids.
//!
//! No maintained crate writes TensorBoard event files (`tensorboard-rs` was last released in
//! 2022 on protobuf 2), so rgan writes them itself over two well-kept crates: `prost` for the
//! protobuf messages (`Event`, `Summary`, `Summary.Image`) and `crc32c` for the TFRecord framing.
//! Tests read the files back with TensorBoard's own reader.

mod charts;
mod event_writer;
mod images;
mod run_log;

pub use charts::plot_loss_curves;
pub(crate) use charts::{ChartLine, draw_chart};
pub use event_writer::{EventWriter, ReadEvent, ReadValue, read_events};
pub use images::{ImageGrid, image_grid, save_image_grid};
pub use run_log::RunLog;
