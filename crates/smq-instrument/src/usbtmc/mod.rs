//! USBTMC: instruments on USB that speak the USB Test & Measurement Class (USB488
//! subclass), as most bench oscilloscopes, multimeters and generators do (Rigol, Siglent,
//! Keysight, Tektronix...), without libusb or a VISA installation.
//!
//! The protocol is in plain functions ([`dev_dep_msg_out`], [`request_dev_dep_msg_in`],
//! [`parse_dev_dep_msg_in`], [`next_tag`]) and in [`UsbtmcTransport`], which runs messages,
//! aborts, device clear and the status byte over any [`BulkPipe`]. Both are checked against
//! the byte sequences of the USBTMC 1.0 and USB488 specifications. With the `usb` feature,
//! [`NusbPipe`] implements [`BulkPipe`] with `nusb` (pure Rust), and
//! [`Connection::open`](crate::Connection::open) opens addresses such as
//! `USB0::0x1AB1::0x04CE::DS1ZA000000001::INSTR`.
//!
//! **This code has not met real hardware here**: it follows the specifications and is
//! tested against their byte sequences, not against an instrument. Reports are welcome.
//!
//! # Permissions (Linux)
//!
//! The device node (`/dev/bus/usb/BUS/DEV`) must be writable by the user; the kernel's own
//! `usbtmc` driver, if loaded, is detached from the interface when it is claimed. A udev
//! rule in `/etc/udev/rules.d/99-usbtmc.rules` gives every device with a USBTMC interface
//! (class `fe`, subclass `03`) to the group `plugdev`; then
//! `sudo udevadm control --reload && sudo udevadm trigger`, replug the instrument, and be a
//! member of the group:
//!
//! ```text
//! SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ENV{ID_USB_INTERFACES}=="*:fe03??:*", MODE="0660", GROUP="plugdev"
//! ```
//!
//! or, narrower, for one instrument by the vendor and product ids `smq instruments` lists
//! (here a Rigol DS1000Z):
//!
//! ```text
//! SUBSYSTEM=="usb", ATTR{idVendor}=="1ab1", ATTR{idProduct}=="04ce", MODE="0660", GROUP="plugdev"
//! ```
//!
//! # Examples
//!
//! A transport over a pipe of one's own (here one that answers `*IDN?` as a device would):
//!
//! ```
//! use smq_instrument::usbtmc::{BulkPipe, Recipient, UsbtmcTransport};
//! use smq_instrument::Connection;
//! use std::io;
//! use std::time::Duration;
//!
//! struct Loopback(Vec<u8>);
//!
//! impl BulkPipe for Loopback {
//!     fn bulk_out(&mut self, data: &[u8], _: Duration) -> io::Result<()> {
//!         if data[0] == 2 {
//!             // REQUEST_DEV_DEP_MSG_IN: answer with the identification, EOM set.
//!             let reply = b"ACME,USB1,42,1.0\n";
//!             self.0 = vec![2, data[1], !data[1], 0, reply.len() as u8, 0, 0, 0, 1, 0, 0, 0];
//!             self.0.extend_from_slice(reply);
//!         }
//!         Ok(())
//!     }
//!     fn bulk_in(&mut self, _: usize, _: Duration) -> io::Result<Vec<u8>> {
//!         Ok(std::mem::take(&mut self.0))
//!     }
//!     fn control_in(&mut self, _: Recipient, _: u8, _: u16, _: u16, _: Duration) -> io::Result<Vec<u8>> {
//!         Ok(vec![1])
//!     }
//!     fn clear_halt(&mut self, _: Recipient) -> io::Result<()> {
//!         Ok(())
//!     }
//!     fn max_packet_size(&self) -> usize {
//!         64
//!     }
//!     fn describe(&self) -> String {
//!         "usbtmc loopback".into()
//!     }
//! }
//!
//! let mut conn = Connection::new("acme", UsbtmcTransport::new(Loopback(Vec::new())));
//! assert_eq!(conn.idn()?.model, "USB1");
//! # Ok::<(), smq_instrument::InstrumentError>(())
//! ```

mod frame;
#[cfg(feature = "usb")]
mod nusb_pipe;
#[cfg(test)]
mod tests;
mod transport;

pub use frame::{
    CHECK_ABORT_BULK_IN_STATUS, CHECK_ABORT_BULK_OUT_STATUS, CHECK_CLEAR_STATUS, DEV_DEP_MSG_OUT,
    FrameError, GET_CAPABILITIES, HEADER_LEN, INITIATE_ABORT_BULK_IN, INITIATE_ABORT_BULK_OUT,
    INITIATE_CLEAR, MsgIn, READ_STATUS_BYTE, REQUEST_DEV_DEP_MSG_IN, Status, USBTMC_CLASS,
    USBTMC_SUBCLASS, dev_dep_msg_out, next_status_tag, next_tag, parse_dev_dep_msg_in,
    request_dev_dep_msg_in,
};
#[cfg(feature = "usb")]
pub use nusb_pipe::{NusbPipe, UsbtmcDevice, list_devices};
pub use transport::{BulkPipe, DEFAULT_MAX_TRANSFER, Recipient, UsbtmcTransport};
