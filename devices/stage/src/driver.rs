//! The motion controller driver.

use std::time::{Duration, Instant};

use smq_instrument::{
    Connection, FlowControl, Identity, Instrument, InstrumentError, OpenOptions, Result,
    SerialConfig,
};

use crate::status::{ControllerState, PositionerErrors, Status, command_error_description};

/// Interval between two `TS` polls while waiting for motion to end.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// A Newport SMC100 motion controller (one axis, addressed `1` to `31`).
///
/// Commands are `<address><command><parameter>` terminated by CR LF; the
/// driver checks `TE` (last command error) after every motion command, so
/// a refused move fails with [`InstrumentError::Device`] carrying the
/// manual's meaning of the error code. [`Stage::wait_motion_done`] polls
/// `TS` until the controller is READY and reports positioner errors.
///
/// The driver owns its connection, is `Send + 'static`, and every method
/// takes `&mut self` and returns [`Result`]. It is opened at any address with
/// [`Instrument::open`] (a serial port with [`Stage::serial_config`], or a TCP serial
/// server); after a timeout or a lost link its connection recovers by itself, with no
/// `*CLS` (the controller does not speak SCPI).
///
/// # Examples
///
/// ```
/// use smq_stage::Stage;
/// use std::time::Duration;
/// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
/// # let address = sim.serial_address();
/// use smq_instrument::Instrument;
/// let mut stage = Stage::open(&address)?; // e.g. "ASRL/dev/ttyUSB0::INSTR"
/// stage.home()?;
/// stage.wait_motion_done(Duration::from_secs(10))?;
/// stage.move_to(2.5, Duration::from_secs(10))?;
/// assert_eq!(stage.position()?, 2.5);
/// # Ok::<(), smq_instrument::InstrumentError>(())
/// ```
#[derive(Debug)]
pub struct Stage {
    conn: Connection,
    address: u8,
}

impl Stage {
    /// The SMC100's serial settings: 57600 baud, 8N1, XON/XOFF.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_stage::Stage::serial_config().baud_rate, 57_600);
    /// ```
    pub fn serial_config() -> SerialConfig {
        SerialConfig::default()
            .baud(57_600)
            .flow_control(FlowControl::Software)
    }

    /// Use an existing connection to the controller at `address` (1 to 31; [`Instrument::open`]
    /// and [`Instrument::from_connection`] use 1); its terminators are set to CR LF.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// let conn = smq_instrument::Connection::tcp("x-axis", sim.tcp_addr())?;
    /// let mut stage = smq_stage::Stage::at_address(conn, 1)?;
    /// assert!(smq_stage::Stage::at_address(
    ///     smq_instrument::Connection::tcp("bad", sim.tcp_addr())?, 40).is_err());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn at_address(conn: Connection, address: u8) -> Result<Self> {
        if !(1..=31).contains(&address) {
            return Err(InstrumentError::InvalidArgument {
                device: conn.name().to_owned(),
                command: "open".to_owned(),
                reason: format!("address must be 1 to 31, got {address}"),
            });
        }
        Ok(Self {
            conn: conn.with_terminators(b"\r\n", b"\r\n"),
            address,
        })
    }

    /// The controller address.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// assert_eq!(stage.address(), 1);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn address(&self) -> u8 {
        self.address
    }

    /// The underlying connection, for commands this driver does not wrap.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// assert_eq!(stage.connection().query("1SR?")?, "1SR25");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn command(&self, code: &str, param: &str) -> String {
        format!("{}{code}{param}", self.address)
    }

    /// Send a query and strip the `<address><code>` echo from the reply.
    fn query(&mut self, code: &str, param: &str) -> Result<String> {
        let cmd = self.command(code, param);
        let reply = self.conn.query(&cmd)?;
        let prefix = self.command(code, "");
        match reply.strip_prefix(&prefix) {
            Some(rest) => Ok(rest.trim().to_owned()),
            None => Err(self.conn.garbage(
                &cmd,
                reply.as_bytes(),
                format!("expected a reply starting with {prefix:?}"),
            )),
        }
    }

    fn query_f64(&mut self, code: &str, param: &str) -> Result<f64> {
        let value = self.query(code, param)?;
        value.parse().map_err(|_| {
            let cmd = self.command(code, param);
            self.conn
                .garbage(&cmd, value.as_bytes(), "expected a number")
        })
    }

    /// Send a command, then read `TE` and fail if the controller refused it.
    fn execute(&mut self, code: &str, param: &str) -> Result<()> {
        let cmd = self.command(code, param);
        self.conn.write(&cmd)?;
        match self.last_command_error()? {
            None => Ok(()),
            Some((c, message)) => Err(InstrumentError::Device {
                device: self.conn.name().to_owned(),
                command: cmd,
                code: format!("TE {c}"),
                message: message.to_owned(),
            }),
        }
    }

    fn check_number(&self, code: &str, value: f64) -> Result<String> {
        let param = format!("{value}");
        if value.is_finite() {
            Ok(param)
        } else {
            Err(InstrumentError::InvalidArgument {
                device: self.conn.name().to_owned(),
                command: self.command(code, &param),
                reason: "value must be finite".to_owned(),
            })
        }
    }

    /// `TE`: the last command error as its code and the manual's meaning, or
    /// `None` if the last command was accepted. Reading it clears it.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// assert!(stage.move_absolute(1.0).is_err()); // not homed yet
    /// stage.connection().write("1PA1")?;
    /// assert_eq!(stage.last_command_error()?, Some(('H', "Command not allowed in NOT REFERENCED state")));
    /// assert_eq!(stage.last_command_error()?, None);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn last_command_error(&mut self) -> Result<Option<(char, &'static str)>> {
        let reply = self.query("TE", "")?;
        let mut chars = reply.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(command_error_description(c).map(|d| (c, d))),
            _ => {
                let cmd = self.command("TE", "");
                Err(self
                    .conn
                    .garbage(&cmd, reply.as_bytes(), "expected one error code character"))
            }
        }
    }

    /// `TS`: positioner errors and controller state.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// let s = stage.status()?;
    /// assert!(s.errors.is_empty() && s.state.is_not_referenced());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn status(&mut self) -> Result<Status> {
        let reply = self.query("TS", "")?;
        Status::parse(&reply).ok_or_else(|| {
            let cmd = self.command("TS", "");
            self.conn.garbage(
                &cmd,
                reply.as_bytes(),
                "expected 4 hex error digits and 2 hex state digits",
            )
        })
    }

    /// `TS`, state only.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// assert_eq!(stage.state()?.description(), "NOT REFERENCED from RESET");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn state(&mut self) -> Result<ControllerState> {
        Ok(self.status()?.state)
    }

    /// `TP`: current position, in the stage's unit (mm).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// # stage.home()?;
    /// # stage.wait_motion_done(std::time::Duration::from_secs(5))?;
    /// assert_eq!(stage.position()?, 0.0);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn position(&mut self) -> Result<f64> {
        self.query_f64("TP", "")
    }

    /// `PA?`: target position of the last move.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// # stage.home()?;
    /// # stage.wait_motion_done(std::time::Duration::from_secs(5))?;
    /// stage.move_absolute(3.0)?;
    /// assert_eq!(stage.target_position()?, 3.0);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn target_position(&mut self) -> Result<f64> {
        self.query_f64("PA", "?")
    }

    /// `OR`: start the home search (from NOT REFERENCED). Returns at once;
    /// see [`wait_motion_done`](Self::wait_motion_done).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// stage.home()?;
    /// stage.wait_motion_done(std::time::Duration::from_secs(30))?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn home(&mut self) -> Result<()> {
        self.execute("OR", "")
    }

    /// `PA<x>`: start a move to absolute position `x`. Returns at once.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// # stage.home()?;
    /// # stage.wait_motion_done(std::time::Duration::from_secs(5))?;
    /// stage.move_absolute(1.5)?;
    /// stage.wait_motion_done(std::time::Duration::from_secs(5))?;
    /// assert_eq!(stage.position()?, 1.5);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn move_absolute(&mut self, x: f64) -> Result<()> {
        let p = self.check_number("PA", x)?;
        self.execute("PA", &p)
    }

    /// `PR<dx>`: start a move by `dx` from the current target. Returns at
    /// once.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// # stage.home()?;
    /// # stage.wait_motion_done(std::time::Duration::from_secs(5))?;
    /// stage.move_relative(-0.5)?;
    /// stage.wait_motion_done(std::time::Duration::from_secs(5))?;
    /// assert_eq!(stage.position()?, -0.5);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn move_relative(&mut self, dx: f64) -> Result<()> {
        let p = self.check_number("PR", dx)?;
        self.execute("PR", &p)
    }

    /// `PA<x>`, then wait for the motion to end (at most `timeout`).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// # stage.home()?;
    /// # stage.wait_motion_done(std::time::Duration::from_secs(5))?;
    /// stage.move_to(2.0, std::time::Duration::from_secs(5))?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn move_to(&mut self, x: f64, timeout: Duration) -> Result<()> {
        self.move_absolute(x)?;
        self.wait_motion_done(timeout).map(|_| ())
    }

    /// `ST`: stop the motion.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// # stage.home()?;
    /// # stage.wait_motion_done(std::time::Duration::from_secs(5))?;
    /// stage.set_velocity(0.1)?;
    /// stage.move_absolute(10.0)?;
    /// stage.stop()?;
    /// assert!(stage.wait_motion_done(std::time::Duration::from_secs(5))?.state.is_ready());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn stop(&mut self) -> Result<()> {
        self.execute("ST", "")
    }

    /// `VA<v>`: velocity for the next moves (units per second).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// stage.set_velocity(5.0)?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn set_velocity(&mut self, velocity: f64) -> Result<()> {
        let p = self.check_number("VA", velocity)?;
        self.execute("VA", &p)
    }

    /// `VA?`: the velocity.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// stage.set_velocity(5.0)?;
    /// assert_eq!(stage.velocity()?, 5.0);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn velocity(&mut self) -> Result<f64> {
        self.query_f64("VA", "?")
    }

    /// `RS`: reset the controller (it comes back NOT REFERENCED).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// # stage.home()?;
    /// # stage.wait_motion_done(std::time::Duration::from_secs(5))?;
    /// stage.reset()?;
    /// assert!(stage.state()?.is_not_referenced());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn reset(&mut self) -> Result<()> {
        let cmd = self.command("RS", "");
        self.conn.write(&cmd)
    }

    /// `ID?`: the stage identifier.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// let id = stage.stage_identifier()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn stage_identifier(&mut self) -> Result<String> {
        self.query("ID", "?")
    }

    /// `VE`: the controller's firmware version string.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// assert!(stage.version()?.contains("SMC_CC"));
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn version(&mut self) -> Result<String> {
        self.query("VE", "")
    }

    /// Poll `TS` until the controller is READY (motion or homing done).
    ///
    /// Fails with [`InstrumentError::Device`] when positioner error bits
    /// are set (their meanings in the message) or when the controller ends
    /// up NOT REFERENCED or DISABLE instead of READY, and with
    /// [`InstrumentError::Timeout`] if it is still moving after `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # use smq_instrument::Instrument as _;
    /// # let mut stage = smq_stage::Stage::open(&sim.socket_address())?;
    /// # stage.home()?;
    /// # stage.wait_motion_done(std::time::Duration::from_secs(5))?;
    /// stage.move_absolute(1.0)?;
    /// let status = stage.wait_motion_done(std::time::Duration::from_secs(5))?;
    /// assert!(status.state.is_ready());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn wait_motion_done(&mut self, timeout: Duration) -> Result<Status> {
        let deadline = Instant::now() + timeout;
        let cmd = self.command("TS", "");
        loop {
            let status = self.status()?;
            if !status.errors.is_empty() {
                return Err(self.positioner_error(&cmd, status.errors));
            }
            let s = status.state;
            if s.is_ready() {
                return Ok(status);
            }
            if !(s.is_moving() || s.is_homing()) {
                return Err(InstrumentError::Device {
                    device: self.conn.name().to_owned(),
                    command: cmd,
                    code: format!("TS {:02X}", s.0),
                    message: format!("motion ended in state {}", s.description()),
                });
            }
            if Instant::now() >= deadline {
                return Err(InstrumentError::Timeout {
                    device: self.conn.name().to_owned(),
                    command: format!("{cmd} (waiting for motion to end)"),
                    timeout,
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn positioner_error(&self, cmd: &str, errors: PositionerErrors) -> InstrumentError {
        InstrumentError::Device {
            device: self.conn.name().to_owned(),
            command: cmd.to_owned(),
            code: format!("TS {:04X}", errors.0),
            message: errors.to_string(),
        }
    }
}

impl Instrument for Stage {
    const NAME: &'static str = "stage";

    /// Over a serial port, the SMC100's settings ([`Stage::serial_config`]); no recovery
    /// commands.
    fn open_options() -> OpenOptions {
        OpenOptions::default()
            .serial(Self::serial_config())
            .recovery_commands(&[])
    }

    /// The controller at address 1.
    fn from_connection(conn: Connection) -> Result<Self> {
        Self::at_address(conn, 1)
    }

    fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn connection_ref(&self) -> &Connection {
        &self.conn
    }

    /// `VE` and `ID?`: manufacturer `Newport`, the controller model and firmware from
    /// `VE` (`SMC_CC - Controller-driver version 3.0.0`), the stage identifier from `ID?`
    /// as the serial field.
    fn identify(&mut self) -> Result<Identity> {
        let version = self.version()?;
        let stage = self.stage_identifier()?;
        let (model, firmware) = match version.split_once(" - ") {
            Some((m, f)) => (m.trim().to_owned(), f.trim().to_owned()),
            None => ("SMC100".to_owned(), version.clone()),
        };
        Ok(Identity {
            manufacturer: "Newport".to_owned(),
            model,
            serial: stage,
            firmware,
        })
    }

    /// `RS`: reset the controller (it is then NOT REFERENCED).
    fn reset(&mut self) -> Result<()> {
        Stage::reset(self)
    }
}
