//! Noise as a function of what is asked, not of when.
//!
//! A simulated instrument does not draw its noise from one generator in the order requests
//! arrive: that order changes from run to run when a scheduler interleaves the requests of
//! a scan, and so would the data. Instead every draw is keyed:
//!
//! 1. The run's seed and the instrument (a tag made from its name) are the key of a
//!    ChaCha8 generator ([`rand_chacha`], whose output is portable and stable across
//!    versions, unlike `StdRng`'s).
//! 2. What a request measures, its *setting* (the stage position, the function and
//!    integration time of a multimeter, the timebase of a scope, ...), and how many times
//!    that same setting was measured before (the *n*-th reading at it) are hashed into the
//!    generator's stream number, one of 2⁶⁴ independent streams.
//! 3. A request that yields several traces (the scope's four channels) takes one stream per
//!    trace, numbered by the trace.
//!
//! So a value depends on (seed, instrument, setting, n, trace) only: two runs that ask the
//! same things get the same numbers, whatever their order.

use std::collections::HashMap;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// The noise of one instrument: one keyed stream per request (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct KeyedNoise {
    seed: u64,
    instrument: u64,
    /// How many requests were made at each setting (by its fingerprint).
    asked: HashMap<u64, u64>,
}

impl KeyedNoise {
    /// The noise of the instrument called `instrument`, for `seed`.
    pub(crate) fn new(seed: u64, instrument: &str) -> Self {
        Self {
            seed,
            instrument: fnv1a(instrument.as_bytes()),
            asked: HashMap::new(),
        }
    }

    /// The draws of the next request at `setting` (words that identify what is measured):
    /// the first request at a setting gets the draws of n = 0, the next one those of
    /// n = 1, and so on, whatever was asked in between.
    pub(crate) fn request(&mut self, setting: &[u64]) -> Request {
        let at = fingerprint(setting);
        let count = self.asked.entry(at).or_insert(0);
        let n = *count;
        *count += 1;
        Request {
            seed: self.seed,
            instrument: self.instrument,
            key: fingerprint(&[at, n]),
        }
    }
}

/// The draws of one request; [`stream`](Self::stream) gives one stream per trace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    seed: u64,
    instrument: u64,
    key: u64,
}

impl Request {
    /// The generator of trace `trace` of this request (e.g. a scope channel; 0 for a
    /// single value).
    pub(crate) fn stream(&self, trace: u64) -> NoiseStream {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.seed.to_le_bytes());
        key[8..16].copy_from_slice(&self.instrument.to_le_bytes());
        let mut rng = ChaCha8Rng::from_seed(key);
        rng.set_stream(fingerprint(&[self.key, trace]));
        NoiseStream(rng)
    }
}

/// A stream of noise values.
#[derive(Debug, Clone)]
pub(crate) struct NoiseStream(ChaCha8Rng);

impl NoiseStream {
    /// A uniform sample in [0, 1), with 53 random bits.
    fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A normally distributed sample of standard deviation `sigma` (Box-Muller).
    pub(crate) fn gaussian(&mut self, sigma: f64) -> f64 {
        // 1 - u is in (0, 1]: its logarithm is finite.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The word of a floating-point setting: its bits, with -0 taken as +0 so that equal
/// values are the same setting.
pub(crate) fn word(x: f64) -> u64 {
    (x + 0.0).to_bits()
}

/// SplitMix64's finalizer: a bijective mix of the bits of `z`.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 64-bit hash of a sequence of words (its length included), the same on every platform
/// and in every version, unlike `std`'s hashers.
fn fingerprint(words: &[u64]) -> u64 {
    words.iter().fold(mix(words.len() as u64), |h, &w| {
        mix(h.rotate_left(29) ^ w).wrapping_add(0x9e37_79b9_7f4a_7c15)
    })
}

/// FNV-1a of `bytes`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(noise: &mut KeyedNoise, setting: &[u64]) -> Vec<f64> {
        let mut s = noise.request(setting).stream(0);
        (0..4).map(|_| s.gaussian(1.0)).collect()
    }

    #[test]
    fn a_draw_depends_on_what_is_asked_not_on_the_order() {
        let (a, b) = ([1, 2], [1, 3]);
        let mut first = KeyedNoise::new(5, "dmm");
        let a0 = draws(&mut first, &a);
        let a1 = draws(&mut first, &a);
        let b0 = draws(&mut first, &b);
        let mut second = KeyedNoise::new(5, "dmm");
        assert_eq!(draws(&mut second, &b), b0);
        assert_eq!(draws(&mut second, &a), a0);
        assert_eq!(draws(&mut second, &a), a1);
        assert_ne!(a0, a1);
        assert_ne!(a0, b0);
    }

    #[test]
    fn seed_instrument_and_trace_give_other_draws() {
        let setting = [7];
        let base = draws(&mut KeyedNoise::new(5, "dmm"), &setting);
        assert_ne!(draws(&mut KeyedNoise::new(6, "dmm"), &setting), base);
        assert_ne!(draws(&mut KeyedNoise::new(5, "scope"), &setting), base);
        let request = KeyedNoise::new(5, "dmm").request(&setting);
        assert_ne!(
            request.stream(1).gaussian(1.0),
            request.stream(0).gaussian(1.0)
        );
    }

    #[test]
    fn gaussian_has_the_asked_spread() {
        let mut s = KeyedNoise::new(1, "dmm").request(&[]).stream(0);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| s.gaussian(2.0)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        // Standard errors: 2/sqrt(n) = 0.014 on the mean, about 1% on the deviation.
        assert!(mean.abs() < 0.06, "{mean}");
        assert!((var.sqrt() - 2.0).abs() < 0.06, "{}", var.sqrt());
    }

    #[test]
    fn minus_zero_is_zero() {
        assert_eq!(word(-0.0), word(0.0));
        assert_ne!(word(1.0), word(2.0));
    }
}
