//! The demo scan: the graph of tasks submitted for each stage position.

use std::borrow::Cow;

use ndarray::Array1;
use smq_compute::{Window, power_spectrum};
use smq_dmm::Dmm;
use smq_scope::{Scope, Waveform};
use smq_store::{Record, Run};
use smqsched::Promise;

use crate::{CHANNEL, Error, Lab};

/// `n` stage positions evenly spread over 0 to 10 mm (the simulated sample's peak sits at
/// 5 mm); a single point is at 0.
pub fn default_positions(n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![0.0],
        _ => (0..n).map(|i| 10.0 * i as f64 / (n - 1) as f64).collect(),
    }
}

/// The peak of a power spectrum. Stored as a pair `[frequency, power]` (a dataset of shape
/// `(acquisitions, 2)`).
///
/// # Examples
///
/// ```
/// use smq_lab::Peak;
/// use smq_store::Record;
///
/// let peak = Peak { frequency: 1000.0, power: 0.25 };
/// assert_eq!(peak.shape(), [2]);
/// assert_eq!(&*peak.elements(), &[1000.0, 0.25]);
/// assert_eq!(Peak::from_pair(&[1000.0, 0.25]), Some(peak));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Peak {
    /// Frequency of the largest bin, Hz.
    pub frequency: f64,
    /// Power in that bin, V².
    pub power: f64,
}

impl Peak {
    /// The peak stored as `[frequency, power]`; `None` unless `pair` has two elements.
    pub fn from_pair(pair: &[f64]) -> Option<Self> {
        match pair {
            &[frequency, power] => Some(Self { frequency, power }),
            _ => None,
        }
    }
}

impl Record for Peak {
    type Elem = f64;
    fn shape(&self) -> Vec<u64> {
        vec![2]
    }
    fn elements(&self) -> Cow<'_, [f64]> {
        Cow::Owned(vec![self.frequency, self.power])
    }
}

/// The promises of a submitted demo scan, one per position in each vector.
pub struct DemoHandles {
    /// The scanned positions, mm.
    pub positions: Vec<f64>,
    /// The position reached by each move.
    pub moves: Vec<Promise<f64>>,
    /// The multimeter reading at each position, V.
    pub readings: Vec<Promise<f64>>,
    /// The waveform recorded at each position.
    pub waveforms: Vec<Promise<Waveform>>,
    /// The voltages of each waveform, as saved.
    pub volts: Vec<Promise<Array1<f64>>>,
    /// The power spectrum of each waveform.
    pub spectra: Vec<Promise<Array1<f64>>>,
    /// The peak of each spectrum.
    pub peaks: Vec<Promise<Peak>>,
    /// The save tasks (acquisition index of each saved value).
    pub saves: Vec<Promise<u64>>,
}

impl DemoHandles {
    /// The position of the largest multimeter reading and the reading, among the readings
    /// that succeeded; `None` if none did. Waits for the readings.
    pub fn max_signal(&self) -> Option<(f64, f64)> {
        self.positions
            .iter()
            .zip(&self.readings)
            .filter_map(|(&x, r)| r.result().ok().map(|v| (x, *v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The number of tasks submitted by the scan.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_lab::{Lab, default_positions, demo_scan};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let lab = Lab::open(1)?;
    /// let store = smq_store::Store::create(dir.path())?;
    /// let run = store.create_run("count", "demo", serde_json::json!({}))?;
    /// let before = lab.sch.task_count();
    /// let scan = demo_scan(&lab, &run, &default_positions(3))?;
    /// assert_eq!(scan.task_count(), lab.sch.task_count() - before);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn task_count(&self) -> usize {
        self.moves.len()
            + self.readings.len()
            + self.waveforms.len()
            + self.volts.len()
            + self.spectra.len()
            + self.peaks.len()
            + self.saves.len()
    }
}

/// Names of the datasets written by [`demo_scan`].
///
/// Acquisitions are stored as they finish, newest point first, so beside each dataset `D`
/// the `u64` dataset `D_point` ([`Run::points_of`]) gives the scan point (the index into the
/// positions) of each acquisition of `D`.
pub mod datasets {
    /// Stage position reached, mm (one scalar per point).
    pub const POSITION: &str = "position";
    /// Multimeter reading, V (one scalar per point).
    pub const DMM: &str = "dmm_voltage";
    /// Scope waveform voltages, V (one record per point).
    pub const WAVEFORM: &str = "waveform";
    /// Spectrum peak `[frequency Hz, power V²]` (one pair per point).
    pub const PEAK: &str = "spectrum_peak";
}

/// Submit the demo scan over `positions` on `lab`'s scheduler, saving into `run`; see the
/// [crate docs](crate). Nothing runs until the scheduler is started (if it is not yet).
///
/// # Errors
///
/// If a task cannot be submitted.
pub fn demo_scan(lab: &Lab, run: &Run, positions: &[f64]) -> Result<DemoHandles, Error> {
    let mut h = DemoHandles {
        positions: positions.to_vec(),
        moves: Vec::new(),
        readings: Vec::new(),
        waveforms: Vec::new(),
        volts: Vec::new(),
        spectra: Vec::new(),
        peaks: Vec::new(),
        saves: Vec::new(),
    };
    let q = &lab.compute;
    for (point, &x) in (0u64..).zip(positions) {
        let moved = lab.stage.move_to_held(x);
        let reading = lab
            .dmm
            .task("read")
            .after(&moved)
            .submit(|d: &mut Dmm| d.read())?;
        // The waveform comes after the reading, and the move holds the stage until the
        // waveform is taken: the stage stays at `x` for both, so each is measured at its
        // point (and, on the simulators, is a function of the point and the seed only).
        let wave = lab
            .scope
            .task(&format!("waveform({CHANNEL})"))
            .after_settled(&reading)
            .releases(&moved)
            .submit(|s: &mut Scope| s.read_waveform(CHANNEL))?;
        let volts = q
            .task()
            .label(format!("volts({x})"))
            .submit(&wave, |w: &Waveform| w.v.clone())?;
        let spectrum = q
            .task()
            .label(format!("fft({x})"))
            .submit_result(&wave, |w: &Waveform| power_spectrum(&w.v, Window::Hann))?;
        let peak = q
            .task()
            .label(format!("peak({x})"))
            .submit((&wave, &spectrum), |(w, s): (&Waveform, &Array1<f64>)| {
                spectrum_peak(w, s)
            })?;
        h.saves
            .push(run.save_at(q, datasets::POSITION, point, &moved)?);
        h.saves
            .push(run.save_at(q, datasets::DMM, point, &reading)?);
        h.saves
            .push(run.save_at(q, datasets::WAVEFORM, point, &volts)?);
        h.saves.push(run.save_at(q, datasets::PEAK, point, &peak)?);
        h.moves.push(moved);
        h.readings.push(reading);
        h.waveforms.push(wave);
        h.volts.push(volts);
        h.spectra.push(spectrum);
        h.peaks.push(peak);
    }
    Ok(h)
}

/// The largest bin of the one-sided power spectrum `s` of `w`, skipping the DC bin.
pub fn spectrum_peak(w: &Waveform, s: &Array1<f64>) -> Peak {
    let n = w.v.len().max(1) as f64;
    let dt = if w.t.len() >= 2 {
        w.t[1] - w.t[0]
    } else {
        w.preamble.x_increment
    };
    let df = if dt > 0.0 { 1.0 / (n * dt) } else { 0.0 };
    let (bin, power) =
        s.iter()
            .enumerate()
            .skip(1)
            .fold((0, f64::NEG_INFINITY), |best, (i, &p)| {
                if p > best.1 { (i, p) } else { best }
            });
    Peak {
        frequency: bin as f64 * df,
        power: power.max(0.0),
    }
}
