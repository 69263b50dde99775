//! The multimeter driver.

use smq_instrument::{
    Connection, Identity, Instrument, InstrumentError, OpenOptions, Result, Scpi, SerialConfig,
    StopBits,
};

use crate::types::{Function, Range, TriggerSource};

/// Integration times the 34401A accepts, in power-line cycles.
const NPLC_VALUES: [f64; 5] = [0.02, 0.2, 1.0, 10.0, 100.0];

/// A SCPI digital multimeter (Keysight 34401A / Keithley 2000).
///
/// The driver is built on the generic [`Scpi`] instrument, owns its connection, is
/// `Send + 'static`, and every method takes `&mut self` and returns [`Result`]. It is
/// opened at any address with [`Instrument::open`]; over a serial port it uses the
/// meter's factory settings ([`Dmm::serial_config`]).
///
/// # Examples
///
/// ```
/// use smq_dmm::Dmm;
/// use smq_instrument::Instrument;
/// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
/// # let address = sim.serial_address();
/// // address: "ASRL/dev/ttyUSB0::INSTR", "TCPIP0::192.168.0.20::INSTR", ...
/// let mut dmm = Dmm::open(&address)?;
/// assert_eq!(dmm.identify()?.model, "34401A");
/// let volts = dmm.measure_voltage_dc()?;
/// # assert!(volts.is_finite());
/// # Ok::<(), smq_instrument::InstrumentError>(())
/// ```
#[derive(Debug)]
pub struct Dmm {
    scpi: Scpi,
}

impl Dmm {
    /// The 34401A's factory RS-232 settings: 9600 baud, 8 data bits, no
    /// parity, 2 stop bits. (The meter also uses the DTR/DSR lines to
    /// hold off data; use a cable that wires them, or tie DSR true.)
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::StopBits;
    /// let cfg = smq_dmm::Dmm::serial_config();
    /// assert_eq!((cfg.baud_rate, cfg.stop_bits), (9600, StopBits::Two));
    /// ```
    pub fn serial_config() -> SerialConfig {
        SerialConfig::default().stop_bits(StopBits::Two)
    }

    /// The underlying connection, for commands this driver does not wrap.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// let v: f64 = dmm.connection().query_parse("VOLT:DC:NPLC?")?;
    /// assert_eq!(v, 10.0);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn connection(&mut self) -> &mut Connection {
        Instrument::connection(&mut self.scpi)
    }

    /// The generic SCPI instrument the driver is built on.
    pub fn scpi(&mut self) -> &mut Scpi {
        &mut self.scpi
    }

    /// `*IDN?`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// assert_eq!(dmm.identify()?.model, "34401A");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn identify(&mut self) -> Result<Identity> {
        self.scpi.idn()
    }

    /// `SYST:REM`: remote mode, which the 34401A needs before it accepts
    /// other commands over RS-232 (front panel locked except LOCAL).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// use smq_dmm::Dmm;
    /// use smq_instrument::Instrument;
    /// let mut dmm = Dmm::open(&sim.serial_address())?; // 9600 baud, 8N2
    /// dmm.remote()?;
    /// let v = dmm.read()?;
    /// dmm.local()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn remote(&mut self) -> Result<()> {
        self.write_checked("SYST:REM")
    }

    /// `SYST:LOC`: back to front-panel control.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.local()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn local(&mut self) -> Result<()> {
        self.write_checked("SYST:LOC")
    }

    /// `*RST` then `*CLS`: factory settings, empty error queue.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.reset()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn reset(&mut self) -> Result<()> {
        Instrument::reset(self)
    }

    /// Drop any pending input and late replies (after a timeout, for
    /// instance).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.clear()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn clear(&mut self) -> Result<()> {
        self.connection().clear()
    }

    fn invalid(&self, command: &str, reason: &str) -> InstrumentError {
        self.scpi.invalid_argument(command, reason)
    }

    fn write_checked(&mut self, command: &str) -> Result<()> {
        self.scpi.write(command)?;
        self.connection().check_errors(command)
    }

    fn config_args(&self, cmd: &str, range: Range, resolution: Option<f64>) -> Result<String> {
        if let Range::Value(r) = range
            && !(r.is_finite() && r > 0.0)
        {
            return Err(self.invalid(cmd, "range must be a positive number"));
        }
        match resolution {
            Some(res) if !(res.is_finite() && res > 0.0) => {
                Err(self.invalid(cmd, "resolution must be a positive number"))
            }
            Some(res) => Ok(format!("{cmd} {range},{res}")),
            None if range == Range::Default => Ok(cmd.to_owned()),
            None => Ok(format!("{cmd} {range}")),
        }
    }

    /// `CONF:<function> <range>,<resolution>`: select a function, its range
    /// and resolution (in the function's unit; `None` for the default).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// use smq_dmm::{Function, Range};
    /// dmm.configure(Function::Resistance, Range::Value(1e4), Some(0.1))?;
    /// assert!(dmm.configuration()?.starts_with("RES"));
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn configure(
        &mut self,
        function: Function,
        range: Range,
        resolution: Option<f64>,
    ) -> Result<()> {
        let cmd = self.config_args(&format!("CONF:{}", function.scpi()), range, resolution)?;
        self.write_checked(&cmd)
    }

    /// `CONF:VOLT:DC <range>,<resolution>`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.configure_voltage_dc(smq_dmm::Range::Value(10.0), Some(1e-5))?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn configure_voltage_dc(&mut self, range: Range, resolution: Option<f64>) -> Result<()> {
        self.configure(Function::VoltageDc, range, resolution)
    }

    /// `CONF:CURR:DC <range>,<resolution>`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.configure_current_dc(smq_dmm::Range::Auto, None)?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn configure_current_dc(&mut self, range: Range, resolution: Option<f64>) -> Result<()> {
        self.configure(Function::CurrentDc, range, resolution)
    }

    /// `CONF:RES <range>,<resolution>`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.configure_resistance(smq_dmm::Range::Default, None)?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn configure_resistance(&mut self, range: Range, resolution: Option<f64>) -> Result<()> {
        self.configure(Function::Resistance, range, resolution)
    }

    /// `CONF?`: the configured function, range and resolution as the
    /// instrument reports them, e.g. `VOLT +1.00000000E+01,+1.00000000E-05`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.configure_voltage_dc(smq_dmm::Range::Value(10.0), None)?;
    /// assert!(dmm.configuration()?.starts_with("VOLT +1.00000000E+01"));
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn configuration(&mut self) -> Result<String> {
        Ok(self.scpi.query("CONF?")?.trim_matches('"').to_owned())
    }

    /// `<function>:NPLC <n>`: integration time in power-line cycles (0.02,
    /// 0.2, 1, 10 or 100).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.set_nplc(smq_dmm::Function::VoltageDc, 100.0)?;
    /// assert!(dmm.set_nplc(smq_dmm::Function::VoltageDc, 3.0).is_err());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn set_nplc(&mut self, function: Function, nplc: f64) -> Result<()> {
        let cmd = format!("{}:NPLC {nplc}", function.scpi());
        if !NPLC_VALUES.contains(&nplc) {
            return Err(self.invalid(&cmd, "NPLC must be 0.02, 0.2, 1, 10 or 100"));
        }
        self.write_checked(&cmd)
    }

    /// `<function>:NPLC?`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// assert_eq!(dmm.nplc(smq_dmm::Function::CurrentDc)?, 10.0);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn nplc(&mut self, function: Function) -> Result<f64> {
        self.scpi.query_parse(&format!("{}:NPLC?", function.scpi()))
    }

    /// `TRIG:SOUR IMM|BUS|EXT`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.set_trigger_source(smq_dmm::TriggerSource::Bus)?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn set_trigger_source(&mut self, source: TriggerSource) -> Result<()> {
        self.write_checked(&format!("TRIG:SOUR {}", source.scpi()))
    }

    /// `TRIG:SOUR?`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// assert_eq!(dmm.trigger_source()?, smq_dmm::TriggerSource::Immediate);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn trigger_source(&mut self) -> Result<TriggerSource> {
        let cmd = "TRIG:SOUR?";
        let reply = self.scpi.query(cmd)?;
        reply.parse().map_err(|()| {
            self.connection()
                .garbage(cmd, reply.as_bytes(), "expected IMM, BUS or EXT")
        })
    }

    /// `INIT`: arm the trigger system (waits for a trigger when the source is
    /// `BUS` or `EXT`; measures at once with `IMM`).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.initiate()?;
    /// let v = dmm.fetch()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn initiate(&mut self) -> Result<()> {
        self.scpi.write("INIT")
    }

    /// `*TRG`: software trigger (trigger source `BUS`).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.set_trigger_source(smq_dmm::TriggerSource::Bus)?;
    /// dmm.initiate()?;
    /// dmm.trigger()?;
    /// let v = dmm.fetch()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn trigger(&mut self) -> Result<()> {
        self.scpi.write("*TRG")
    }

    /// `FETC?`: the reading taken after [`initiate`](Self::initiate).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.initiate()?;
    /// assert!(dmm.fetch()? < smq_dmm::OVERLOAD);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn fetch(&mut self) -> Result<f64> {
        self.scpi.query_parse("FETC?")
    }

    /// `READ?`: trigger (source `IMM`) and return one reading.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// let v = dmm.read()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn read(&mut self) -> Result<f64> {
        self.scpi.query_parse("READ?")
    }

    /// `MEAS:VOLT:DC?`: configure DC volts with default settings and read.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// let v = dmm.measure_voltage_dc()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn measure_voltage_dc(&mut self) -> Result<f64> {
        self.scpi.query_parse("MEAS:VOLT:DC?")
    }

    /// `SYST:ERR?` until the queue is empty; fails with
    /// [`InstrumentError::Scpi`] on the oldest error.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut dmm = smq_dmm::Dmm::open(&sim.socket_address())?;
    /// dmm.connection().write("NOT:A:COMMAND")?;
    /// assert!(dmm.check_errors().is_err());
    /// dmm.check_errors()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn check_errors(&mut self) -> Result<()> {
        self.connection().check_errors("SYST:ERR?")
    }
}

impl Instrument for Dmm {
    const NAME: &'static str = "dmm";

    /// Over a serial port, the meter's factory settings ([`Dmm::serial_config`]).
    fn open_options() -> OpenOptions {
        OpenOptions::default().serial(Self::serial_config())
    }

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
