//! Driver for RS-232 motion controllers speaking the Newport SMC100 ASCII
//! protocol.
//!
//! # Guide
//!
//! The SMC100 talks at 57600 baud, 8N1, XON/XOFF, with CR LF terminators
//! ([`Stage::serial_config`]). Every command starts with the controller
//! address (1 to 31) and a two-letter code: `1OR` homes, `1PA5.0` moves to
//! 5 mm, `1PR-0.5` moves by -0.5 mm, `1TP` tells the position, `1TS` the
//! positioner errors (4 hex digits) and controller state (2 hex digits,
//! e.g. `33` READY, `28` MOVING, `0A` NOT REFERENCED), `1TE` the last
//! command error, `1ST` stops, `1VA` sets the velocity.
//!
//! After power-up the stage is NOT REFERENCED and refuses moves until it is
//! homed. Moves return at once; [`Stage::wait_motion_done`] polls the
//! state until READY and turns positioner errors into
//! [`InstrumentError::Device`] with the manual's meaning of each bit.
//!
//! ```
//! # use smq_instrument::Instrument as _;
//! use smq_stage::Stage;
//! use std::time::Duration;
//! # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
//! # let addr = sim.socket_address();
//! let mut stage = Stage::open(&addr)?;
//! if stage.state()?.is_not_referenced() {
//!     stage.home()?;
//!     stage.wait_motion_done(Duration::from_secs(30))?;
//! }
//! stage.set_velocity(50.0)?;
//! for i in 0..3 {
//!     stage.move_to(f64::from(i) * 0.5, Duration::from_secs(5))?;
//!     println!("at {} mm", stage.position()?);
//! }
//! # Ok::<(), smq_instrument::InstrumentError>(())
//! ```
//!
//! # On a scheduler
//!
//! [`StageDevice`] puts the controller behind its own one-slot queue of an
//! `smqsched` scheduler (see [`smq_instrument::Device`]):
//! [`StageDevice::move_to`] moves, waits for the motion to end and returns
//! the position reached; [`StageDevice::move_to_held`] also keeps the stage
//! until the acquisition at that position releases it, so a scan's moves
//! and acquisitions are never interleaved wrongly.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod device;
mod driver;
mod status;

pub use device::{DEFAULT_MOTION_TIMEOUT, StageDevice};
pub use driver::Stage;
pub use smq_instrument::{Instrument, InstrumentError, Result};
pub use status::{ControllerState, PositionerErrors, Status, command_error_description};
