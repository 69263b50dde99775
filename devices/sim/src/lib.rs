//! Simulated laboratory instruments.
//!
//! Each simulator speaks the same protocol as the real instrument, over a
//! real pseudo-terminal (open [`SimInstrument::serial_path`] as a serial port), over a
//! raw TCP socket on 127.0.0.1 ([`SimInstrument::tcp_addr`]) and, for the SCPI
//! instruments, over VXI-11 ([`SimInstrument::vxi11_address`]: an RPC port mapper and a
//! core channel on 127.0.0.1), so drivers are tested through the very transports they
//! use in the lab.
//!
//! * [`DmmModel`]: Keysight 34401A multimeter (SCPI).
//! * [`ScopeModel`]: Rigol DS1000Z oscilloscope (SCPI, binary waveform
//!   blocks).
//! * [`StageModel`]: Newport SMC100 motion controller (ASCII, CR LF).
//! * [`SimLab`] starts all three around one [`Physics`]: a sample with a
//!   Gaussian peak along the stage axis, read by the multimeter and shown as
//!   the amplitude of the scope's channel 1.
//!
//! # One runtime
//!
//! Every link of every simulator of the process (pseudo-terminals through `tokio-serial`'s
//! pairs, TCP clients, VXI-11 connections) is a task of one tokio runtime with two worker
//! threads. A simulated instrument answers the lines of each link in order; the links of
//! one instrument share its model, as the front panel and the interfaces of a real one
//! share its state. Drivers, on the other side, keep their blocking transports.
//!
//! # VXI-11 without root
//!
//! A VXI-11 client asks the RPC port mapper on port 111 where the instrument's core
//! channel is. Port 111 needs root, so each simulator serves its own port mapper on an
//! ephemeral port and says so in its address: `TCPIP0::127.0.0.1:PORT::INSTR`.
//! [`SimLab::serve_portmapper`] adds a port mapper on a chosen port (111 when run as root)
//! that sends clients to the scope, which then answers at `TCPIP0::127.0.0.1::INSTR`.
//!
//! # Behaviour
//!
//! Replies can be delayed ([`SimInstrument::set_latency`]); noise is drawn
//! from seeded generators, so runs are reproducible; stage moves take
//! `distance / velocity` of real time.
//!
//! # Reproducible runs
//!
//! Every value a simulator returns is a function of the seed and of what is asked, never
//! of the order in which requests arrive or of the time they arrive at:
//!
//! * The multimeter's noise (standard deviation [`DmmModel::noise`] / √NPLC) is drawn
//!   for each reading from a generator keyed by the seed, the instrument, the setting
//!   (function, integration time, stage position) and *n*, the number of readings
//!   taken before at that same setting.
//! * The scope's noise ([`ScopeModel::noise`] on every point) is keyed the same way by
//!   the timebase (scale and offset), the stage position and the number of captures
//!   before at that setting, with one stream per channel. The trigger fixes the phase:
//!   the sines cross zero upwards at t = 0, the trigger point.
//! * The stage has no motion noise: once a move is over it is exactly at the position
//!   asked (only a reading taken *during* a move depends on time).
//!
//! So a scan that asks for the same readings with the same seed gets the same numbers,
//! however a scheduler interleaves the requests to the three instruments. The generator is
//! ChaCha8 from `rand_chacha`, whose output does not change between platforms or versions,
//! and the keys are hashed by the crate itself. Two requests identical in every respect
//! (the same setting asked twice) are told apart only by *n*, so they get their values in
//! the order they come.
//!
//! ```
//! use smq_sim::{DmmModel, Model, Physics};
//! use std::sync::Arc;
//!
//! // Readings at 4 mm and at 6 mm, asked in either order, with the same seed.
//! let read = |order: [f64; 2]| {
//!     let sample = Arc::new(Physics::default());
//!     let mut dmm = DmmModel::new(Arc::clone(&sample), 5);
//!     let mut at = std::collections::BTreeMap::new();
//!     for x in order {
//!         sample.set_position(x);
//!         at.insert(x.to_string(), dmm.handle("READ?").unwrap());
//!     }
//!     at
//! };
//! assert_eq!(read([4.0, 6.0]), read([6.0, 4.0]));
//! ```
//!
//! # Faults
//!
//! [`SimInstrument::inject`] queues one-shot [`Fault`]s applied to the next
//! reply: [`Fault::Disconnect`] (half a reply, then the link closes),
//! [`Fault::Hang`] (half a reply, then nothing), [`Fault::Garbage`],
//! [`Fault::NoReply`], [`Fault::Slow`]. SCPI errors are
//! pushed with [`SimInstrument::push_error`],
//! stage faults with `with_model(|m| m.set_positioner_error(0x20))`.
//!
//! The whole instrument can be unplugged ([`SimInstrument::unplug`]: every link drops,
//! connections are refused, the serial path disappears), plugged in again
//! ([`SimInstrument::plug_in`]: same ports, same serial path, a new pseudo-terminal behind
//! it) or power-cycled ([`SimInstrument::power_cycle`]). Each call returns once it has
//! taken effect, so a test triggers each fault at a known point.
//!
//! # Holding replies
//!
//! [`SimInstrument::hold_after`] lets a number of replies through, then withholds the
//! following ones, in order, until [`SimInstrument::release`]; [`SimInstrument::wait_held`]
//! tells when a reply is withheld. A test can so stop an instrument at a known point of a
//! run, act while a task is known to be running, then let it finish.
//!
//! # Examples
//!
//! ```
//! use smq_instrument::{Connection, SerialConfig};
//! use smq_sim::{Fault, SimLab};
//! use std::time::Duration;
//!
//! let lab = SimLab::start(1).unwrap();
//! // Over the pseudo-terminal, as over a serial cable.
//! let mut dmm = Connection::serial("dmm", &lab.dmm.pty_path(), &SerialConfig::default())
//!     .unwrap()
//!     .with_timeout(Duration::from_millis(200));
//! assert!(dmm.query_parse::<f64>("READ?").is_ok());
//!
//! lab.dmm.inject(Fault::NoReply);
//! assert!(dmm.query("READ?").unwrap_err().is_timeout());
//! ```
//!
//! # The `smq-sim` binary
//!
//! `smq-sim [--seed N] [--latency-ms MS]` starts a [`SimLab`], prints
//! where to reach each instrument and runs until Ctrl-C:
//!
//! ```text
//! instrument  serial                           tcp                   vxi-11
//! dmm         /tmp/smq-sim-4711-0/dmm          127.0.0.1:40125       TCPIP0::127.0.0.1:40127::INSTR
//! scope       /tmp/smq-sim-4711-1/scope        127.0.0.1:36093       TCPIP0::127.0.0.1:36095::INSTR
//! stage       /tmp/smq-sim-4711-2/stage        127.0.0.1:44871       -
//! scope also at TCPIP0::127.0.0.1::INSTR (port mapper on port 111)
//! Ctrl-C to stop.
//! ```
//!
//! The last line appears when port 111 could be bound (as root). Any serial terminal,
//! SCPI or VXI-11 client can then talk to them, e.g. `Dmm::open("TCPIP0::127.0.0.1:40127::INSTR")`
//! or `Stage::open("ASRL/tmp/smq-sim-4711-2/stage::INSTR")`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod dmm;
mod fault;
mod lab;
mod link;
mod noise;
mod physics;
mod runtime;
mod scope;
mod scpi;
mod server;
mod shared;
mod stage;
mod supervisor;
mod vxi11;

pub use dmm::{DmmFunction, DmmModel};
pub use fault::Fault;
pub use lab::SimLab;
pub use physics::Physics;
pub use scope::{SCREEN_POINTS, SIGNAL_FREQUENCY, ScopeModel};
pub use server::SimInstrument;
pub use shared::Model;
pub use stage::StageModel;
