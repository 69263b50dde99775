//! Every kind of bad input gives a typed error, never a panic.

#![allow(clippy::unwrap_used)]

use ndarray::{Array1, Array2, Array3, ArrayD, array};
use smq_compute::*;

fn empty() -> Array1<f64> {
    Array1::zeros(0)
}

#[test]
fn empty_arrays() {
    let e = empty();
    let c = Array1::<Complex64>::zeros(0);
    assert_eq!(mean(&e), Err(ComputeError::EmptyInput));
    assert_eq!(variance(&e, 0), Err(ComputeError::EmptyInput));
    assert_eq!(min(&e), Err(ComputeError::EmptyInput));
    assert_eq!(max(&e), Err(ComputeError::EmptyInput));
    assert_eq!(median(&e), Err(ComputeError::EmptyInput));
    assert_eq!(summary(&e), Err(ComputeError::EmptyInput));
    assert_eq!(argmax(&e), Err(ComputeError::EmptyInput));
    assert_eq!(rfft(&e), Err(ComputeError::EmptyInput));
    assert_eq!(fft(&c), Err(ComputeError::EmptyInput));
    assert_eq!(ifft(&c), Err(ComputeError::EmptyInput));
    assert_eq!(irfft(&c, 4), Err(ComputeError::EmptyInput));
    assert_eq!(
        power_spectrum(&e, Window::Hann),
        Err(ComputeError::EmptyInput)
    );
    assert_eq!(
        apply_window(&e, Window::Hann),
        Err(ComputeError::EmptyInput)
    );
    assert_eq!(
        moving_average(&e, 1, Edge::Valid),
        Err(ComputeError::EmptyInput)
    );
    assert_eq!(
        savgol_filter(&e, 3, 1, Edge::Interp),
        Err(ComputeError::EmptyInput)
    );
    assert_eq!(find_minima(&e), Err(ComputeError::EmptyInput));
    assert!(minima_scan(&e).is_err());
    assert_eq!(find_peaks(&e, None), Err(ComputeError::EmptyInput));
    assert_eq!(histogram(&e, 3, None), Err(ComputeError::EmptyInput));
    assert_eq!(polyfit(&e, &e, 0), Err(ComputeError::EmptyInput));
    assert_eq!(
        normalize(&e, Normalization::Max),
        Err(ComputeError::EmptyInput)
    );
    assert_eq!(subtract_background(&e, &e), Err(ComputeError::EmptyInput));
    assert_eq!(
        inverse(&Array2::<f64>::zeros((0, 0))),
        Err(ComputeError::EmptyInput)
    );
    assert_eq!(
        inverse_batch(&Array3::<f64>::zeros((0, 2, 2))),
        Err(ComputeError::EmptyInput)
    );
    let mut acc = Accumulator::new();
    assert_eq!(acc.push(&e), Err(ComputeError::EmptyInput));
    assert_eq!(acc.mean(), Err(ComputeError::EmptyInput));
    assert_eq!(acc.variance(0), Err(ComputeError::EmptyInput));
    assert!(average_frames(&Array2::<f64>::zeros((0, 3))).is_err());
}

#[test]
fn mismatched_shapes() {
    let mut acc = Accumulator::new();
    acc.push(&array![1.0, 2.0]).unwrap();
    let err = acc.push(&array![[1.0, 2.0]]).unwrap_err();
    assert_eq!(
        err,
        ComputeError::ShapeMismatch {
            expected: vec![2],
            found: vec![1, 2]
        }
    );
    assert_eq!(
        acc.count(),
        1,
        "a rejected frame leaves the accumulator unchanged"
    );
    let mut other = Accumulator::new();
    other.push(&array![1.0, 2.0, 3.0]).unwrap();
    assert!(matches!(
        acc.merge(&other),
        Err(ComputeError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        subtract_background(&array![1.0, 2.0], &array![1.0, 2.0, 3.0]),
        Err(ComputeError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        normalize_by_reference(&array![1.0, 2.0], &array![1.0, 2.0, 3.0]),
        Err(ComputeError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        polyfit(&array![1.0, 2.0], &array![1.0], 0),
        Err(ComputeError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        linear_fit(&array![1.0, 2.0, 3.0], &array![1.0, 2.0]),
        Err(ComputeError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        solve(&Array2::<f64>::eye(2), &array![1.0]),
        Err(ComputeError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        batch_matmul(
            &Array3::<f64>::zeros((2, 2, 3)),
            &Array3::<f64>::zeros((2, 2, 3))
        ),
        Err(ComputeError::ShapeMismatch { .. })
    ));
    assert_eq!(
        inverse(&Array2::<f64>::zeros((2, 3))),
        Err(ComputeError::NotSquare { rows: 2, cols: 3 })
    );
}

#[test]
fn nan_and_infinity() {
    let x = array![1.0, f64::NAN, 3.0];
    let nan_at_1: Result<(), ComputeError> = Err(ComputeError::NonFinite { index: 1 });
    assert_eq!(mean(&x).map(|_| ()), nan_at_1);
    assert_eq!(median(&x).map(|_| ()), nan_at_1);
    assert_eq!(percentile(&x, 50.0).map(|_| ()), nan_at_1);
    assert_eq!(rfft(&x).map(|_| ()), nan_at_1);
    assert_eq!(power_spectrum(&x, Window::Hann).map(|_| ()), nan_at_1);
    assert_eq!(moving_average(&x, 3, Edge::Nearest).map(|_| ()), nan_at_1);
    assert_eq!(savgol_filter(&x, 3, 1, Edge::Interp).map(|_| ()), nan_at_1);
    assert_eq!(find_minima(&x).map(|_| ()), nan_at_1);
    assert_eq!(histogram(&x, 3, None).map(|_| ()), nan_at_1);
    assert_eq!(histogram(&x, 3, Some((0.0, 4.0))).map(|_| ()), nan_at_1);
    assert_eq!(normalize(&x, Normalization::ZScore).map(|_| ()), nan_at_1);
    assert_eq!(polyfit(&array![0.0, 1.0, 2.0], &x, 1).map(|_| ()), nan_at_1);
    let inf = array![[1.0, f64::INFINITY], [0.0, 1.0]];
    assert_eq!(inverse(&inf).map(|_| ()), nan_at_1);
    let mut acc = Accumulator::new();
    assert_eq!(acc.push(&x), nan_at_1);
    assert_eq!(acc.count(), 0);
    let c = array![Complex64::new(0.0, f64::NAN)];
    assert_eq!(
        fft(&c).map(|_| ()),
        Err(ComputeError::NonFinite { index: 0 })
    );
    assert!(find_peaks(&array![1.0, 2.0, 1.0], Some(f64::NAN)).is_err());
}

#[test]
fn windows_longer_than_the_data() {
    let x = array![1.0, 2.0, 3.0];
    assert_eq!(
        moving_average(&x, 5, Edge::Nearest),
        Err(ComputeError::WindowTooLong { window: 5, len: 3 })
    );
    assert_eq!(
        moving_average(&x, 4, Edge::Valid),
        Err(ComputeError::WindowTooLong { window: 4, len: 3 })
    );
    assert_eq!(
        savgol_filter(&x, 5, 2, Edge::Interp),
        Err(ComputeError::WindowTooLong { window: 5, len: 3 })
    );
}

#[test]
fn bad_window_and_filter_parameters() {
    let x = Array1::linspace(0.0, 1.0, 20);
    assert!(matches!(
        moving_average(&x, 0, Edge::Valid),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        moving_average(&x, 4, Edge::Nearest),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        savgol_filter(&x, 6, 2, Edge::Interp),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        savgol_filter(&x, 5, 5, Edge::Interp),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        savgol_coeffs(0, 0, 0, 1.0),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        savgol_coeffs(5, 2, 0, 0.0),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        Window::Hann.symmetric(0),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        Window::Kaiser(-1.0).periodic(8),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        rfftfreq(0, 1.0),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        fftfreq(8, -1.0),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        irfft(&array![Complex64::new(1.0, 0.0)], 0),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        power_spectral_density(&x, Window::Hann, 0.0),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        percentile(&x, -1.0),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        percentile(&x, f64::NAN),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        variance(&array![1.0], 1),
        Err(ComputeError::InvalidParameter { .. })
    ));
}

#[test]
fn bad_bin_counts_and_ranges() {
    let x = array![1.0, 2.0];
    assert!(matches!(
        histogram(&x, 0, None),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        histogram(&x, 3, Some((2.0, 1.0))),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        histogram(&x, 3, Some((1.0, 1.0))),
        Err(ComputeError::InvalidParameter { .. })
    ));
    assert!(matches!(
        histogram(&x, 3, Some((0.0, f64::INFINITY))),
        Err(ComputeError::InvalidParameter { .. })
    ));
    // Through the plugin, a negative count is rejected too.
    let h = plugin("histogram").unwrap();
    let r = h.run(&[x.into_dyn()], &Params::new().with("bins", -3_i64));
    assert!(matches!(r, Err(ComputeError::InvalidParameter { .. })));
}

#[test]
fn singular_matrices() {
    assert_eq!(
        inverse(&array![[1.0, 2.0], [2.0, 4.0]]),
        Err(ComputeError::Singular)
    );
    assert_eq!(
        inverse(&Array2::<f64>::zeros((3, 3))),
        Err(ComputeError::Singular)
    );
    // Numerically singular: third row is the sum of the first two.
    let a = array![[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.5, 0.7, 0.9]];
    assert_eq!(inverse(&a), Err(ComputeError::Singular));
    assert_eq!(
        solve(&a, &array![1.0, 2.0, 3.0]),
        Err(ComputeError::Singular)
    );
    let mut stack = Array3::<f64>::zeros((3, 2, 2));
    for k in 0..3 {
        stack[[k, 0, 0]] = 1.0;
        stack[[k, 1, 1]] = 1.0;
    }
    stack[[2, 1, 1]] = 0.0;
    assert_eq!(
        inverse_batch(&stack),
        Err(ComputeError::InBatch {
            index: 2,
            source: Box::new(ComputeError::Singular)
        })
    );
}

#[test]
fn degree_too_high_and_rank_deficient_fits() {
    let x = array![0.0, 1.0, 2.0];
    let y = array![1.0, 2.0, 0.0];
    assert_eq!(
        polyfit(&x, &y, 3),
        Err(ComputeError::DegreeTooHigh {
            degree: 3,
            points: 3
        })
    );
    assert_eq!(
        polyfit(&x, &y, 10),
        Err(ComputeError::DegreeTooHigh {
            degree: 10,
            points: 3
        })
    );
    assert_eq!(
        linear_fit(&array![1.0], &array![1.0]),
        Err(ComputeError::DegreeTooHigh {
            degree: 1,
            points: 1
        })
    );
    // Enough points, but only one distinct x: no line through them.
    assert_eq!(
        linear_fit(&array![2.0, 2.0, 2.0], &array![1.0, 2.0, 3.0]),
        Err(ComputeError::Singular)
    );
    assert_eq!(
        polyfit(&array![0.0, 0.0, 1.0, 1.0], &array![1.0, 2.0, 3.0, 4.0], 2),
        Err(ComputeError::Singular)
    );
}

#[test]
fn degenerate_normalizations() {
    let c = array![2.0, 2.0, 2.0];
    assert!(matches!(
        normalize(&c, Normalization::MinMax),
        Err(ComputeError::Degenerate(_))
    ));
    assert!(matches!(
        normalize(&c, Normalization::ZScore),
        Err(ComputeError::Degenerate(_))
    ));
    assert!(matches!(
        normalize(&array![0.0, 0.0], Normalization::Max),
        Err(ComputeError::Degenerate(_))
    ));
    assert!(matches!(
        normalize_by_reference(&c, &array![1.0, 0.0, 1.0]),
        Err(ComputeError::Degenerate(_))
    ));
}

#[test]
fn plugin_input_and_parameter_errors() {
    let p = plugin("power_spectrum").unwrap();
    let x = Array1::linspace(0.0, 1.0, 16).into_dyn();
    assert_eq!(
        p.run(&[], &Params::new()),
        Err(ComputeError::InputCount {
            expected: 1,
            found: 0
        })
    );
    assert_eq!(
        p.run(&[x.clone(), x.clone()], &Params::new()),
        Err(ComputeError::InputCount {
            expected: 1,
            found: 2
        })
    );
    assert_eq!(
        p.run(
            std::slice::from_ref(&x),
            &Params::new().with("windw", "hann")
        ),
        Err(ComputeError::UnknownParameter("windw".into()))
    );
    assert!(matches!(
        p.run(
            std::slice::from_ref(&x),
            &Params::new().with("window", "triangle")
        ),
        Err(ComputeError::ParameterType { .. })
    ));
    assert!(matches!(
        p.run(
            std::slice::from_ref(&x),
            &Params::new().with("sample_rate", "fast")
        ),
        Err(ComputeError::ParameterType { .. })
    ));
    assert!(matches!(
        p.run(
            std::slice::from_ref(&x),
            &Params::new().with("sample_rate", -1.0)
        ),
        Err(ComputeError::InvalidParameter { .. })
    ));
    let two_d = ArrayD::zeros(vec![2, 8]);
    assert_eq!(
        p.run(&[two_d], &Params::new()),
        Err(ComputeError::Dimension {
            expected: 1,
            found: 2
        })
    );
    let inv = plugin("inverse").unwrap();
    assert_eq!(
        inv.run(&[x], &Params::new()),
        Err(ComputeError::Dimension {
            expected: 2,
            found: 1
        })
    );
    assert!(matches!(
        require_plugin("fourier"),
        Err(ComputeError::UnknownPlugin(_))
    ));
    let avg = plugin("average").unwrap();
    assert_eq!(
        avg.run(&[], &Params::new()),
        Err(ComputeError::InputCount {
            expected: 1,
            found: 0
        })
    );
}

#[test]
fn errors_have_readable_messages() {
    let e = ComputeError::WindowTooLong { window: 9, len: 4 };
    assert_eq!(
        e.to_string(),
        "window of 9 samples is longer than the data (4 samples)"
    );
    let e = ComputeError::InBatch {
        index: 3,
        source: Box::new(ComputeError::Singular),
    };
    assert_eq!(
        e.to_string(),
        "batch element 3: matrix is singular or numerically rank deficient"
    );
}
