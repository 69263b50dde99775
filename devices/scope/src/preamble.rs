//! The waveform preamble (`:WAV:PRE?`) and the scaling it defines.

use std::str::FromStr;

use ndarray::Array1;

/// Sample format of waveform data (`:WAV:FORM`).
///
/// # Examples
///
/// ```
/// assert_eq!(smq_scope::WaveformFormat::Ascii.scpi(), "ASC");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaveformFormat {
    /// One byte per point (`BYTE`).
    Byte,
    /// Two bytes per point, little endian (`WORD`).
    Word,
    /// Comma-separated volts in text (`ASC`).
    Ascii,
}

impl WaveformFormat {
    /// The SCPI mnemonic.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_scope::WaveformFormat::Byte.scpi(), "BYTE");
    /// ```
    pub fn scpi(self) -> &'static str {
        match self {
            Self::Byte => "BYTE",
            Self::Word => "WORD",
            Self::Ascii => "ASC",
        }
    }
}

/// Which points are read (`:WAV:MODE`).
///
/// # Examples
///
/// ```
/// assert_eq!(smq_scope::WaveformMode::Raw.scpi(), "RAW");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaveformMode {
    /// The points on screen (`NORM`).
    Normal,
    /// On screen while running, from memory when stopped (`MAX`).
    Maximum,
    /// From internal memory, instrument stopped (`RAW`).
    Raw,
}

impl WaveformMode {
    /// The SCPI mnemonic.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_scope::WaveformMode::Normal.scpi(), "NORM");
    /// ```
    pub fn scpi(self) -> &'static str {
        match self {
            Self::Normal => "NORM",
            Self::Maximum => "MAX",
            Self::Raw => "RAW",
        }
    }
}

/// The ten fields of the DS1000Z waveform preamble:
/// `<format>,<type>,<points>,<count>,<xincrement>,<xorigin>,<xreference>,
/// <yincrement>,<yorigin>,<yreference>`.
///
/// # Examples
///
/// ```
/// use smq_scope::{Preamble, WaveformFormat};
/// let p: Preamble = "0,0,1200,1,1.000000e-05,-6.000000e-03,0,4.000000e-02,0,127"
///     .parse()
///     .unwrap();
/// assert_eq!(p.format, WaveformFormat::Byte);
/// assert_eq!(p.points, 1200);
/// // voltage = (byte - YORigin - YREFerence) * YINCrement
/// assert_eq!(p.volts(&[127, 152]).to_vec(), vec![0.0, 1.0]);
/// // time = (i - XREFerence) * XINCrement + XORigin
/// assert!((p.times(2)[1] - (-6e-3 + 1e-5)).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preamble {
    /// Data format.
    pub format: WaveformFormat,
    /// Acquisition mode of the data.
    pub mode: WaveformMode,
    /// Number of points.
    pub points: usize,
    /// Number of averages (1 unless averaging).
    pub count: u32,
    /// Time between points, s.
    pub x_increment: f64,
    /// Time of the point at `x_reference`, s.
    pub x_origin: f64,
    /// Index of the reference point.
    pub x_reference: f64,
    /// Volts per code.
    pub y_increment: f64,
    /// Vertical offset, in codes.
    pub y_origin: f64,
    /// Code of the screen centre.
    pub y_reference: f64,
}

/// Why a preamble could not be parsed.
///
/// # Examples
///
/// ```
/// let err = "1,2,3".parse::<smq_scope::Preamble>().unwrap_err();
/// assert_eq!(err.field, "count of fields");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad preamble field {field}: {reason}")]
pub struct PreambleParseError {
    /// Name of the offending field.
    pub field: &'static str,
    /// What was wrong.
    pub reason: String,
}

const FIELDS: [&str; 10] = [
    "format",
    "type",
    "points",
    "count",
    "xincrement",
    "xorigin",
    "xreference",
    "yincrement",
    "yorigin",
    "yreference",
];

impl FromStr for Preamble {
    type Err = PreambleParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split(',').map(str::trim).collect();
        if parts.len() != FIELDS.len() {
            return Err(PreambleParseError {
                field: "count of fields",
                reason: format!("expected 10, got {}", parts.len()),
            });
        }
        let num = |i: usize| -> Result<f64, PreambleParseError> {
            parts[i]
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| PreambleParseError {
                    field: FIELDS[i],
                    reason: format!("not a number: {:?}", parts[i]),
                })
        };
        let int = |i: usize| -> Result<u64, PreambleParseError> {
            parts[i].parse::<u64>().map_err(|_| PreambleParseError {
                field: FIELDS[i],
                reason: format!("not an integer: {:?}", parts[i]),
            })
        };
        let format = match int(0)? {
            0 => WaveformFormat::Byte,
            1 => WaveformFormat::Word,
            2 => WaveformFormat::Ascii,
            n => {
                return Err(PreambleParseError {
                    field: FIELDS[0],
                    reason: format!("unknown format {n}"),
                });
            }
        };
        let mode = match int(1)? {
            0 => WaveformMode::Normal,
            1 => WaveformMode::Maximum,
            2 => WaveformMode::Raw,
            n => {
                return Err(PreambleParseError {
                    field: FIELDS[1],
                    reason: format!("unknown type {n}"),
                });
            }
        };
        let points = usize::try_from(int(2)?).map_err(|_| PreambleParseError {
            field: FIELDS[2],
            reason: "too large".to_owned(),
        })?;
        let count = u32::try_from(int(3)?).map_err(|_| PreambleParseError {
            field: FIELDS[3],
            reason: "too large".to_owned(),
        })?;
        Ok(Self {
            format,
            mode,
            points,
            count,
            x_increment: num(4)?,
            x_origin: num(5)?,
            x_reference: num(6)?,
            y_increment: num(7)?,
            y_origin: num(8)?,
            y_reference: num(9)?,
        })
    }
}

impl Preamble {
    /// Convert raw codes to volts:
    /// `voltage = (code - y_origin - y_reference) * y_increment`.
    ///
    /// # Examples
    ///
    /// ```
    /// let p: smq_scope::Preamble = "0,0,3,1,1e-3,0,0,0.04,0,127".parse().unwrap();
    /// assert_eq!(p.volts(&[127u8, 152, 102]).to_vec(), vec![0.0, 1.0, -1.0]);
    /// ```
    pub fn volts<T: Copy + Into<f64>>(&self, codes: &[T]) -> Array1<f64> {
        codes
            .iter()
            .map(|&c| (c.into() - self.y_origin - self.y_reference) * self.y_increment)
            .collect()
    }

    /// Times of `n` points:
    /// `time = (i - x_reference) * x_increment + x_origin`.
    ///
    /// # Examples
    ///
    /// ```
    /// let p: smq_scope::Preamble = "0,0,3,1,1e-3,-1e-3,0,0.04,0,127".parse().unwrap();
    /// assert_eq!(p.times(3).to_vec(), vec![-1e-3, 0.0, 1e-3]);
    /// ```
    pub fn times(&self, n: usize) -> Array1<f64> {
        (0..n)
            .map(|i| (i as f64 - self.x_reference) * self.x_increment + self.x_origin)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects() {
        assert!("".parse::<Preamble>().is_err());
        assert!("0,0,1200,1,1,1,0,1,0".parse::<Preamble>().is_err());
        assert!("9,0,1200,1,1,1,0,1,0,127".parse::<Preamble>().is_err());
        assert!("0,0,-1,1,1,1,0,1,0,127".parse::<Preamble>().is_err());
        assert!("0,0,10,1,nan,1,0,1,0,127".parse::<Preamble>().is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = s.parse::<Preamble>();
        }

        #[test]
        fn numeric_fields_never_panic(v in proptest::collection::vec("[-+0-9.eE]{0,12}", 10)) {
            let _ = v.join(",").parse::<Preamble>();
        }
    }
}
