//! Driver for oscilloscopes with the Rigol DS1000Z command set.
//!
//! # Guide
//!
//! Waveforms travel as IEEE 488.2 binary blocks: `:WAV:DATA?` answers
//! `#9000001200` followed by 1200 one-byte codes. The preamble
//! (`:WAV:PRE?`, [`Preamble`]) gives what is needed to turn codes into
//! volts and indices into seconds, and [`Scope::read_waveform`] does all
//! of it, returning a [`Waveform`] with `t` and `v` arrays.
//!
//! ```
//! use smq_scope::Scope;
//! # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
//! # let address = sim.serial_address();
//! use smq_instrument::Instrument;
//! // address: "USB0::0x1AB1::0x04CE::DS1ZA000000001::INSTR", "TCPIP0::192.168.0.30::INSTR", ...
//! let mut scope = Scope::open(&address)?;
//! scope.stop()?;
//! let w = scope.read_waveform(1)?;
//! println!("{} points over {:.3} ms, amplitude {:.3} V",
//!     w.v.len(), 1e3 * (w.t[w.t.len() - 1] - w.t[0]), w.amplitude());
//! scope.run()?;
//! # Ok::<(), smq_instrument::InstrumentError>(())
//! ```
//!
//! # On a scheduler
//!
//! [`ScopeDevice`] puts the scope behind its own one-slot queue of an
//! `smqsched` scheduler (see [`smq_instrument::Device`]):
//! [`ScopeDevice::waveform`] returns a promise of a [`Waveform`] that
//! processing tasks on other queues take as input;
//! [`ScopeDevice::waveform_releasing`] records at a position held by a stage
//! move.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod device;
mod driver;
mod preamble;

pub use device::ScopeDevice;
pub use driver::{Scope, Waveform};
pub use preamble::{Preamble, PreambleParseError, WaveformFormat, WaveformMode};
pub use smq_instrument::{Instrument, InstrumentError, Result};
