//! `smq instruments`: what is attached, as addresses to give `smq demo`.

use std::time::Duration;

use crate::Error;
use smq_instrument::{Instrument, OpenOptions, Reconnect, Scpi, list_instruments};

/// How long an instrument has to answer `*IDN?` with `--idn`.
const IDN_TIMEOUT: Duration = Duration::from_secs(1);

/// `*IDN?` of the instrument at `address`, or why there is none.
fn identify(address: &smq_instrument::Address) -> String {
    let options = OpenOptions::default()
        .connect_timeout(IDN_TIMEOUT)
        .reconnect(Reconnect::never());
    let conn = match smq_instrument::Connection::open_with("instrument", address, &options) {
        Ok(c) => c.with_timeout(IDN_TIMEOUT),
        Err(e) => return format!("cannot open: {e}"),
    };
    match Scpi::new(conn).identify() {
        Ok(id) => id.to_string(),
        Err(e) => format!("no identification: {e}"),
    }
}

/// List the serial ports and USBTMC instruments; with `idn`, ask each for `*IDN?`.
///
/// # Errors
///
/// None so far: what cannot be listed is said on standard error.
pub(crate) fn run(idn: bool) -> Result<(), Error> {
    let (found, problems) = list_instruments();
    for p in &problems {
        eprintln!("smq: {p}");
    }
    if found.is_empty() {
        println!("no serial port or USBTMC instrument found");
    }
    let width = found
        .iter()
        .map(|f| f.address.to_string().len())
        .max()
        .unwrap_or(0);
    for f in &found {
        println!("{:<width$}  {}", f.address.to_string(), f.description);
        if idn {
            println!("{:<width$}  *IDN? {}", "", identify(&f.address));
        }
    }
    Ok(())
}
