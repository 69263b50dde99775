//! What is attached: serial ports and USBTMC instruments, as addresses.

use crate::address::Address;

/// An instrument port found on this machine: its address and what is known of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Where to open it.
    pub address: Address,
    /// What the system says of it: USB vendor and product ids, manufacturer, product and
    /// serial number where known (empty for a plain serial port).
    pub description: String,
}

/// The serial ports and USBTMC instruments attached, serial ports first, each sorted by
/// address, and the reasons why a kind could not be listed (e.g. no USB bus visible).
///
/// Serial ports come from `serialport` (on Linux, without libudev: `/sys/class/tty`, which
/// also gives a USB adapter's vendor and product); USBTMC instruments from `nusb` (with the
/// `usb` feature). Nothing is opened.
///
/// # Examples
///
/// ```
/// let (found, problems) = smq_instrument::list_instruments();
/// for f in &found {
///     println!("{}  {}", f.address, f.description);
/// }
/// for p in &problems {
///     eprintln!("{p}");
/// }
/// ```
pub fn list_instruments() -> (Vec<Found>, Vec<String>) {
    let mut problems = Vec::new();
    let mut found = Vec::new();
    for (kind, listed) in [
        ("serial ports", serial_ports()),
        ("USB devices", usbtmc_devices()),
    ] {
        match listed {
            Ok(mut some) => {
                some.sort_by_key(|f| f.address.to_string());
                found.extend(some);
            }
            Err(e) => problems.push(format!("cannot list {kind}: {e}")),
        }
    }
    (found, problems)
}

fn serial_ports() -> Result<Vec<Found>, String> {
    // `serialport` assumes this directory exists on Linux; a container may lack it.
    if cfg!(target_os = "linux") && !std::path::Path::new("/sys/class/tty").is_dir() {
        return Err("/sys/class/tty is not there".into());
    }
    let ports = serialport::available_ports().map_err(|e| e.to_string())?;
    Ok(ports
        .into_iter()
        .map(|p| {
            let description = match &p.port_type {
                serialport::SerialPortType::UsbPort(u) => {
                    let mut d = format!("USB {:04x}:{:04x}", u.vid, u.pid);
                    for s in [&u.manufacturer, &u.product].into_iter().flatten() {
                        d.push(' ');
                        d.push_str(s);
                    }
                    if let Some(s) = &u.serial_number {
                        d.push_str(&format!(" (serial {s})"));
                    }
                    d
                }
                serialport::SerialPortType::PciPort => "PCI serial port".into(),
                serialport::SerialPortType::BluetoothPort => "Bluetooth serial port".into(),
                serialport::SerialPortType::Unknown => String::new(),
            };
            Found {
                address: Address::serial(p.port_name),
                description,
            }
        })
        .collect())
}

#[cfg(feature = "usb")]
fn usbtmc_devices() -> Result<Vec<Found>, String> {
    let devices = crate::usbtmc::list_devices().map_err(|e| e.to_string())?;
    Ok(devices
        .into_iter()
        .map(|d| {
            let mut description = format!("USBTMC {:04x}:{:04x}", d.vendor, d.product);
            for s in [&d.manufacturer, &d.product_name].into_iter().flatten() {
                description.push(' ');
                description.push_str(s);
            }
            Found {
                address: d.address(),
                description,
            }
        })
        .collect())
}

#[cfg(not(feature = "usb"))]
fn usbtmc_devices() -> Result<Vec<Found>, String> {
    Err("this build has no USB support (feature `usb` of smq-instrument)".into())
}
