//! A lab of three simulated instruments sharing one sample.

use std::io;
use std::sync::Arc;

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
}

impl SimLab {
    /// A table of each instrument's pseudo-terminal path and TCP address, one line each
    /// under a header, as the `smq-sim` and `smq sim` commands print it.
    ///
    /// # Examples
    ///
    /// ```
    /// let lab = smq_sim::SimLab::start(1).unwrap();
    /// let table = lab.endpoints();
    /// assert!(table.starts_with("instrument"));
    /// assert_eq!(table.lines().count(), 4);
    /// ```
    pub fn endpoints(&self) -> String {
        format!(
            "instrument  pty            tcp\n\
             dmm         {:<14} {}\n\
             scope       {:<14} {}\n\
             stage       {:<14} {}",
            self.dmm.pty_path(),
            self.dmm.tcp_addr(),
            self.scope.pty_path(),
            self.scope.tcp_addr(),
            self.stage.pty_path(),
            self.stage.tcp_addr(),
        )
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
