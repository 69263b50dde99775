//! Results a script marks for display: the last waveform, a running average, a scan.

use std::sync::{Arc, Mutex, MutexGuard};

use ndarray::Array1;
use smq_compute::Accumulator;
use smq_scope::Waveform;
use smqsched::Promise;

/// A result that can be shown as a trace: a sequence of samples.
///
/// Implemented for `Vec<f64>`, `Array1<f64>` and the oscilloscope's [`Waveform`] (its
/// voltages); implement it for your own types to [`Plots::waveform`] them.
///
/// # Examples
///
/// ```
/// use smqsched_dashboard::Trace;
///
/// struct Spectrum(Vec<f64>);
/// impl Trace for Spectrum {
///     fn samples(&self) -> Vec<f64> {
///         self.0.clone()
///     }
/// }
/// assert_eq!(Spectrum(vec![1.0, 2.0]).samples(), [1.0, 2.0]);
/// ```
pub trait Trace: Send + Sync + 'static {
    /// The samples, in order.
    fn samples(&self) -> Vec<f64>;
}

impl Trace for Vec<f64> {
    fn samples(&self) -> Vec<f64> {
        self.clone()
    }
}

impl Trace for Array1<f64> {
    fn samples(&self) -> Vec<f64> {
        self.to_vec()
    }
}

impl Trace for Waveform {
    fn samples(&self) -> Vec<f64> {
        self.v.to_vec()
    }
}

/// A promise whose result is not known yet, and what to do with it once it is.
type Pending = Box<dyn FnMut(&mut PlotData) -> bool + Send>;

/// What the plots show; read by the dashboard each frame.
#[derive(Default)]
pub(crate) struct PlotData {
    /// The most recently finished waveform.
    pub(crate) last: Option<Vec<f64>>,
    /// Label of the task that produced [`Self::last`].
    pub(crate) last_label: String,
    /// Running average of every waveform so far (reset when the length changes).
    pub(crate) average: Accumulator,
    /// The mean of [`Self::average`], recomputed when a waveform arrives.
    pub(crate) average_mean: Vec<f64>,
    /// Scan points `(x, value)`, in arrival order.
    pub(crate) scan: Vec<[f64; 2]>,
    /// Map points `(x, y, value)`, in arrival order.
    pub(crate) map: Vec<[f64; 3]>,
    /// Marked promises not settled yet.
    pending: Vec<Pending>,
    /// Marked promises that failed.
    pub(crate) failed: usize,
}

impl PlotData {
    fn add_waveform(&mut self, label: &str, samples: Vec<f64>) {
        let frame = Array1::from(samples.clone());
        if self.average.shape().is_some_and(|s| s != [samples.len()]) {
            // A different length: start a new average.
            self.average = Accumulator::new();
        }
        // A frame with NaN or infinities is shown, but left out of the average.
        let _ = self.average.push(&frame);
        self.average_mean = self
            .average
            .mean()
            .map(|m| m.iter().copied().collect())
            .unwrap_or_default();
        self.last = Some(samples);
        label.clone_into(&mut self.last_label);
    }

    /// Look at every pending promise once; keep those still unsettled.
    pub(crate) fn poll(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        pending.retain_mut(|p| !p(self));
        // New marks may have been added by the callbacks: none are, but keep both.
        pending.append(&mut self.pending);
        self.pending = pending;
    }
}

/// The live plots of a dashboard: a cheap, cloneable handle a script uses to mark promises
/// whose results should be shown as soon as they arrive.
///
/// Marking costs nothing in the graph (no task is added): the dashboard looks at the marked
/// promises at each frame and takes the results of those that have settled.
///
/// * [`waveform`](Self::waveform): shown as the last waveform, and added to the running
///   average.
/// * [`scan_point`](Self::scan_point): one point of a 1-D scan, value against position.
/// * [`map_point`](Self::map_point): one pixel of a 2-D scan map, coloured by value.
///
/// # Examples
///
/// ```
/// use smqsched::Scheduler;
/// use smqsched_dashboard::Plots;
///
/// let sch = Scheduler::new();
/// let q = sch.queue("scope", 1).unwrap();
/// let plots = Plots::new();
/// for x in [0.0, 1.0, 2.0] {
///     let trace = q.submit((), move |()| vec![x; 4]);
///     let level = q.submit(&trace, |t: &Vec<f64>| t[0] * 2.0);
///     plots.waveform(&trace);
///     plots.scan_point(x, &level);
/// }
/// sch.start();
/// sch.wait();
/// plots.poll();
/// assert_eq!(plots.scan(), [[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]);
/// assert_eq!(plots.average(), [1.0; 4]);
/// ```
#[derive(Clone, Default)]
pub struct Plots {
    inner: Arc<Mutex<PlotData>>,
}

impl std::fmt::Debug for Plots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.lock();
        f.debug_struct("Plots")
            .field("pending", &d.pending.len())
            .field("scan", &d.scan.len())
            .field("map", &d.map.len())
            .finish()
    }
}

impl Plots {
    /// New, empty plots.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, PlotData> {
        // A panic while holding the lock leaves plain data behind: keep showing it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark(&self, pending: Pending) {
        self.lock().pending.push(pending);
    }

    /// Show the result of `p` as the last waveform when it arrives, and add it to the running
    /// average. With the scheduler's newest-first order, "last" is the last to finish.
    pub fn waveform<T: Trace>(&self, p: &Promise<T>) {
        let p = p.clone();
        self.mark(Box::new(move |d| match p.try_result() {
            None => false,
            Some(Ok(v)) => {
                d.add_waveform(p.label(), v.samples());
                true
            }
            Some(Err(_)) => {
                d.failed += 1;
                true
            }
        }));
    }

    /// Add `(x, value)` to the scan plot when `value` arrives.
    pub fn scan_point(&self, x: f64, value: &Promise<f64>) {
        let p = value.clone();
        self.mark(Box::new(move |d| match p.try_result() {
            None => false,
            Some(Ok(v)) => {
                d.scan.push([x, *v]);
                true
            }
            Some(Err(_)) => {
                d.failed += 1;
                true
            }
        }));
    }

    /// Add the pixel `(x, y)` with colour `value` to the scan map when `value` arrives.
    pub fn map_point(&self, x: f64, y: f64, value: &Promise<f64>) {
        let p = value.clone();
        self.mark(Box::new(move |d| match p.try_result() {
            None => false,
            Some(Ok(v)) => {
                d.map.push([x, y, *v]);
                true
            }
            Some(Err(_)) => {
                d.failed += 1;
                true
            }
        }));
    }

    /// Add the map point `f(result)` = `[x, y, value]` when the result of `p` arrives: for
    /// results that carry their own coordinates.
    ///
    /// # Examples
    ///
    /// ```
    /// let sch = smqsched::Scheduler::new();
    /// let q = sch.queue("q", 1).unwrap();
    /// let plots = smqsched_dashboard::Plots::new();
    /// // A peak: [frequency, power], measured at x = 2.
    /// let peak = q.submit((), |()| vec![50.0, 0.3]);
    /// plots.map_with(&peak, |p: &Vec<f64>| [2.0, p[0], p[1]]);
    /// sch.start();
    /// sch.wait();
    /// plots.poll();
    /// assert_eq!(plots.map(), [[2.0, 50.0, 0.3]]);
    /// ```
    pub fn map_with<T: Send + Sync + 'static>(
        &self,
        p: &Promise<T>,
        f: impl Fn(&T) -> [f64; 3] + Send + 'static,
    ) {
        let p = p.clone();
        self.mark(Box::new(move |d| match p.try_result() {
            None => false,
            Some(Ok(v)) => {
                d.map.push(f(v));
                true
            }
            Some(Err(_)) => {
                d.failed += 1;
                true
            }
        }));
    }

    /// Take the results of the marked promises that have settled since the last call. The
    /// dashboard calls this at each frame; scripts and tests may call it too.
    pub fn poll(&self) {
        self.lock().poll();
    }

    /// Marked promises that have not settled yet (as of the last [`poll`](Self::poll)).
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    /// The last waveform taken, if any.
    pub fn last_waveform(&self) -> Option<Vec<f64>> {
        self.lock().last.clone()
    }

    /// The running average of the waveforms taken so far (empty before the first).
    pub fn average(&self) -> Vec<f64> {
        self.lock().average_mean.clone()
    }

    /// How many waveforms the running average holds.
    pub fn averaged(&self) -> u64 {
        self.lock().average.count()
    }

    /// The scan points `[x, value]` taken so far, in arrival order.
    pub fn scan(&self) -> Vec<[f64; 2]> {
        self.lock().scan.clone()
    }

    /// The map points `[x, y, value]` taken so far, in arrival order.
    pub fn map(&self) -> Vec<[f64; 3]> {
        self.lock().map.clone()
    }

    /// How many marked promises failed (their results are not shown).
    pub fn failed(&self) -> usize {
        self.lock().failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smqsched::Scheduler;

    #[test]
    fn a_new_length_restarts_the_average_and_failures_are_counted() {
        let sch = Scheduler::new();
        let q = sch.queue("q", 1).unwrap();
        let plots = Plots::new();
        let a = q.submit((), |()| vec![2.0; 3]);
        let b = q.submit((), |()| vec![4.0; 3]);
        let c = q.submit((), |()| vec![1.0; 5]);
        let bad = q.submit_result((), |()| Err::<f64, _>("no signal"));
        plots.waveform(&a);
        plots.scan_point(0.0, &bad);
        plots.poll();
        assert_eq!(plots.pending(), 2);
        sch.start();
        a.result().unwrap();
        plots.poll();
        assert_eq!(plots.last_waveform(), Some(vec![2.0; 3]));
        plots.waveform(&b);
        b.result().unwrap();
        plots.poll();
        assert_eq!(plots.average(), [3.0; 3]);
        plots.waveform(&c);
        sch.wait();
        plots.poll();
        assert_eq!(plots.average(), [1.0; 5]);
        assert_eq!(plots.averaged(), 1);
        assert_eq!(plots.failed(), 1);
        assert_eq!(plots.pending(), 0);
    }
}
