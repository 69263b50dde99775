//! The oscilloscope driver.

use ndarray::Array1;
use smq_instrument::{
    ByteOrder, Connection, Identity, Instrument, InstrumentError, Result, Scpi, decode_array,
};

use crate::preamble::{Preamble, WaveformFormat, WaveformMode};

/// One acquired waveform, scaled to seconds and volts.
///
/// # Examples
///
/// ```
/// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
/// # use smq_instrument::Instrument as _;
/// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
/// let w = scope.read_waveform(1)?;
/// let dt = w.t[1] - w.t[0];
/// assert!((dt - w.preamble.x_increment).abs() < 1e-15);
/// # Ok::<(), smq_instrument::InstrumentError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Waveform {
    /// Time of each point, s (0 at the trigger).
    pub t: Array1<f64>,
    /// Voltage of each point, V.
    pub v: Array1<f64>,
    /// Channel the waveform was read from (1 to 4).
    pub channel: u8,
    /// The preamble used for scaling.
    pub preamble: Preamble,
}

impl Waveform {
    /// Half the peak-to-peak voltage: the amplitude of a periodic signal.
    ///
    /// # Examples
    ///
    /// ```
    /// # use smq_scope::{Preamble, Waveform};
    /// # let preamble: Preamble = "0,0,3,1,1,0,0,1,0,0".parse().unwrap();
    /// let w = Waveform {
    ///     t: ndarray::arr1(&[0.0, 1.0, 2.0]),
    ///     v: ndarray::arr1(&[-1.0, 0.0, 1.0]),
    ///     channel: 1,
    ///     preamble,
    /// };
    /// assert_eq!(w.amplitude(), 1.0);
    /// ```
    pub fn amplitude(&self) -> f64 {
        let max = self.v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = self.v.iter().copied().fold(f64::INFINITY, f64::min);
        if self.v.is_empty() {
            0.0
        } else {
            (max - min) / 2.0
        }
    }
}

/// An oscilloscope with the Rigol DS1000Z command set.
///
/// The driver owns its connection, is `Send + 'static`, and every method
/// takes `&mut self` and returns [`Result`].
///
/// # Examples
///
/// ```
/// # use smq_instrument::Instrument as _;
/// use smq_scope::Scope;
/// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
/// # let addr = sim.socket_address();
/// let mut scope = Scope::open(&addr)?;
/// scope.set_timebase_scale(1e-3)?;
/// scope.set_channel_scale(1, 0.5)?;
/// scope.single()?;
/// let w = scope.read_waveform(1)?;
/// assert_eq!(w.t.len(), w.v.len());
/// # Ok::<(), smq_instrument::InstrumentError>(())
/// ```
#[derive(Debug)]
pub struct Scope {
    scpi: Scpi,
}

impl Scope {
    /// The underlying connection, for commands this driver does not wrap.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// assert_eq!(scope.connection().query(":WAV:SOUR?")?, "CHAN1");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn connection(&mut self) -> &mut Connection {
        Instrument::connection(&mut self.scpi)
    }

    /// The generic SCPI instrument the driver is built on.
    pub fn scpi(&mut self) -> &mut Scpi {
        &mut self.scpi
    }

    fn conn(&mut self) -> &mut Connection {
        Instrument::connection(&mut self.scpi)
    }

    fn conn_ref(&self) -> &Connection {
        self.scpi.connection_ref()
    }

    /// `*IDN?`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// assert_eq!(scope.identify()?.model, "DS1104Z");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn identify(&mut self) -> Result<Identity> {
        self.conn().idn()
    }

    /// `*RST` then `*CLS`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.reset()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn reset(&mut self) -> Result<()> {
        Instrument::reset(self)
    }

    /// `SYST:ERR?` until the queue is empty; fails with
    /// [`InstrumentError::Scpi`] on the oldest error.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.check_errors()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn check_errors(&mut self) -> Result<()> {
        self.conn().check_errors("SYST:ERR?")
    }

    fn write_checked(&mut self, command: &str) -> Result<()> {
        self.conn().write(command)?;
        self.conn().check_errors(command)
    }

    fn channel(&self, command: &str, channel: u8) -> Result<u8> {
        if (1..=4).contains(&channel) {
            Ok(channel)
        } else {
            Err(InstrumentError::InvalidArgument {
                device: self.conn_ref().name().to_owned(),
                command: command.to_owned(),
                reason: format!("channel must be 1 to 4, got {channel}"),
            })
        }
    }

    fn positive(&self, command: &str, value: f64) -> Result<()> {
        if value.is_finite() && value > 0.0 {
            Ok(())
        } else {
            Err(InstrumentError::InvalidArgument {
                device: self.conn_ref().name().to_owned(),
                command: command.to_owned(),
                reason: "value must be a positive number".to_owned(),
            })
        }
    }

    /// `:RUN`: acquire continuously.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.run()?;
    /// assert_eq!(scope.trigger_status()?, "AUTO");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn run(&mut self) -> Result<()> {
        self.conn().write(":RUN")
    }

    /// `:STOP`: freeze the acquisition.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.stop()?;
    /// assert_eq!(scope.trigger_status()?, "STOP");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn stop(&mut self) -> Result<()> {
        self.conn().write(":STOP")
    }

    /// `:SING`: acquire once at the next trigger, then stop.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.single()?;
    /// let w = scope.read_waveform(1)?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn single(&mut self) -> Result<()> {
        self.conn().write(":SING")
    }

    /// `:TRIG:STAT?`: `TD`, `WAIT`, `RUN`, `AUTO` or `STOP`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// let status = scope.trigger_status()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn trigger_status(&mut self) -> Result<String> {
        self.conn().query(":TRIG:STAT?")
    }

    /// `:TIM:SCAL <s>`: horizontal scale, seconds per division.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.set_timebase_scale(5e-4)?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn set_timebase_scale(&mut self, seconds_per_div: f64) -> Result<()> {
        let cmd = format!(":TIM:SCAL {seconds_per_div:e}");
        self.positive(&cmd, seconds_per_div)?;
        self.write_checked(&cmd)
    }

    /// `:TIM:SCAL?`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.set_timebase_scale(5e-4)?;
    /// assert_eq!(scope.timebase_scale()?, 5e-4);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn timebase_scale(&mut self) -> Result<f64> {
        self.conn().query_parse(":TIM:SCAL?")
    }

    /// `:CHAN<n>:SCAL <v>`: vertical scale of a channel, volts per division.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.set_channel_scale(2, 0.2)?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn set_channel_scale(&mut self, channel: u8, volts_per_div: f64) -> Result<()> {
        let cmd = format!(":CHAN{channel}:SCAL {volts_per_div:e}");
        self.channel(&cmd, channel)?;
        self.positive(&cmd, volts_per_div)?;
        self.write_checked(&cmd)
    }

    /// `:CHAN<n>:SCAL?`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.set_channel_scale(2, 0.2)?;
    /// assert_eq!(scope.channel_scale(2)?, 0.2);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn channel_scale(&mut self, channel: u8) -> Result<f64> {
        let cmd = format!(":CHAN{channel}:SCAL?");
        self.channel(&cmd, channel)?;
        self.conn().query_parse(&cmd)
    }

    /// `:WAV:SOUR CHAN<n>`: channel read by the waveform commands.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.set_waveform_source(3)?;
    /// assert!(scope.set_waveform_source(9).is_err());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn set_waveform_source(&mut self, channel: u8) -> Result<()> {
        let cmd = format!(":WAV:SOUR CHAN{channel}");
        self.channel(&cmd, channel)?;
        self.write_checked(&cmd)
    }

    /// `:WAV:MODE NORM|MAX|RAW`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.set_waveform_mode(smq_scope::WaveformMode::Normal)?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn set_waveform_mode(&mut self, mode: WaveformMode) -> Result<()> {
        self.write_checked(&format!(":WAV:MODE {}", mode.scpi()))
    }

    /// `:WAV:FORM BYTE|WORD|ASC`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.set_waveform_format(smq_scope::WaveformFormat::Word)?;
    /// assert_eq!(scope.preamble()?.format, smq_scope::WaveformFormat::Word);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn set_waveform_format(&mut self, format: WaveformFormat) -> Result<()> {
        self.write_checked(&format!(":WAV:FORM {}", format.scpi()))
    }

    /// `:WAV:PRE?`, parsed.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// let p = scope.preamble()?;
    /// assert_eq!(p.points, 1200);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn preamble(&mut self) -> Result<Preamble> {
        let cmd = ":WAV:PRE?";
        let line = self.conn().query(cmd)?;
        line.parse()
            .map_err(|e: crate::preamble::PreambleParseError| {
                self.conn().garbage(cmd, line.as_bytes(), e.to_string())
            })
    }

    /// `:WAV:DATA?` in the format of `preamble`, scaled to volts.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// let p = scope.preamble()?;
    /// let v = scope.waveform_volts(&p)?;
    /// assert_eq!(v.len(), p.points);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn waveform_volts(&mut self, preamble: &Preamble) -> Result<Array1<f64>> {
        let cmd = ":WAV:DATA?";
        let payload = self.conn().query_block(cmd)?;
        let bad = |conn: &Connection, reason: String| {
            conn.garbage(cmd, &payload[..payload.len().min(64)], reason)
        };
        match preamble.format {
            WaveformFormat::Byte => Ok(preamble.volts(&payload)),
            WaveformFormat::Word => {
                let codes = decode_array::<u16>(&payload, ByteOrder::Little)
                    .map_err(|e| bad(self.conn_ref(), e.to_string()))?;
                Ok(preamble.volts(&codes.to_vec()))
            }
            WaveformFormat::Ascii => {
                let text = std::str::from_utf8(&payload)
                    .map_err(|_| bad(self.conn_ref(), "ASCII waveform is not text".to_owned()))?;
                text.split(',')
                    .map(|s| s.trim().parse::<f64>())
                    .collect::<std::result::Result<Array1<f64>, _>>()
                    .map_err(|_| {
                        bad(
                            self.conn_ref(),
                            "ASCII waveform has a bad number".to_owned(),
                        )
                    })
            }
        }
    }

    /// Read the waveform on screen of `channel`: sets the source, `NORM`
    /// mode and `BYTE` format, reads the preamble and the data block, and
    /// scales them as the DS1000Z manual gives:
    /// `voltage = (byte - YORigin - YREFerence) * YINCrement`,
    /// `time = (i - XREFerence) * XINCrement + XORigin`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// let w = scope.read_waveform(1)?;
    /// assert_eq!(w.t.len(), 1200);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn read_waveform(&mut self, channel: u8) -> Result<Waveform> {
        let source = format!(":WAV:SOUR CHAN{channel}");
        self.channel(&source, channel)?;
        self.conn().write(&source)?;
        self.conn().write(":WAV:MODE NORM")?;
        self.conn().write(":WAV:FORM BYTE")?;
        self.conn()
            .check_errors(&format!("{source};:WAV:MODE NORM;:WAV:FORM BYTE"))?;
        self.fetch_waveform(channel)
    }

    /// Read the waveform with the current source, mode and format settings
    /// (`channel` is recorded in the result).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut scope = smq_scope::Scope::open(&sim.socket_address())?;
    /// scope.set_waveform_source(2)?;
    /// let w = scope.fetch_waveform(2)?;
    /// assert_eq!(w.channel, 2);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn fetch_waveform(&mut self, channel: u8) -> Result<Waveform> {
        let preamble = self.preamble()?;
        let v = self.waveform_volts(&preamble)?;
        let t = preamble.times(v.len());
        Ok(Waveform {
            t,
            v,
            channel,
            preamble,
        })
    }
}

impl Instrument for Scope {
    const NAME: &'static str = "scope";

    fn from_connection(conn: Connection) -> Result<Self> {
        Ok(Self {
            scpi: Scpi::new(conn),
        })
    }

    fn connection(&mut self) -> &mut Connection {
        Instrument::connection(&mut self.scpi)
    }

    fn connection_ref(&self) -> &Connection {
        self.scpi.connection_ref()
    }
}
