//! The `nusb` side: finding a USBTMC interface, and a [`BulkPipe`] over its endpoints.

use std::io;
use std::time::Duration;

use nusb::MaybeFuture;
use nusb::descriptors::TransferType;
use nusb::transfer::{Buffer, Bulk, ControlIn, ControlType, Direction, In, Interrupt, Out};

use super::frame::{USBTMC_CLASS, USBTMC_SUBCLASS};
use super::transport::{BulkPipe, Recipient};
use crate::error::{InstrumentError, Result};

/// A USBTMC interface found on the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsbtmcDevice {
    /// USB vendor id.
    pub vendor: u16,
    /// USB product id.
    pub product: u16,
    /// The serial number string, if the device has one.
    pub serial: Option<String>,
    /// The manufacturer string, if any.
    pub manufacturer: Option<String>,
    /// The product string, if any.
    pub product_name: Option<String>,
    /// The USBTMC interface's number.
    pub interface: u8,
}

impl UsbtmcDevice {
    /// The device's VISA address, `USB0::0xVVVV::0xPPPP[::SERIAL]::INSTR`.
    pub fn address(&self) -> crate::Address {
        crate::Address::Usbtmc {
            vendor: self.vendor,
            product: self.product,
            serial: self.serial.clone(),
        }
    }
}

/// The USBTMC interfaces on the USB buses (one entry per interface).
///
/// # Errors
///
/// If the buses cannot be enumerated.
pub fn list_devices() -> io::Result<Vec<UsbtmcDevice>> {
    let mut found = Vec::new();
    for dev in nusb::list_devices().wait().map_err(io::Error::from)? {
        for intf in dev.interfaces() {
            if intf.class() == USBTMC_CLASS && intf.subclass() == USBTMC_SUBCLASS {
                found.push(UsbtmcDevice {
                    vendor: dev.vendor_id(),
                    product: dev.product_id(),
                    serial: dev.serial_number().map(str::to_owned),
                    manufacturer: dev.manufacturer_string().map(str::to_owned),
                    product_name: dev.product_string().map(str::to_owned),
                    interface: intf.interface_number(),
                });
            }
        }
    }
    Ok(found)
}

/// A claimed USBTMC interface and its bulk (and interrupt) endpoints, through `nusb`.
pub struct NusbPipe {
    interface: nusb::Interface,
    bulk_out: nusb::Endpoint<Bulk, Out>,
    bulk_in: nusb::Endpoint<Bulk, In>,
    interrupt_in: Option<nusb::Endpoint<Interrupt, In>>,
    describe: String,
}

impl std::fmt::Debug for NusbPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NusbPipe")
            .field("device", &self.describe)
            .finish_non_exhaustive()
    }
}

/// `nusb`'s transfer errors in the [`Transport`](crate::Transport) conventions.
fn transfer_error(e: nusb::transfer::TransferError) -> io::Error {
    use nusb::transfer::TransferError as T;
    match e {
        T::Cancelled => io::ErrorKind::TimedOut.into(),
        T::Disconnected => io::ErrorKind::NotConnected.into(),
        other => io::Error::other(other.to_string()),
    }
}

impl NusbPipe {
    /// Open the first USBTMC device with `vendor` and `product` (and `serial`, if given),
    /// claim its USBTMC interface (detaching the kernel's driver) and its endpoints.
    ///
    /// # Errors
    ///
    /// [`InstrumentError::Io`] if no such device is attached, or it cannot be opened
    /// (permissions: see the [module docs](super)).
    pub fn open(vendor: u16, product: u16, serial: Option<&str>, name: &str) -> Result<Self> {
        let what = match serial {
            Some(s) => format!("USB device {vendor:04x}:{product:04x} {s}"),
            None => format!("USB device {vendor:04x}:{product:04x}"),
        };
        let io_err = |source: io::Error| InstrumentError::Io {
            device: name.to_owned(),
            command: format!("open {what}"),
            source,
        };
        let info = nusb::list_devices()
            .wait()
            .map_err(|e| io_err(e.into()))?
            .find(|d| {
                d.vendor_id() == vendor
                    && d.product_id() == product
                    && serial.is_none_or(|s| d.serial_number() == Some(s))
            })
            .ok_or_else(|| io_err(io::Error::new(io::ErrorKind::NotFound, "not attached")))?;
        let number = info
            .interfaces()
            .find(|i| i.class() == USBTMC_CLASS && i.subclass() == USBTMC_SUBCLASS)
            .map(nusb::InterfaceInfo::interface_number)
            .ok_or_else(|| io_err(io::Error::other("the device has no USBTMC interface")))?;
        let device = info.open().wait().map_err(|e| io_err(e.into()))?;
        let interface = device
            .detach_and_claim_interface(number)
            .wait()
            .map_err(|e| io_err(e.into()))?;
        let desc = interface
            .descriptor()
            .ok_or_else(|| io_err(io::Error::other("no interface descriptor")))?;
        let find = |ty: TransferType, dir: Direction| {
            desc.endpoints()
                .find(|e| e.transfer_type() == ty && e.direction() == dir)
                .map(|e| e.address())
        };
        let out_addr = find(TransferType::Bulk, Direction::Out)
            .ok_or_else(|| io_err(io::Error::other("no Bulk-OUT endpoint")))?;
        let in_addr = find(TransferType::Bulk, Direction::In)
            .ok_or_else(|| io_err(io::Error::other("no Bulk-IN endpoint")))?;
        let int_addr = find(TransferType::Interrupt, Direction::In);
        let bulk_out = interface
            .endpoint::<Bulk, Out>(out_addr)
            .map_err(|e| io_err(e.into()))?;
        let bulk_in = interface
            .endpoint::<Bulk, In>(in_addr)
            .map_err(|e| io_err(e.into()))?;
        let interrupt_in = match int_addr {
            Some(a) => Some(
                interface
                    .endpoint::<Interrupt, In>(a)
                    .map_err(|e| io_err(e.into()))?,
            ),
            None => None,
        };
        Ok(Self {
            interface,
            bulk_out,
            bulk_in,
            interrupt_in,
            describe: format!("usbtmc {what}"),
        })
    }
}

impl BulkPipe for NusbPipe {
    fn bulk_out(&mut self, data: &[u8], timeout: Duration) -> io::Result<()> {
        let c = self.bulk_out.transfer_blocking(Buffer::from(data), timeout);
        c.status.map_err(transfer_error)
    }

    fn bulk_in(&mut self, max: usize, timeout: Duration) -> io::Result<Vec<u8>> {
        let packet = self.bulk_in.max_packet_size().max(1);
        let len = max.div_ceil(packet) * packet;
        let c = self.bulk_in.transfer_blocking(Buffer::new(len), timeout);
        c.status.map_err(transfer_error)?;
        let mut v = c.buffer.into_vec();
        v.truncate(c.actual_len);
        Ok(v)
    }

    fn control_in(
        &mut self,
        recipient: Recipient,
        request: u8,
        value: u16,
        length: u16,
        timeout: Duration,
    ) -> io::Result<Vec<u8>> {
        let (recipient, index) = match recipient {
            Recipient::Interface => (
                nusb::transfer::Recipient::Interface,
                u16::from(self.interface.interface_number()),
            ),
            Recipient::BulkOut => (
                nusb::transfer::Recipient::Endpoint,
                u16::from(self.bulk_out.endpoint_address()),
            ),
            Recipient::BulkIn => (
                nusb::transfer::Recipient::Endpoint,
                u16::from(self.bulk_in.endpoint_address()),
            ),
        };
        self.interface
            .control_in(
                ControlIn {
                    control_type: ControlType::Class,
                    recipient,
                    request,
                    value,
                    index,
                    length,
                },
                timeout,
            )
            .wait()
            .map_err(transfer_error)
    }

    fn clear_halt(&mut self, endpoint: Recipient) -> io::Result<()> {
        let r = match endpoint {
            Recipient::BulkIn => self.bulk_in.clear_halt().wait(),
            _ => self.bulk_out.clear_halt().wait(),
        };
        r.map_err(io::Error::from)
    }

    fn max_packet_size(&self) -> usize {
        self.bulk_in.max_packet_size()
    }

    fn interrupt_in(&mut self, timeout: Duration) -> io::Result<Option<Vec<u8>>> {
        let Some(ep) = self.interrupt_in.as_mut() else {
            return Ok(None);
        };
        let len = ep.max_packet_size().max(2);
        let c = ep.transfer_blocking(Buffer::new(len), timeout);
        c.status.map_err(transfer_error)?;
        let mut v = c.buffer.into_vec();
        v.truncate(c.actual_len);
        Ok(Some(v))
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

impl super::UsbtmcTransport<NusbPipe> {
    /// Open the USBTMC device `vendor`:`product` (with `serial`, if given) through `nusb`;
    /// `name` names the instrument in errors.
    ///
    /// # Errors
    ///
    /// As [`NusbPipe::open`].
    pub fn open(
        vendor: u16,
        product: u16,
        serial: Option<&str>,
        _timeout: Duration,
        name: &str,
    ) -> Result<Self> {
        Ok(Self::new(NusbPipe::open(vendor, product, serial, name)?))
    }
}
