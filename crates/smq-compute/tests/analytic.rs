//! Numerical checks against values known in closed form.

#![allow(clippy::unwrap_used)]

use std::f64::consts::PI;

use ndarray::{Array1, Array2, Array3, array};
use smq_compute::*;

fn sine(n: usize, cycles: f64, amplitude: f64) -> Array1<f64> {
    Array1::from_shape_fn(n, |i| {
        amplitude * (2.0 * PI * cycles * i as f64 / n as f64).sin()
    })
}

#[test]
fn fft_of_pure_sine_peaks_at_its_bin_with_its_amplitude() {
    let n = 1024;
    let (k, a) = (37, 2.5);
    let x = sine(n, k as f64, a);
    let spec = rfft(&x).unwrap();
    let mags: Array1<f64> = spec.mapv(|c| c.norm());
    assert_eq!(argmax(&mags).unwrap(), k);
    // |X_k| = A n / 2 for a sine on bin k; everything else is round-off.
    assert!((mags[k] - a * n as f64 / 2.0).abs() < 1e-9);
    assert!(
        mags.iter()
            .enumerate()
            .filter(|&(i, _)| i != k)
            .all(|(_, &m)| m < 1e-9)
    );
    // Phase of a sine: X_k = -i A n / 2.
    assert!((spec[k].im + a * n as f64 / 2.0).abs() < 1e-9 && spec[k].re.abs() < 1e-9);
}

#[test]
fn power_spectrum_of_sine_is_mean_square_for_every_window() {
    let n = 2048;
    let x = sine(n, 100.0, 3.0);
    for w in Window::SIMPLE {
        let p = power_spectrum(&x, w).unwrap();
        assert!((p[100] - 4.5).abs() < 1e-9, "{w:?}: {}", p[100]);
    }
}

#[test]
fn power_spectral_density_satisfies_parseval() {
    // Rectangular window: integral of the PSD = mean square of the signal.
    for n in [1000, 1001, 4096] {
        let x = Array1::from_shape_fn(n, |i| {
            ((i * 7919) % 101) as f64 / 50.0 - 1.0 + 0.3 * (i as f64 * 0.1).cos()
        });
        let fs = 250.0;
        let psd = power_spectral_density(&x, Window::Rectangular, fs).unwrap();
        let integral = psd.sum() * fs / n as f64;
        let mean_square = x.mapv(|v| v * v).mean().unwrap();
        assert!(
            (integral - mean_square).abs() < 1e-10 * mean_square,
            "n={n}"
        );
        // And the plain FFT: Σ|x|² = Σ|X|² / n.
        let z: Array1<Complex64> = x.mapv(|v| Complex64::new(v, 0.0));
        let energy: f64 = fft(&z).unwrap().iter().map(|c| c.norm_sqr()).sum::<f64>() / n as f64;
        assert!((energy - x.mapv(|v| v * v).sum()).abs() < 1e-9 * energy);
    }
}

#[test]
fn ifft_inverts_fft_for_awkward_lengths() {
    for n in [1, 2, 3, 17, 97, 1000] {
        let z: Array1<Complex64> = Array1::from_shape_fn(n, |i| {
            Complex64::new((i as f64).sin(), (i as f64 * 0.3).cos())
        });
        let back = ifft(&fft(&z).unwrap()).unwrap();
        assert!(
            back.iter().zip(&z).all(|(a, b)| (a - b).norm() < 1e-12),
            "n={n}"
        );
    }
}

#[test]
fn rfftfreq_puts_the_sine_at_its_frequency() {
    let fs = 48_000.0;
    let n = 4800;
    let f0 = 1000.0;
    let x = Array1::from_shape_fn(n, |i| (2.0 * PI * f0 * i as f64 / fs).cos());
    let p = power_spectrum(&x, Window::Hann).unwrap();
    let f = rfftfreq(n, 1.0 / fs).unwrap();
    assert_eq!(f.len(), p.len());
    assert_eq!(f[argmax(&p).unwrap()], f0);
}

#[test]
fn inverse_of_known_matrices() {
    let a = array![[2.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 2.0]];
    let expected = array![[0.75, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.75]];
    let inv = inverse(&a).unwrap();
    assert!(
        inv.iter()
            .zip(&expected)
            .all(|(x, y)| (x - y).abs() < 1e-14)
    );
    // Hilbert matrix of order 4 has a known integer inverse.
    let h = Array2::from_shape_fn((4, 4), |(i, j)| 1.0 / (i + j + 1) as f64);
    let hinv = array![
        [16.0, -120.0, 240.0, -140.0],
        [-120.0, 1200.0, -2700.0, 1680.0],
        [240.0, -2700.0, 6480.0, -4200.0],
        [-140.0, 1680.0, -4200.0, 2800.0]
    ];
    let got = inverse(&h).unwrap();
    assert!(
        got.iter()
            .zip(&hinv)
            .all(|(x, y)| (x - y).abs() < 1e-8 * y.abs())
    );
}

/// Deterministic pseudo-random numbers in [-1, 1) (SplitMix64).
fn lcg(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

#[test]
fn batch_inverse_of_random_100x100_matrices() {
    // B[i] = inv(A[i]) for random 100x100 matrices; check A[i] B[i] = I.
    let mut rnd = lcg(7);
    let a = Array3::from_shape_fn((4, 100, 100), |_| rnd());
    let b = inverse_batch(&a).unwrap();
    let prod = batch_matmul(&a, &b).unwrap();
    for k in 0..4 {
        for i in 0..100 {
            for j in 0..100 {
                let expected = if i == j { 1.0 } else { 0.0 };
                assert!((prod[[k, i, j]] - expected).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn solve_matches_inverse() {
    let a = array![[3.0, 1.0, -1.0], [1.0, 4.0, 1.0], [2.0, 1.0, 5.0]];
    let b = array![1.0, 2.0, 3.0];
    let x1 = solve(&a, &b).unwrap();
    let x2 = inverse(&a).unwrap().dot(&b);
    assert!(x1.iter().zip(&x2).all(|(p, q)| (p - q).abs() < 1e-13));
    assert!((a.dot(&x1) - &b).iter().all(|r| r.abs() < 1e-13));
}

#[test]
fn polyfit_recovers_noise_free_polynomials_exactly() {
    let x = Array1::linspace(-3.0, 5.0, 25);
    let truth = [1.5, -2.0, 0.25, 0.125, -0.01];
    for degree in 0..truth.len() {
        let coeffs = &truth[..=degree];
        let y = x.mapv(|v| coeffs.iter().rev().fold(0.0, |acc, c| acc * v + c));
        let p = polyfit(&x, &y, degree).unwrap();
        assert_eq!(p.degree(), degree);
        for (got, want) in p.coeffs.iter().zip(coeffs) {
            assert!(
                (got - want).abs() < 1e-10,
                "degree {degree}: {got} vs {want}"
            );
        }
    }
    // Exactly determined: degree n-1 through n points.
    let p = polyfit(&array![0.0, 1.0, 2.0], &array![1.0, 2.0, 5.0], 2).unwrap();
    assert!((p.eval(3.0) - 10.0).abs() < 1e-12);
}

#[test]
fn linear_fit_of_a_line() {
    let x = Array1::linspace(0.0, 10.0, 11);
    let y = x.mapv(|v| -0.5 * v + 4.0);
    let f = linear_fit(&x, &y).unwrap();
    assert!((f.slope + 0.5).abs() < 1e-13 && (f.intercept - 4.0).abs() < 1e-12);
    assert!((f.r_squared - 1.0).abs() < 1e-12);
}

#[test]
fn savgol_preserves_polynomials_up_to_its_order() {
    let x = Array1::linspace(-2.0, 3.0, 41);
    for polyorder in 0..=4 {
        let y = x.mapv(|v: f64| {
            (0..=polyorder)
                .map(|k| (k as f64 + 1.0) * v.powi(k as i32))
                .sum::<f64>()
        });
        for edge in [Edge::Interp, Edge::Valid] {
            let s = savgol_filter(&y, 9, polyorder, edge).unwrap();
            let offset = if edge == Edge::Valid { 4 } else { 0 };
            for (i, v) in s.iter().enumerate() {
                assert!(
                    (v - y[i + offset]).abs() < 1e-9,
                    "order {polyorder} {edge:?} at {i}"
                );
            }
        }
    }
    // High orders and long windows stay accurate (QR, scaled abscissae).
    let x = Array1::linspace(-1.0, 1.0, 400);
    for (window, polyorder) in [(101, 10), (201, 15), (51, 20)] {
        let y = x.mapv(|v: f64| {
            (0..=polyorder)
                .map(|k| v.powi(k as i32) * (1.0 - 0.1 * k as f64))
                .sum::<f64>()
        });
        let s = savgol_filter(&y, window, polyorder, Edge::Interp).unwrap();
        let err = s
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-9, "window {window} order {polyorder}: {err}");
    }
    // The first derivative of a cubic, from a cubic filter, is exact.
    let dx = 0.125;
    let x = Array1::from_shape_fn(40, |i| i as f64 * dx);
    let y = x.mapv(|v| v * v * v - v);
    let d = savgol_derivative(&y, 7, 3, 1, dx, Edge::Interp).unwrap();
    for (i, v) in d.iter().enumerate() {
        assert!((v - (3.0 * x[i] * x[i] - 1.0)).abs() < 1e-9);
    }
}

#[test]
fn moving_average_of_a_line_is_the_line() {
    let x = Array1::linspace(0.0, 1.0, 21);
    for edge in [Edge::Mirror, Edge::Interp] {
        let y = moving_average(&x, 5, edge).unwrap();
        // Mirror padding keeps lines in the interior; interp holds edges at the end means.
        for i in 2..19 {
            assert!((y[i] - x[i]).abs() < 1e-12);
        }
    }
}

#[test]
fn accumulator_merge_equals_sequential_pushes() {
    let mut rnd = lcg(3);
    let frames: Vec<Array1<f64>> = (0..30)
        .map(|_| Array1::from_shape_fn(5, |_| 100.0 + rnd()))
        .collect();
    let mut all = Accumulator::new();
    let (mut a, mut b) = (Accumulator::new(), Accumulator::new());
    for (i, f) in frames.iter().enumerate() {
        all.push(f).unwrap();
        if i < 11 {
            a.push(f).unwrap()
        } else {
            b.push(f).unwrap()
        }
    }
    a.merge(&b).unwrap();
    assert_eq!(a.count(), 30);
    let (m1, m2) = (a.mean().unwrap(), all.mean().unwrap());
    assert!(m1.iter().zip(&m2).all(|(p, q)| (p - q).abs() < 1e-12));
    let (v1, v2) = (a.variance(1).unwrap(), all.variance(1).unwrap());
    assert!(v1.iter().zip(&v2).all(|(p, q)| (p - q).abs() < 1e-12));
}

#[test]
fn accumulator_accepts_strided_views() {
    let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let b = array![[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]];
    let mut strided = Accumulator::new();
    let mut contiguous = Accumulator::new();
    for m in [&a, &b] {
        strided.push(&m.t()).unwrap(); // column-major view
        contiguous.push(&m.t().to_owned()).unwrap();
    }
    assert_eq!(strided.mean().unwrap(), contiguous.mean().unwrap());
    assert_eq!(
        strided.variance(0).unwrap(),
        contiguous.variance(0).unwrap()
    );
    assert_eq!(
        strided.mean().unwrap(),
        array![[2.0, 5.0], [3.0, 6.0], [4.0, 7.0]].into_dyn()
    );
}

#[test]
fn accumulator_is_stable_with_a_large_offset() {
    // Naive sum-of-squares would lose all digits here.
    let mut acc = Accumulator::new();
    for k in 0..1000 {
        acc.push(&array![1e9 + (k % 2) as f64]).unwrap();
    }
    let v = acc.variance(0).unwrap();
    assert!((v[[0]] - 0.25).abs() < 1e-6);
}

#[test]
fn normalization_methods() {
    let x = array![[1.0, -3.0], [2.0, 5.0]];
    let m = normalize(&x, Normalization::Max).unwrap();
    assert_eq!(m, array![[0.2, -0.6], [0.4, 1.0]]);
    let mm = normalize(&x, Normalization::MinMax).unwrap();
    assert_eq!(mm, array![[0.5, 0.0], [0.625, 1.0]]);
    let z = normalize(&x, Normalization::ZScore).unwrap();
    assert!(mean(&z).unwrap().abs() < 1e-15 && (std_dev(&z, 0).unwrap() - 1.0).abs() < 1e-15);
    let back = subtract_background(&x, &array![[1.0, 1.0], [1.0, 1.0]]).unwrap();
    assert_eq!(back, array![[0.0, -4.0], [1.0, 4.0]]);
    let scalar_bg = subtract_background(&x, &ndarray::arr0(1.0)).unwrap();
    assert_eq!(scalar_bg, back);
    for m in Normalization::ALL {
        assert_eq!(Normalization::from_name(m.name()), Some(m));
    }
}

#[test]
fn peaks_and_progressive_scan() {
    let x = array![0.0, 3.0, 1.0, 1.0, 4.0, 4.0, 2.0, 5.0, 0.0];
    assert_eq!(find_peaks(&x, None).unwrap(), vec![1, 7]); // the plateau at 4 is no peak
    assert_eq!(find_minima(&x).unwrap(), vec![6]);
    let scan = maxima_scan(&x).unwrap();
    assert_eq!(scan.size_hint(), (9, Some(9)));
    assert_eq!(scan.count(), 9);
    // Samples arriving one by one: the answer lags by one sample.
    for n in 0..4 {
        let flags: Vec<bool> =
            ExtremaScan::new((0..n).map(|i| [1.0, 0.0, 1.0][i]), Extremum::Minimum).collect();
        assert_eq!(flags.len(), n);
    }
    // NaN neighbours are never extrema.
    let flags: Vec<bool> = ExtremaScan::new([1.0, f64::NAN, 0.0, 1.0], Extremum::Minimum).collect();
    assert_eq!(flags, [false, false, false, false]);
}

#[test]
fn histogram_edges_and_centres() {
    let h = histogram(&array![0.0, 0.5, 1.0, 1.5, 2.0], 4, None).unwrap();
    assert_eq!(h.counts.to_vec(), vec![1, 1, 1, 2]); // last bin is closed
    assert_eq!(h.centers().to_vec(), vec![0.25, 0.75, 1.25, 1.75]);
    assert_eq!(h.total(), 5);
}

#[test]
fn statistics_of_small_arrays() {
    let x = array![[1.0, 2.0], [3.0, 4.0]];
    assert_eq!(mean(&x).unwrap(), 2.5);
    assert_eq!(median(&x).unwrap(), 2.5);
    assert_eq!(percentile(&x, 0.0).unwrap(), 1.0);
    assert_eq!(percentile(&x, 100.0).unwrap(), 4.0);
    assert_eq!(argmin(&x).unwrap(), 0);
    assert_eq!(argmax(&x).unwrap(), 3);
    assert_eq!(variance(&array![5.0], 0).unwrap(), 0.0);
}
