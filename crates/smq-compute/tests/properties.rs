//! Property-based tests of invariants.
//!
//! The generator seed is fixed, so every run checks the same cases.

#![allow(clippy::unwrap_used)]

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use smq_compute::*;

fn finite() -> impl Strategy<Value = f64> {
    -1e6..1e6_f64
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5EED_2026),
        ..ProptestConfig::default()
    })]

    #[test]
    fn accumulator_mean_equals_batch_mean(
        (rows, cols, data) in (1usize..20, 1usize..6).prop_flat_map(|(r, c)| {
            (Just(r), Just(c), prop::collection::vec(finite(), r * c))
        })
    ) {
        let stack = Array2::from_shape_vec((rows, cols), data).unwrap();
        let mut acc = Accumulator::new();
        for row in stack.rows() {
            acc.push(&row).unwrap();
        }
        let streamed = acc.mean().unwrap();
        let batch = stack.mean_axis(ndarray::Axis(0)).unwrap();
        for (a, b) in streamed.iter().zip(&batch) {
            prop_assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0));
        }
        if rows > 1 {
            let var = acc.variance(1).unwrap();
            let batch_var = stack.var_axis(ndarray::Axis(0), 1.0);
            for (a, b) in var.iter().zip(&batch_var) {
                prop_assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0));
            }
        }
    }

    #[test]
    fn histogram_counts_sum_to_in_range_samples(
        data in prop::collection::vec(-100.0..100.0_f64, 1..300),
        bins in 1usize..50,
        lo in -120.0..50.0_f64,
        width in 0.001..150.0_f64,
    ) {
        let x = Array1::from(data);
        let hi = lo + width;
        let h = histogram(&x, bins, Some((lo, hi))).unwrap();
        let in_range = x.iter().filter(|&&v| v >= lo && v <= hi).count() as u64;
        prop_assert_eq!(h.total(), in_range);
        prop_assert_eq!(h.counts.len(), bins);
        prop_assert_eq!(h.edges.len(), bins + 1);
        // Without a range every sample is counted.
        let auto = histogram(&x, bins, None).unwrap();
        prop_assert_eq!(auto.total(), x.len() as u64);
    }

    #[test]
    fn scan_yields_one_flag_per_sample_and_agrees_with_find(
        data in prop::collection::vec(-10i32..10, 1..200)
    ) {
        let x = Array1::from_iter(data.iter().map(|&v| v as f64));
        let flags: Vec<bool> = minima_scan(&x).unwrap().collect();
        prop_assert_eq!(flags.len(), x.len());
        for (i, &f) in flags.iter().enumerate() {
            let expected = i > 0 && i + 1 < x.len() && x[i] < x[i - 1] && x[i] < x[i + 1];
            prop_assert_eq!(f, expected);
        }
        let maxima = find_peaks(&x, None).unwrap();
        let neg = x.mapv(|v| -v);
        prop_assert_eq!(maxima, find_minima(&neg).unwrap());
    }

    #[test]
    fn rfft_round_trips(data in prop::collection::vec(finite(), 1..200)) {
        let x = Array1::from(data);
        let back = irfft(&rfft(&x).unwrap(), x.len()).unwrap();
        let scale = x.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
        for (a, b) in back.iter().zip(&x) {
            prop_assert!((a - b).abs() <= 1e-9 * scale);
        }
    }

    #[test]
    fn rfft_equals_the_first_half_of_the_complex_fft(data in prop::collection::vec(finite(), 1..300)) {
        let x = Array1::from(data);
        let z = x.mapv(|v| Complex64::new(v, 0.0));
        let full = fft(&z).unwrap();
        let half = rfft(&x).unwrap();
        prop_assert_eq!(half.len(), x.len() / 2 + 1);
        let scale = x.iter().fold(1.0_f64, |m, v| m.max(v.abs())) * x.len() as f64;
        for (a, b) in half.iter().zip(&full) {
            prop_assert!((a - b).norm() <= 1e-12 * scale);
        }
    }

    #[test]
    fn minmax_normalization_spans_unit_interval(data in prop::collection::vec(finite(), 2..100)) {
        let x = Array1::from(data);
        match normalize(&x, Normalization::MinMax) {
            Ok(y) => {
                prop_assert!((min(&y).unwrap()).abs() < 1e-12);
                prop_assert!((max(&y).unwrap() - 1.0).abs() < 1e-12);
            }
            Err(e) => prop_assert!(matches!(e, ComputeError::Degenerate(_))),
        }
    }

    #[test]
    fn percentiles_are_monotone(data in prop::collection::vec(finite(), 1..100), q1 in 0.0..100.0_f64, q2 in 0.0..100.0_f64) {
        let x = Array1::from(data);
        let (lo, hi) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
        prop_assert!(percentile(&x, lo).unwrap() <= percentile(&x, hi).unwrap());
        prop_assert!(min(&x).unwrap() <= median(&x).unwrap() && median(&x).unwrap() <= max(&x).unwrap());
    }
}
