//! Benchmarks of the heavy steps against straightforward baselines.
//!
//! * FFT: `rfft` against a naive O(n²) DFT (at 4096 points only);
//! * inverse: `inverse` (faer LU) against a textbook Gauss–Jordan
//!   elimination written as plain loops, plus the batch `B[i] = inv(A[i])`;
//! * averaging: `Accumulator::push` (Welford mean and variance) against a
//!   plain nested-loop mean.
//!
//! Run with `cargo bench -p smq-compute --bench compute`.

use std::f64::consts::PI;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use ndarray::{Array1, Array2, Array3};
use smq_compute::{Accumulator, Complex64, inverse, inverse_batch, rfft};

/// Deterministic pseudo-random numbers in [-1, 1) (SplitMix64).
fn random(seed: u64) -> impl FnMut() -> f64 {
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

/// Naive DFT of real data: O(n²) with a precomputed twiddle table.
fn naive_dft(x: &[f64]) -> Vec<Complex64> {
    let n = x.len();
    let twiddle: Vec<Complex64> = (0..n)
        .map(|k| Complex64::from_polar(1.0, -2.0 * PI * k as f64 / n as f64))
        .collect();
    (0..n / 2 + 1)
        .map(|k| {
            let mut acc = Complex64::new(0.0, 0.0);
            for (j, &v) in x.iter().enumerate() {
                acc += twiddle[(j * k) % n] * v;
            }
            acc
        })
        .collect()
}

/// Textbook Gauss–Jordan inversion with partial pivoting, plain loops.
fn gauss_jordan(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let w = 2 * n;
    let mut m = vec![0.0; n * w];
    for i in 0..n {
        m[i * w..i * w + n].copy_from_slice(&a[i * n..i * n + n]);
        m[i * w + n + i] = 1.0;
    }
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&r, &s| m[r * w + col].abs().total_cmp(&m[s * w + col].abs()))?;
        if m[pivot * w + col] == 0.0 {
            return None;
        }
        if pivot != col {
            for j in 0..w {
                m.swap(pivot * w + j, col * w + j);
            }
        }
        let p = m[col * w + col];
        for j in 0..w {
            m[col * w + j] /= p;
        }
        for r in 0..n {
            if r != col {
                let f = m[r * w + col];
                if f != 0.0 {
                    for j in 0..w {
                        m[r * w + j] -= f * m[col * w + j];
                    }
                }
            }
        }
    }
    Some(
        (0..n)
            .flat_map(|i| m[i * w + n..i * w + w].to_vec())
            .collect(),
    )
}

/// Plain nested-loop mean of equally long frames.
fn naive_mean(frames: &[Vec<f64>]) -> Vec<f64> {
    let len = frames[0].len();
    let mut sum = vec![0.0; len];
    for f in frames {
        for i in 0..len {
            sum[i] += f[i];
        }
    }
    let n = frames.len() as f64;
    for s in &mut sum {
        *s /= n;
    }
    sum
}

fn bench_fft(c: &mut Criterion) {
    let mut g = c.benchmark_group("fft");
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(20);
    for n in [4096usize, 65_536, 1_048_576] {
        let mut rnd = random(n as u64);
        let x = Array1::from_shape_fn(n, |_| rnd());
        g.bench_with_input(BenchmarkId::new("rustfft_rfft", n), &x, |b, x| {
            b.iter(|| rfft(black_box(x)).expect("valid input"))
        });
    }
    let mut rnd = random(1);
    let x: Vec<f64> = (0..4096).map(|_| rnd()).collect();
    g.sample_size(10);
    g.bench_with_input(BenchmarkId::new("naive_dft", 4096), &x, |b, x| {
        b.iter(|| naive_dft(black_box(x)))
    });
    g.finish();
}

fn bench_inverse(c: &mut Criterion) {
    let mut g = c.benchmark_group("inverse");
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    for n in [100usize, 300, 1000] {
        let mut rnd = random(n as u64);
        let a = Array2::from_shape_fn((n, n), |_| rnd());
        let flat: Vec<f64> = a.iter().copied().collect();
        g.bench_with_input(BenchmarkId::new("faer_lu", n), &a, |b, a| {
            b.iter(|| inverse(black_box(a)).expect("regular matrix"))
        });
        g.bench_with_input(BenchmarkId::new("naive_gauss_jordan", n), &flat, |b, a| {
            b.iter(|| gauss_jordan(black_box(a), n).expect("regular matrix"))
        });
    }
    let mut rnd = random(42);
    let batch = Array3::from_shape_fn((100, 100, 100), |_| rnd());
    g.bench_function("faer_lu_batch_100x(100x100)", |b| {
        b.iter(|| inverse_batch(black_box(&batch)).expect("regular matrices"))
    });
    g.finish();
}

fn bench_average(c: &mut Criterion) {
    let mut g = c.benchmark_group("average");
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    let frames_count = 16;
    for n in [4096usize, 65_536, 1_048_576] {
        let mut rnd = random(n as u64 + 7);
        let frames: Vec<Array1<f64>> = (0..frames_count)
            .map(|_| Array1::from_shape_fn(n, |_| rnd()))
            .collect();
        let plain: Vec<Vec<f64>> = frames.iter().map(|f| f.to_vec()).collect();
        g.bench_with_input(
            BenchmarkId::new("accumulator_welford", n),
            &frames,
            |b, frames| {
                b.iter(|| {
                    let mut acc = Accumulator::new();
                    for f in frames {
                        acc.push(black_box(f)).expect("same shape");
                    }
                    acc.mean().expect("not empty")
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("naive_loop_mean", n),
            &plain,
            |b, frames| b.iter(|| naive_mean(black_box(frames))),
        );
    }
    g.finish();
}

criterion_group!(benches, bench_fft, bench_inverse, bench_average);
criterion_main!(benches);
