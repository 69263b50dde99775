//! Instrument addresses: VISA resource strings and the short forms.

use std::fmt;
use std::str::FromStr;

/// The RPC port mapper's well-known port, where a VXI-11 client asks for the instrument's
/// core channel.
///
/// # Examples
///
/// ```
/// let a: smq_instrument::Address = "TCPIP0::192.168.0.30::INSTR".parse()?;
/// assert_eq!(a, smq_instrument::Address::Vxi11 {
///     host: "192.168.0.30".into(),
///     device: "inst0".into(),
///     portmapper: smq_instrument::PORTMAPPER_PORT,
/// });
/// # Ok::<(), smq_instrument::AddressError>(())
/// ```
pub const PORTMAPPER_PORT: u16 = 111;

/// Every address form, one per line, as error messages list them.
///
/// # Examples
///
/// ```
/// assert!(smq_instrument::ADDRESS_FORMS.contains("::SOCKET"));
/// ```
pub const ADDRESS_FORMS: &str = concat!(
    "  TCPIP[n]::HOST::INSTR                   VXI-11, device inst0 (TCPIP0::192.168.0.30::INSTR)\n",
    "  TCPIP[n]::HOST::DEVICE::INSTR           VXI-11, named device (TCPIP::192.168.0.30::inst0::INSTR)\n",
    "  TCPIP[n]::HOST:PORT::INSTR              VXI-11 with the RPC port mapper on PORT instead of 111\n",
    "  TCPIP[n]::HOST::PORT::SOCKET            raw SCPI socket (TCPIP0::192.168.0.30::5025::SOCKET)\n",
    "  USB[n]::VID::PID[::SERIAL]::INSTR       USBTMC (USB0::0x1AB1::0x04CE::DS1ZA000000001::INSTR)\n",
    "  ASRL<PATH>::INSTR                       serial port (ASRL/dev/ttyUSB0::INSTR, ASRLCOM3::INSTR)\n",
    "  /PATH, ./PATH or serial:PATH            serial port (/dev/ttyUSB0)\n",
    "  HOST:PORT or tcp:HOST:PORT              raw TCP socket (192.168.0.30:5555)",
);

/// Where an instrument is reached: one string, in the VISA resource-string convention labs
/// know, or one of the short forms.
///
/// Parsed with [`FromStr`]; the keywords (`TCPIP`, `USB`, `ASRL`, `INSTR`, `SOCKET`) are
/// case-insensitive and the board number after them (`TCPIP0`, `USB1`) is accepted and
/// ignored. [`Display`](fmt::Display) gives the canonical VISA form, which parses back to the
/// same address.
///
/// | text | address |
/// |---|---|
/// | `TCPIP0::192.168.0.30::INSTR` | [`Vxi11`](Self::Vxi11), device `inst0`, port mapper on 111 |
/// | `TCPIP::host::inst1::INSTR`, `TCPIP0::host::gpib0,5::INSTR` | [`Vxi11`](Self::Vxi11), that device |
/// | `TCPIP0::127.0.0.1:5111::INSTR` | [`Vxi11`](Self::Vxi11) with its port mapper on port 5111 |
/// | `TCPIP0::192.168.0.30::5025::SOCKET`, `192.168.0.30:5025`, `tcp:host:5025` | [`Socket`](Self::Socket) |
/// | `USB0::0x1AB1::0x04CE::DS1ZA000000001::INSTR`, `USB::0x1AB1::0x04CE::INSTR` | [`Usbtmc`](Self::Usbtmc) |
/// | `ASRL/dev/ttyUSB0::INSTR`, `/dev/ttyUSB0`, `./port`, `serial:COM3` | [`Serial`](Self::Serial) |
///
/// The port mapper port in the host field (`HOST:PORT` in a `TCPIP...::INSTR` string) is an
/// extension of this crate: VISA always asks port 111, which only a privileged program can
/// serve, so a VXI-11 server run by an ordinary user (such as the simulators of `smq-sim`)
/// serves its port mapper elsewhere and says so in this form.
///
/// A malformed address is an [`AddressError`] whose message says what was expected and
/// lists every form ([`ADDRESS_FORMS`]).
///
/// # Examples
///
/// ```
/// use smq_instrument::Address;
///
/// let scope: Address = "USB0::0x1AB1::0x04CE::DS1ZA000000001::INSTR".parse()?;
/// assert_eq!(scope, Address::Usbtmc {
///     vendor: 0x1ab1,
///     product: 0x04ce,
///     serial: Some("DS1ZA000000001".into()),
/// });
/// let dmm: Address = "192.168.0.20:5025".parse()?;
/// assert_eq!(dmm.to_string(), "TCPIP0::192.168.0.20::5025::SOCKET");
/// assert!("TCPIP0::192.168.0.20::SOCKET".parse::<Address>().is_err()); // no port
/// # Ok::<(), smq_instrument::AddressError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// A serial port: RS-232, USB-CDC (`/dev/ttyACM0`, `/dev/ttyUSB0`, `COM3`), a
    /// pseudo-terminal.
    Serial {
        /// The port's path or name.
        path: String,
    },
    /// A raw TCP socket (SCPI instruments listen on port 5025 by convention, the Rigol
    /// DS1000Z on 5555; also serial-to-Ethernet adapters).
    Socket {
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A VXI-11 instrument (ONC RPC over TCP): the port mapper on `host:portmapper` gives
    /// the core channel's port, where a link to `device` is created.
    Vxi11 {
        /// Host name or IP address.
        host: String,
        /// The device name on that host: `inst0` for a LAN instrument, `gpib0,5` behind a
        /// LAN/GPIB gateway.
        device: String,
        /// The RPC port mapper's port ([`PORTMAPPER_PORT`] unless given).
        portmapper: u16,
    },
    /// A USBTMC (USB488) instrument, by USB vendor and product id and, optionally, its
    /// serial number (the first match is used without one).
    Usbtmc {
        /// USB vendor id (`0x1AB1` for Rigol).
        vendor: u16,
        /// USB product id.
        product: u16,
        /// The serial number, as the instrument reports it in its USB descriptor.
        serial: Option<String>,
    },
}

/// Why a text is not an [`Address`]: the text, what was wrong, and (in the message) every
/// accepted form.
///
/// # Examples
///
/// ```
/// let err = "USB0::0xZZZZ::0x04CE::INSTR".parse::<smq_instrument::Address>().unwrap_err();
/// assert_eq!(err.text, "USB0::0xZZZZ::0x04CE::INSTR");
/// assert!(err.reason.contains("vendor id"));
/// assert!(err.to_string().contains("TCPIP[n]::HOST::PORT::SOCKET"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an instrument address: {reason}. Accepted forms:\n{ADDRESS_FORMS}")]
pub struct AddressError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Address {
    /// The short name of the link kind: `serial`, `socket`, `vxi-11` or `usbtmc`.
    ///
    /// # Examples
    ///
    /// ```
    /// let a: smq_instrument::Address = "TCPIP0::10.0.0.2::INSTR".parse()?;
    /// assert_eq!(a.kind(), "vxi-11");
    /// # Ok::<(), smq_instrument::AddressError>(())
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Serial { .. } => "serial",
            Self::Socket { .. } => "socket",
            Self::Vxi11 { .. } => "vxi-11",
            Self::Usbtmc { .. } => "usbtmc",
        }
    }

    /// A serial port address.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = smq_instrument::Address::serial("/dev/ttyUSB0");
    /// assert_eq!(a.to_string(), "ASRL/dev/ttyUSB0::INSTR");
    /// ```
    pub fn serial(path: impl Into<String>) -> Self {
        Self::Serial { path: path.into() }
    }

    /// A raw TCP socket address.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = smq_instrument::Address::socket("127.0.0.1", 5025);
    /// assert_eq!(a.to_string(), "TCPIP0::127.0.0.1::5025::SOCKET");
    /// ```
    pub fn socket(host: impl Into<String>, port: u16) -> Self {
        Self::Socket {
            host: host.into(),
            port,
        }
    }

    /// The address of a socket address (`127.0.0.1:5025`).
    ///
    /// # Examples
    ///
    /// ```
    /// let addr: std::net::SocketAddr = "[::1]:5025".parse().unwrap();
    /// let a = smq_instrument::Address::from_socket_addr(addr);
    /// assert_eq!(a.to_string(), "TCPIP0::[::1]::5025::SOCKET");
    /// ```
    pub fn from_socket_addr(addr: std::net::SocketAddr) -> Self {
        Self::socket(addr.ip().to_string(), addr.port())
    }
}

/// A host in an address: an IPv6 address is written in brackets (`[::1]`).
struct Host<'a>(&'a str);

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.contains(':') {
            write!(f, "[{}]", self.0)
        } else {
            f.write_str(self.0)
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Serial { path } => write!(f, "ASRL{path}::INSTR"),
            Self::Socket { host, port } => write!(f, "TCPIP0::{}::{port}::SOCKET", Host(host)),
            Self::Vxi11 {
                host,
                device,
                portmapper,
            } => {
                write!(f, "TCPIP0::{}", Host(host))?;
                if *portmapper != PORTMAPPER_PORT {
                    write!(f, ":{portmapper}")?;
                }
                if !device.eq_ignore_ascii_case("inst0") {
                    write!(f, "::{device}")?;
                }
                f.write_str("::INSTR")
            }
            Self::Usbtmc {
                vendor,
                product,
                serial,
            } => {
                write!(f, "USB0::0x{vendor:04X}::0x{product:04X}")?;
                if let Some(s) = serial {
                    write!(f, "::{s}")?;
                }
                f.write_str("::INSTR")
            }
        }
    }
}

/// Split `host[:port]` (the host possibly an IPv6 address in brackets). `None` if a port
/// is present but not a number, or the host is empty.
fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    let (host, rest) = if let Some(inner) = s.strip_prefix('[') {
        let (host, rest) = inner.split_once(']')?;
        (host, rest)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, &s[h.len()..][..p.len() + 1]),
            None => (s, ""),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return None;
    }
    if rest.is_empty() {
        return Some((host.to_owned(), None));
    }
    let port = rest.strip_prefix(':')?.parse::<u16>().ok()?;
    Some((host.to_owned(), Some(port)))
}

/// A USB id: `0x1AB1` (hexadecimal) or `6833` (decimal), as VISA accepts both.
fn usb_id(s: &str) -> Option<u16> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Split a resource string at `::`, except inside brackets (an IPv6 host, `[fe80::1]`).
fn split_fields(s: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let (mut start, mut depth, mut i) = (0, 0_usize, 0);
    let bytes = s.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                fields.push(&s[start..i]);
                i += 2;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    fields.push(&s[start..]);
    fields
}

/// Whether `field` is `keyword` followed by an optional board number, ignoring case.
fn is_keyword(field: &str, keyword: &str) -> bool {
    let (f, k) = (field.as_bytes(), keyword.as_bytes());
    f.len() >= k.len()
        && f[..k.len()].eq_ignore_ascii_case(k)
        && f[k.len()..].iter().all(u8::is_ascii_digit)
}

/// Whether `s` starts with `prefix` (ASCII), ignoring case.
fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// The fields of a VISA string, with a trailing `INSTR` removed (`true` if there was one).
fn strip_instr<'a>(fields: &[&'a str]) -> (Vec<&'a str>, bool) {
    match fields.split_last() {
        Some((last, rest)) if last.eq_ignore_ascii_case("INSTR") => (rest.to_vec(), true),
        _ => (fields.to_vec(), false),
    }
}

fn parse_tcpip(fields: &[&str]) -> Result<Address, String> {
    if fields
        .last()
        .is_some_and(|f| f.eq_ignore_ascii_case("SOCKET"))
    {
        return match fields {
            [_, host, port, _] => {
                let (host, mapper) = split_host_port(host)
                    .ok_or_else(|| format!("{host:?} is not a host name or address"))?;
                if mapper.is_some() {
                    return Err("a SOCKET address gives its port after the host: \
                                TCPIP0::HOST::PORT::SOCKET"
                        .into());
                }
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("{port:?} is not a TCP port number (1 to 65535)"))?;
                Ok(Address::Socket { host, port })
            }
            _ => Err("a SOCKET address is TCPIP0::HOST::PORT::SOCKET".into()),
        };
    }
    let (fields, _) = strip_instr(fields);
    let (host, device) = match fields.as_slice() {
        [_, host] => (*host, "inst0"),
        [_, host, device] => (*host, *device),
        _ => return Err("a VXI-11 address is TCPIP0::HOST[::DEVICE]::INSTR".into()),
    };
    let (host, mapper) =
        split_host_port(host).ok_or_else(|| format!("{host:?} is not a host name or address"))?;
    if device.is_empty() || device.contains(char::is_whitespace) {
        return Err(format!(
            "{device:?} is not a VXI-11 device name such as inst0"
        ));
    }
    if device.to_ascii_lowercase().starts_with("hislip") {
        return Err(format!(
            "{device} is a HiSLIP device, which is not supported: use the instrument's VXI-11 \
             name (inst0) or its SCPI socket (TCPIP0::HOST::5025::SOCKET)"
        ));
    }
    if device.parse::<u16>().is_ok() {
        return Err(format!(
            "{device} looks like a TCP port: a raw socket address ends with ::SOCKET \
             (TCPIP0::{}::{device}::SOCKET)",
            Host(&host)
        ));
    }
    Ok(Address::Vxi11 {
        host,
        device: device.to_owned(),
        portmapper: mapper.unwrap_or(PORTMAPPER_PORT),
    })
}

fn parse_usb(fields: &[&str]) -> Result<Address, String> {
    let (fields, _) = strip_instr(fields);
    let (vendor, product, serial) = match fields.as_slice() {
        [_, v, p] => (*v, *p, None),
        [_, v, p, s] => (*v, *p, Some(*s)),
        _ => return Err("a USBTMC address is USB0::VID::PID[::SERIAL]::INSTR".into()),
    };
    let vendor = usb_id(vendor).ok_or_else(|| {
        format!("{vendor:?} is not a USB vendor id (0x0000 to 0xFFFF, e.g. 0x1AB1)")
    })?;
    let product = usb_id(product).ok_or_else(|| {
        format!("{product:?} is not a USB product id (0x0000 to 0xFFFF, e.g. 0x04CE)")
    })?;
    if serial.is_some_and(str::is_empty) {
        return Err("the serial number is empty".into());
    }
    Ok(Address::Usbtmc {
        vendor,
        product,
        serial: serial.map(str::to_owned),
    })
}

fn parse_asrl(s: &str) -> Result<Address, String> {
    // The caller checked that `s` starts with the four ASCII bytes `ASRL`.
    let rest = &s[4..];
    let path = match rest.len().checked_sub(7) {
        Some(n) if rest.as_bytes()[n..].eq_ignore_ascii_case(b"::INSTR") => &rest[..n],
        _ => rest,
    };
    if path.is_empty() || path.contains("::") {
        return Err("a serial address is ASRL<PATH>::INSTR, e.g. ASRL/dev/ttyUSB0::INSTR".into());
    }
    if path.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "serial port number {path} is not mapped to a device here: give the port's path \
             (ASRL/dev/ttyS0::INSTR, ASRLCOM{path}::INSTR)"
        ));
    }
    Ok(Address::serial(path))
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| AddressError {
            text: s.to_owned(),
            reason,
        };
        let text = s.trim();
        if text.is_empty() {
            return Err(bad("the address is empty".into()));
        }
        if starts_with_ignore_case(text, "ASRL") {
            return parse_asrl(text).map_err(bad);
        }
        let fields = split_fields(text);
        if fields.len() > 1 {
            let head = fields[0];
            return if is_keyword(head, "TCPIP") {
                parse_tcpip(&fields)
            } else if is_keyword(head, "USB") {
                parse_usb(&fields)
            } else if is_keyword(head, "GPIB") || is_keyword(head, "VXI") || is_keyword(head, "PXI")
            {
                Err(format!("{head} instruments are not supported"))
            } else {
                Err(format!(
                    "a resource string starts with TCPIP, USB or ASRL, not {head:?}"
                ))
            }
            .map_err(bad);
        }
        if let Some(path) = text.strip_prefix("serial:") {
            return if path.is_empty() {
                Err(bad("serial: is followed by the port's path".into()))
            } else {
                Ok(Self::serial(path))
            };
        }
        if text.starts_with('/') || text.starts_with("./") {
            return Ok(Self::serial(text));
        }
        let hostport = text.strip_prefix("tcp:").unwrap_or(text);
        match split_host_port(hostport) {
            Some((host, Some(port))) => Ok(Self::Socket { host, port }),
            _ => Err(bad(
                "expected a VISA resource string, a serial port path or HOST:PORT".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vxi(host: &str, device: &str, portmapper: u16) -> Address {
        Address::Vxi11 {
            host: host.into(),
            device: device.into(),
            portmapper,
        }
    }

    fn usb(vendor: u16, product: u16, serial: Option<&str>) -> Address {
        Address::Usbtmc {
            vendor,
            product,
            serial: serial.map(str::to_owned),
        }
    }

    #[test]
    fn every_form_parses() {
        let table: &[(&str, Address)] = &[
            (
                "TCPIP0::192.168.0.30::INSTR",
                vxi("192.168.0.30", "inst0", 111),
            ),
            (
                "TCPIP::192.168.0.30::inst0::INSTR",
                vxi("192.168.0.30", "inst0", 111),
            ),
            (
                "tcpip1::scope.lab::inst1::instr",
                vxi("scope.lab", "inst1", 111),
            ),
            (
                "TCPIP0::gw.lab::gpib0,5::INSTR",
                vxi("gw.lab", "gpib0,5", 111),
            ),
            (
                "TCPIP0::127.0.0.1:5111::INSTR",
                vxi("127.0.0.1", "inst0", 5111),
            ),
            (
                "TCPIP0::[::1]:5111::inst0::INSTR",
                vxi("::1", "inst0", 5111),
            ),
            ("TCPIP0::10.0.0.2", vxi("10.0.0.2", "inst0", 111)),
            (
                "TCPIP0::192.168.0.30::5025::SOCKET",
                Address::socket("192.168.0.30", 5025),
            ),
            ("TCPIP::host::5555::socket", Address::socket("host", 5555)),
            (
                "TCPIP0::[fe80::1]::5025::SOCKET",
                Address::socket("fe80::1", 5025),
            ),
            (
                "USB0::0x1AB1::0x04CE::DS1ZA000000001::INSTR",
                usb(0x1ab1, 0x04ce, Some("DS1ZA000000001")),
            ),
            ("USB::0x1AB1::0x04CE::INSTR", usb(0x1ab1, 0x04ce, None)),
            ("usb0::6833::1230::instr", usb(6833, 1230, None)),
            (
                "USB0::0x0957::0x1796::MY123",
                usb(0x0957, 0x1796, Some("MY123")),
            ),
            ("ASRL/dev/ttyUSB0::INSTR", Address::serial("/dev/ttyUSB0")),
            ("asrl/dev/ttyS0::instr", Address::serial("/dev/ttyS0")),
            ("ASRLCOM3::INSTR", Address::serial("COM3")),
            ("ASRL/dev/ttyACM0", Address::serial("/dev/ttyACM0")),
            ("/dev/ttyUSB0", Address::serial("/dev/ttyUSB0")),
            ("./pty", Address::serial("./pty")),
            ("serial:COM4", Address::serial("COM4")),
            ("192.168.0.30:5555", Address::socket("192.168.0.30", 5555)),
            ("tcp:scope.lab:5025", Address::socket("scope.lab", 5025)),
            ("[::1]:5025", Address::socket("::1", 5025)),
            ("  localhost:5025 ", Address::socket("localhost", 5025)),
        ];
        for (text, expected) in table {
            let got: Address = text
                .parse()
                .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"));
            assert_eq!(&got, expected, "{text}");
            // The canonical form parses back to the same address.
            let again: Address = got.to_string().parse().unwrap();
            assert_eq!(again, got, "{text} -> {got}");
        }
    }

    #[test]
    fn malformed_addresses_say_what_was_expected() {
        let table: &[(&str, &str)] = &[
            ("", "empty"),
            ("scope", "VISA resource string"),
            ("192.168.0.30", "VISA resource string"),
            ("host:99999", "VISA resource string"),
            ("serial:", "port's path"),
            ("TCPIP0::", "not a host"),
            ("TCPIP0::host::5025", "::SOCKET"),
            ("TCPIP0::host::SOCKET", "TCPIP0::HOST::PORT::SOCKET"),
            ("TCPIP0::host::port::SOCKET", "not a TCP port"),
            ("TCPIP0::host:x::INSTR", "not a host"),
            ("TCPIP0::host:1::5025::SOCKET", "port after the host"),
            ("TCPIP0::host::hislip0::INSTR", "HiSLIP"),
            ("TCPIP0::host::a::b::INSTR", "TCPIP0::HOST[::DEVICE]::INSTR"),
            ("USB0::0x1AB1::INSTR", "USB0::VID::PID"),
            ("USB0::0xZZZZ::0x04CE::INSTR", "vendor id"),
            ("USB0::0x1AB1::0x1FFFF::INSTR", "product id"),
            ("USB0::0x1AB1::0x04CE::::INSTR", "serial number is empty"),
            ("USB0::1::2::3::4::INSTR", "USB0::VID::PID"),
            ("ASRL::INSTR", "ASRL<PATH>::INSTR"),
            ("ASRL1::INSTR", "not mapped"),
            ("GPIB0::5::INSTR", "not supported"),
            ("FOO::bar::INSTR", "starts with TCPIP"),
        ];
        for (text, expected) in table {
            let err = text
                .parse::<Address>()
                .expect_err(&format!("{text:?} should not parse"));
            assert!(
                err.reason.contains(expected),
                "{text:?}: {:?} does not mention {expected:?}",
                err.reason
            );
            let msg = err.to_string();
            for form in ["::INSTR", "::SOCKET", "USB[n]", "ASRL<PATH>", "HOST:PORT"] {
                assert!(msg.contains(form), "{text:?}: message lacks {form}");
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = s.parse::<Address>();
        }

        #[test]
        fn display_round_trips(
            host in "[a-z][a-z0-9.-]{0,20}",
            port in 1u16..,
            vendor in any::<u16>(),
            product in any::<u16>(),
        ) {
            for a in [
                Address::socket(host.clone(), port),
                vxi(&host, "inst3", port),
                usb(vendor, product, Some("SN1")),
            ] {
                prop_assert_eq!(a.to_string().parse::<Address>().unwrap(), a);
            }
        }
    }
}
