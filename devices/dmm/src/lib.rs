//! Driver for SCPI digital multimeters using the Keysight (HP/Agilent)
//! 34401A command set, which the Keithley 2000 also understands.
//!
//! # Guide
//!
//! Open the meter at its address ([`Instrument::open`]: a VISA resource string such as
//! `TCPIP0::192.168.0.20::INSTR`, `USB0::0x2A8D::0x1301::INSTR` or
//! `ASRL/dev/ttyUSB0::INSTR`, or a short form), configure a function with its range and
//! resolution, then either measure in one step ([`Dmm::read`],
//! [`Dmm::measure_voltage_dc`]) or arm and collect separately
//! ([`Dmm::initiate`], [`Dmm::trigger`], [`Dmm::fetch`]).
//! Configuration methods check the instrument's error queue, so a refused
//! setting fails with [`InstrumentError::Scpi`] naming the command.
//!
//! ```
//! # use smq_instrument::Instrument as _;
//! use smq_dmm::{Dmm, Range, TriggerSource};
//! # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
//! # let addr = sim.socket_address();
//! let mut dmm = Dmm::open(&addr)?;
//! dmm.reset()?;
//! dmm.configure_voltage_dc(Range::Value(10.0), Some(1e-5))?;
//! dmm.set_nplc(smq_dmm::Function::VoltageDc, 1.0)?;
//! let v = dmm.read()?;
//!
//! // Software-triggered acquisition.
//! dmm.set_trigger_source(TriggerSource::Bus)?;
//! dmm.initiate()?;
//! dmm.trigger()?;
//! let w = dmm.fetch()?;
//! # assert!(v.is_finite() && w.is_finite());
//! # Ok::<(), smq_instrument::InstrumentError>(())
//! ```
//!
//! # On a scheduler
//!
//! [`DmmDevice`] puts the meter behind its own one-slot queue of an
//! `smqsched` scheduler (see [`smq_instrument::Device`]): each method
//! submits one command and returns a promise, readings never overlap, and
//! their processing runs on other queues meanwhile.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod device;
mod driver;
mod types;

pub use device::DmmDevice;
pub use driver::Dmm;
pub use smq_instrument::{Instrument, InstrumentError, Result};
pub use types::{Function, OVERLOAD, Range, TriggerSource};
