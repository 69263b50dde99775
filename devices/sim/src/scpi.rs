//! SCPI command-line parsing shared by the SCPI simulators.

use std::collections::VecDeque;

/// A parsed command: header in short upper-case form without leading colon
/// (`CONF:VOLT:DC`, `WAV:PRE?`) and its comma-separated arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command {
    pub(crate) header: String,
    pub(crate) args: Vec<String>,
}

/// Long keyword forms understood besides the short ones.
const LONG_FORMS: &[(&str, &str)] = &[
    ("CONFIGURE", "CONF"),
    ("MEASURE", "MEAS"),
    ("VOLTAGE", "VOLT"),
    ("CURRENT", "CURR"),
    ("RESISTANCE", "RES"),
    ("TRIGGER", "TRIG"),
    ("SOURCE", "SOUR"),
    ("INITIATE", "INIT"),
    ("FETCH", "FETC"),
    ("SYSTEM", "SYST"),
    ("ERROR", "ERR"),
    ("WAVEFORM", "WAV"),
    ("FORMAT", "FORM"),
    ("PREAMBLE", "PRE"),
    ("CHANNEL", "CHAN"),
    ("TIMEBASE", "TIM"),
    ("SCALE", "SCAL"),
    ("OFFSET", "OFFS"),
    ("SINGLE", "SING"),
    ("STATUS", "STAT"),
];

impl Command {
    pub(crate) fn parse(line: &str) -> Self {
        let line = line.trim();
        let (head, rest) = match line.find(char::is_whitespace) {
            Some(i) => (&line[..i], line[i..].trim()),
            None => (line, ""),
        };
        let head = head.trim_start_matches(':').to_ascii_uppercase();
        let query = head.ends_with('?');
        let mut nodes: Vec<String> = head
            .trim_end_matches('?')
            .split(':')
            .map(|n| {
                LONG_FORMS
                    .iter()
                    .find(|(l, _)| *l == n)
                    .map_or_else(|| n.to_owned(), |(_, s)| (*s).to_owned())
            })
            .collect();
        // The optional SENSe node.
        if nodes.first().is_some_and(|n| n == "SENS" || n == "SENSE") {
            nodes.remove(0);
        }
        let mut header = nodes.join(":");
        if query {
            header.push('?');
        }
        let args = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split(',').map(|a| a.trim().to_owned()).collect()
        };
        Self { header, args }
    }

    /// Argument `i` as a number; `DEF`, `MIN`, `MAX`, `AUTO` are `None`.
    pub(crate) fn num(&self, i: usize) -> Option<Result<f64, ()>> {
        let a = self.args.get(i)?;
        match a.to_ascii_uppercase().as_str() {
            "DEF" | "DEFAULT" | "MIN" | "MINIMUM" | "MAX" | "MAXIMUM" | "AUTO" => None,
            _ => Some(a.parse::<f64>().map_err(|_| ())),
        }
    }
}

/// A SCPI error queue (bounded like a real instrument's).
#[derive(Debug, Default)]
pub(crate) struct ErrorQueue {
    queue: VecDeque<(i32, String)>,
}

impl ErrorQueue {
    pub(crate) fn push(&mut self, code: i32, message: &str) {
        if self.queue.len() < 20 {
            self.queue.push_back((code, message.to_owned()));
        }
    }

    pub(crate) fn clear(&mut self) {
        self.queue.clear();
    }

    /// The reply to `SYST:ERR?`.
    pub(crate) fn pop_reply(&mut self) -> Vec<u8> {
        match self.queue.pop_front() {
            Some((code, msg)) => format!("{code:+},\"{msg}\"").into_bytes(),
            None => b"+0,\"No error\"".to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let c = Command::parse(":sense:voltage:dc:nplc 10");
        assert_eq!(c.header, "VOLT:DC:NPLC");
        assert_eq!(c.args, vec!["10"]);
        let c = Command::parse("CONF:VOLT:DC 10,0.001");
        assert_eq!(c.args, vec!["10", "0.001"]);
        assert_eq!(c.num(0), Some(Ok(10.0)));
        let c = Command::parse(":WAVeform:PREamble?");
        assert_eq!(c.header, "WAV:PRE?");
    }
}
