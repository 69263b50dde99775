//! The simulated sample and stage shared by the instruments of a lab.

use std::sync::Mutex;
use std::time::Instant;

use crate::server::lock;

/// A sample with one feature along the stage axis: a Gaussian peak of
/// height `peak_height` centred at `peak_center` (mm) with standard
/// deviation `peak_width` (mm), on top of `baseline`.
///
/// The stage simulator moves along this axis; the scope and DMM
/// simulators read the signal at the current stage position. Motion is
/// exact: a move ends at exactly the position asked, with no noise, so
/// everything measured at rest is reproducible (see
/// [the crate docs](crate#reproducible-runs)).
///
/// # Examples
///
/// ```
/// use smq_sim::Physics;
/// let p = Physics::default();
/// assert!(p.signal(p.peak_center) > p.signal(p.peak_center + 3.0));
/// ```
#[derive(Debug)]
pub struct Physics {
    /// Position of the peak in mm.
    pub peak_center: f64,
    /// Standard deviation of the peak in mm.
    pub peak_width: f64,
    /// Height of the peak (relative units; volts on the DMM).
    pub peak_height: f64,
    /// Signal far from the peak.
    pub baseline: f64,
    motion: Mutex<Motion>,
}

/// Stage motion: a straight move from `from` to `to` started at `t0`.
#[derive(Debug, Clone, Copy)]
struct Motion {
    from: f64,
    to: f64,
    t0: Instant,
    velocity: f64,
}

impl Motion {
    fn position(&self, now: Instant) -> f64 {
        let dist = self.to - self.from;
        let travelled = now.saturating_duration_since(self.t0).as_secs_f64() * self.velocity;
        if travelled >= dist.abs() || self.velocity <= 0.0 {
            self.to
        } else {
            self.from + travelled.copysign(dist)
        }
    }
    fn done(&self, now: Instant) -> bool {
        self.position(now) == self.to
    }
}

impl Default for Physics {
    fn default() -> Self {
        Self::new(5.0, 0.5, 1.0, 0.1)
    }
}

impl Physics {
    /// A sample with the given peak and baseline; the stage starts at 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::Physics;
    /// let p = Physics::new(5.0, 0.5, 1.0, 0.1);
    /// assert_eq!(p.position(), 0.0);
    /// ```
    pub fn new(peak_center: f64, peak_width: f64, peak_height: f64, baseline: f64) -> Self {
        let now = Instant::now();
        Self {
            peak_center,
            peak_width,
            peak_height,
            baseline,
            motion: Mutex::new(Motion {
                from: 0.0,
                to: 0.0,
                t0: now,
                velocity: 1.0,
            }),
        }
    }

    /// Noise-free signal at stage position `x` (mm).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::Physics;
    /// let p = Physics::new(5.0, 0.5, 1.0, 0.1);
    /// assert!((p.signal(5.0) - 1.1).abs() < 1e-12);
    /// ```
    pub fn signal(&self, x: f64) -> f64 {
        let w = self.peak_width.abs().max(1e-9);
        let z = (x - self.peak_center) / w;
        self.baseline + self.peak_height * (-0.5 * z * z).exp()
    }

    /// Current stage position (mm).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::Physics;
    /// let p = Physics::default();
    /// p.set_position(2.5);
    /// assert_eq!(p.position(), 2.5);
    /// ```
    pub fn position(&self) -> f64 {
        lock(&self.motion).position(Instant::now())
    }

    /// Signal at the current stage position.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::Physics;
    /// let p = Physics::default();
    /// p.set_position(p.peak_center);
    /// assert_eq!(p.signal_now(), p.signal(p.peak_center));
    /// ```
    pub fn signal_now(&self) -> f64 {
        self.signal(self.position())
    }

    /// True while the stage is moving.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::Physics;
    /// let p = Physics::default();
    /// p.start_move(100.0, 1.0);
    /// assert!(p.moving());
    /// ```
    pub fn moving(&self) -> bool {
        !lock(&self.motion).done(Instant::now())
    }

    /// Start a move to `to` at `velocity` (mm/s) from wherever the stage is.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::Physics;
    /// let p = Physics::default();
    /// p.start_move(1.0, 1e9);
    /// while p.moving() {}
    /// assert_eq!(p.position(), 1.0);
    /// ```
    pub fn start_move(&self, to: f64, velocity: f64) {
        let now = Instant::now();
        let mut m = lock(&self.motion);
        let from = m.position(now);
        *m = Motion {
            from,
            to,
            t0: now,
            velocity,
        };
    }

    /// Stop the stage where it is.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::Physics;
    /// let p = Physics::default();
    /// p.start_move(100.0, 1.0);
    /// p.stop();
    /// assert!(!p.moving());
    /// ```
    pub fn stop(&self) {
        let now = Instant::now();
        let mut m = lock(&self.motion);
        let here = m.position(now);
        *m = Motion {
            from: here,
            to: here,
            t0: now,
            velocity: m.velocity,
        };
    }

    /// Put the stage at `x` at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::Physics;
    /// let p = Physics::default();
    /// p.set_position(-3.0);
    /// assert_eq!(p.position(), -3.0);
    /// ```
    pub fn set_position(&self, x: f64) {
        let mut m = lock(&self.motion);
        *m = Motion {
            from: x,
            to: x,
            t0: Instant::now(),
            velocity: m.velocity,
        };
    }
}

/// SCPI number format `+1.23456789E-01`.
pub(crate) fn scpi_number(x: f64) -> String {
    if !x.is_finite() {
        return "+9.90000000E+37".to_owned();
    }
    let s = format!("{x:+.8E}");
    match s.split_once('E') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}E{sign}{digits:0>2}")
        }
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_format() {
        assert_eq!(scpi_number(0.123456789), "+1.23456789E-01");
        assert_eq!(scpi_number(-12.5), "-1.25000000E+01");
        assert_eq!(scpi_number(f64::NAN), "+9.90000000E+37");
    }

    #[test]
    fn peak() {
        let p = Physics::default();
        assert!((p.signal(5.0) - 1.1).abs() < 1e-12);
        p.set_position(5.0);
        assert_eq!(p.position(), 5.0);
        assert!(!p.moving());
    }
}
