//! A lab of three simulated instruments sharing one sample.

use std::io;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::dmm::DmmModel;
use crate::physics::Physics;
use crate::scope::ScopeModel;
use crate::server::SimInstrument;
use crate::stage::StageModel;

/// A multimeter, an oscilloscope and a motion controller, each on its own
/// thread, sharing one [`Physics`]: moving the stage changes what the
/// multimeter reads and the amplitude of the scope's channel 1, so a scan
/// shows the sample's peak. Dropping the lab stops all three.
///
/// # Examples
///
/// ```
/// use smq_sim::SimLab;
///
/// let lab = SimLab::start(42).unwrap();
/// println!("dmm   {} / {}", lab.dmm.pty_path(), lab.dmm.tcp_addr());
/// println!("scope {} / {}", lab.scope.pty_path(), lab.scope.tcp_addr());
/// println!("stage {} / {}", lab.stage.pty_path(), lab.stage.tcp_addr());
/// lab.physics().set_position(lab.physics().peak_center);
/// ```
#[derive(Debug)]
pub struct SimLab {
    /// The simulated Keysight 34401A multimeter.
    pub dmm: SimInstrument<DmmModel>,
    /// The simulated Rigol DS1000Z oscilloscope.
    pub scope: SimInstrument<ScopeModel>,
    /// The simulated Newport SMC100 motion controller.
    pub stage: SimInstrument<StageModel>,
    physics: Arc<Physics>,
    /// The port mapper of [`serve_portmapper`](Self::serve_portmapper), if serving.
    portmapper: Option<(u16, tokio::task::AbortHandle)>,
}

impl Drop for SimLab {
    fn drop(&mut self) {
        if let Some((_, task)) = self.portmapper.take() {
            task.abort();
        }
    }
}

impl SimLab {
    /// A table of where to reach each instrument, one line each under a header, as the
    /// `smq-sim` and `smq sim` commands print it: its serial port (the stable path of its
    /// pseudo-terminal, [`SimInstrument::serial_path`]), its raw TCP socket and its VXI-11
    /// address (`-` for the stage, which has none). When a port mapper is served for the
    /// scope ([`serve_portmapper`](Self::serve_portmapper)), a last line gives the address
    /// through it.
    ///
    /// # Examples
    ///
    /// ```
    /// let lab = smq_sim::SimLab::start(1).unwrap();
    /// let table = lab.endpoints();
    /// assert!(table.starts_with("instrument"));
    /// assert_eq!(table.lines().count(), 4);
    /// assert!(table.lines().nth(2).unwrap().ends_with("::INSTR"));
    /// ```
    pub fn endpoints(&self) -> String {
        let row = |name: &str, serial: String, tcp: std::net::SocketAddr, vxi: String| {
            let vxi = if vxi.is_empty() { "-".to_owned() } else { vxi };
            format!("{name:<11} {serial:<32} {tcp:<21} {vxi}")
        };
        let mut table = vec![
            format!(
                "{:<11} {:<32} {:<21} {}",
                "instrument", "serial", "tcp", "vxi-11"
            ),
            row(
                "dmm",
                self.dmm.serial_path(),
                self.dmm.tcp_addr(),
                self.dmm.vxi11_address(),
            ),
            row(
                "scope",
                self.scope.serial_path(),
                self.scope.tcp_addr(),
                self.scope.vxi11_address(),
            ),
            row(
                "stage",
                self.stage.serial_path(),
                self.stage.tcp_addr(),
                String::new(),
            ),
        ];
        if let Some((port, _)) = self.portmapper {
            let host = if port == smq_instrument::PORTMAPPER_PORT {
                "127.0.0.1".to_owned()
            } else {
                format!("127.0.0.1:{port}")
            };
            table.push(format!(
                "scope also at TCPIP0::{host}::INSTR (port mapper on port {port})"
            ));
        }
        table.join("\n")
    }

    /// Serve an RPC port mapper on `port` of 127.0.0.1 that sends VXI-11 clients to the
    /// scope, so that the scope answers at `TCPIP0::127.0.0.1::INSTR` as a LAN instrument
    /// does when `port` is 111, the port VISA always asks (binding it needs root, or the
    /// `CAP_NET_BIND_SERVICE` capability). Returns the port (the one bound, if `port` is 0).
    ///
    /// # Errors
    ///
    /// If the port cannot be bound (in use, e.g. by the system's `rpcbind`, or
    /// privileged).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut lab = smq_sim::SimLab::start(1).unwrap();
    /// let port = lab.serve_portmapper(0)?;
    /// let address = format!("TCPIP0::127.0.0.1:{port}::INSTR");
    /// let mut scope = smq_instrument::Connection::open_str("scope", &address)?;
    /// assert_eq!(scope.idn()?.model, "DS1104Z");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn serve_portmapper(&mut self, port: u16) -> io::Result<u16> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let core = self.scope.vxi11_core_port();
        let rt = crate::runtime::handle()?;
        let task = rt.spawn(async move {
            let Ok(listener) = TcpListener::from_std(listener) else {
                return;
            };
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(crate::vxi11::serve_portmapper(s, core));
            }
        });
        if let Some((_, old)) = self.portmapper.replace((port, task.abort_handle())) {
            old.abort();
        }
        Ok(port)
    }

    /// Start the three instruments around the default sample, with noise
    /// seeded by `seed`.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::SimLab;
    /// let lab = SimLab::start(7).unwrap();
    /// assert_ne!(lab.dmm.tcp_addr(), lab.scope.tcp_addr());
    /// ```
    pub fn start(seed: u64) -> io::Result<Self> {
        Self::with_physics(Arc::new(Physics::default()), seed)
    }

    /// Start the three instruments around `physics`.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Physics, SimLab};
    /// use std::sync::Arc;
    /// // A narrow, tall peak at 12 mm.
    /// let lab = SimLab::with_physics(Arc::new(Physics::new(12.0, 0.2, 3.0, 0.0)), 7).unwrap();
    /// assert_eq!(lab.physics().peak_center, 12.0);
    /// ```
    pub fn with_physics(physics: Arc<Physics>, seed: u64) -> io::Result<Self> {
        Ok(Self {
            dmm: SimInstrument::start(DmmModel::new(Arc::clone(&physics), seed))?,
            scope: SimInstrument::start(ScopeModel::new(
                Arc::clone(&physics),
                seed.wrapping_add(1),
            ))?,
            stage: SimInstrument::start(StageModel::new(Arc::clone(&physics)))?,
            physics,
            portmapper: None,
        })
    }

    /// The shared sample and stage position.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::SimLab;
    /// let lab = SimLab::start(7).unwrap();
    /// lab.physics().set_position(4.0);
    /// assert_eq!(lab.physics().position(), 4.0);
    /// ```
    pub fn physics(&self) -> &Arc<Physics> {
        &self.physics
    }
}
