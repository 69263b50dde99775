//! Finished out of total, the rate over a sliding window, and the time left.

use std::collections::VecDeque;
use std::time::Duration;

/// How far back the rate looks.
const WINDOW: Duration = Duration::from_secs(10);

/// Progress of the whole graph, from the snapshots' counts and times.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use smqsched_dashboard::Progress;
///
/// let mut p = Progress::default();
/// p.record(Duration::from_secs(0), 0, 100);
/// p.record(Duration::from_secs(2), 20, 100);
/// assert_eq!(p.rate(), Some(10.0));
/// assert_eq!(p.eta(), Some(Duration::from_secs(8)));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Progress {
    samples: VecDeque<(Duration, usize)>,
    finished: usize,
    total: usize,
}

impl Progress {
    /// Record that `finished` of `total` tasks were finished (done, failed or cancelled) at
    /// `at` (scheduler time). Samples older than the window are dropped.
    pub fn record(&mut self, at: Duration, finished: usize, total: usize) {
        if self.samples.back().is_some_and(|&(t, _)| at < t) {
            // Another scheduler's clock: start over.
            self.samples.clear();
        }
        self.finished = finished;
        self.total = total;
        self.samples.push_back((at, finished));
        while self
            .samples
            .front()
            .is_some_and(|&(t, _)| at.saturating_sub(t) > WINDOW)
        {
            self.samples.pop_front();
        }
    }

    /// Finished tasks.
    pub fn finished(&self) -> usize {
        self.finished
    }

    /// All tasks.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Tasks finished per second over the last ten seconds; `None` until two samples span
    /// some time.
    pub fn rate(&self) -> Option<f64> {
        let (&(t0, f0), &(t1, f1)) = (self.samples.front()?, self.samples.back()?);
        let dt = t1.saturating_sub(t0).as_secs_f64();
        (dt > 0.0).then(|| f1.saturating_sub(f0) as f64 / dt)
    }

    /// Time left at the current rate: zero when everything is finished, `None` when nothing
    /// finishes (no rate, or a rate of zero, as while paused).
    pub fn eta(&self) -> Option<Duration> {
        let left = self.total.saturating_sub(self.finished);
        if left == 0 {
            return Some(Duration::ZERO);
        }
        let rate = self.rate().filter(|&r| r > 0.0)?;
        Duration::try_from_secs_f64(left as f64 / rate).ok()
    }
}

/// `d` as `1h02m`, `3m05s` or `4.2s`.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_samples_leave_the_window_and_a_pause_has_no_eta() {
        let mut p = Progress::default();
        p.record(Duration::from_secs(0), 0, 10);
        assert_eq!(p.rate(), None);
        p.record(Duration::from_secs(1), 5, 10);
        // The sample at 0 s leaves the 10 s window: nothing finished over 1 s to 11 s.
        p.record(Duration::from_secs(11), 5, 10);
        assert_eq!(p.rate(), Some(0.0));
        assert_eq!(p.eta(), None);
        p.record(Duration::from_secs(12), 10, 10);
        assert_eq!(p.eta(), Some(Duration::ZERO));
        assert_eq!(human(Duration::from_secs(3725)), "1h02m");
        assert_eq!(human(Duration::from_secs(185)), "3m05s");
        assert_eq!(human(Duration::from_millis(4200)), "4.2s");
    }
}
