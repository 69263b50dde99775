//! The built-in plugins and the registry that lists them.

use ndarray::{Array1, ArrayD, ArrayView1, Ix1, Ix2, Ix3};

use crate::accumulate::Accumulator;
use crate::error::ComputeError;
use crate::params::{ParamKind, ParamSpec, Params};
use crate::plugin::{InputSpec, Outputs, Plugin};
use crate::{fft, fit, histogram, linalg, normalize, peaks, smooth, stats, window};

const WINDOWS: &[&str] = &[
    "rectangular",
    "hann",
    "hamming",
    "blackman",
    "blackmanharris",
    "flattop",
    "bartlett",
];
const EDGES: &[&str] = &["interp", "nearest", "mirror", "valid"];

fn view1(a: &ArrayD<f64>) -> Result<ArrayView1<'_, f64>, ComputeError> {
    a.view()
        .into_dimensionality::<Ix1>()
        .map_err(|_| ComputeError::Dimension {
            expected: 1,
            found: a.ndim(),
        })
}

fn window_param(p: &Params) -> Result<window::Window, ComputeError> {
    let name = p.text("window")?;
    window::Window::from_name(name)
        .ok_or_else(|| ComputeError::invalid("window", format!("unknown window `{name}`")))
}

fn edge_param(p: &Params) -> Result<smooth::Edge, ComputeError> {
    let name = p.text("edge")?;
    smooth::Edge::from_name(name)
        .ok_or_else(|| ComputeError::invalid("edge", format!("unknown edge mode `{name}`")))
}

fn scalar(v: f64) -> ArrayD<f64> {
    ArrayD::from_elem(vec![], v)
}

/// A built-in plugin: its description, and the function that runs it on checked inputs and
/// resolved parameters. One type serves every built-in, so each is a table entry.
struct Builtin {
    name: &'static str,
    description: &'static str,
    inputs: InputSpec,
    outputs: &'static [&'static str],
    params: fn() -> Vec<ParamSpec>,
    /// Called with as many inputs as `inputs` allows, and every parameter resolved.
    run: fn(&[ArrayD<f64>], &Params) -> Result<Outputs, ComputeError>,
}

impl Plugin for Builtin {
    fn name(&self) -> &'static str {
        self.name
    }
    fn description(&self) -> &'static str {
        self.description
    }
    fn inputs(&self) -> InputSpec {
        self.inputs
    }
    fn outputs(&self) -> &'static [&'static str] {
        self.outputs
    }
    fn params(&self) -> Vec<ParamSpec> {
        (self.params)()
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        self.inputs.check(inputs.len())?;
        let resolved = params.resolve(&(self.params)())?;
        (self.run)(inputs, &resolved)
    }
}

/// Outputs of one array.
fn one(name: &str, value: ArrayD<f64>) -> Outputs {
    let mut out = Outputs::new();
    out.push(name, value);
    out
}

static AVERAGE: Builtin = Builtin {
    name: "average",
    description: "Element-wise mean and standard deviation of equally shaped frames (Welford, constant memory).",
    inputs: InputSpec::AtLeastOne("frames"),
    outputs: &["mean", "std"],
    params: || {
        vec![ParamSpec::new(
            "ddof",
            ParamKind::Int,
            0_i64,
            "delta degrees of freedom of the standard deviation",
        )]
    },
    run: |inputs, p| {
        let mut acc = Accumulator::new();
        for frame in inputs {
            acc.push(frame)?;
        }
        let mut out = Outputs::new();
        out.push("mean", acc.mean()?);
        out.push("std", acc.std(p.usize("ddof")? as u64)?);
        Ok(out)
    },
};

static SUBTRACT_BACKGROUND: Builtin = Builtin {
    name: "subtract_background",
    description: "Subtracts a background (broadcast to the signal's shape) from a signal.",
    inputs: InputSpec::Fixed(&["signal", "background"]),
    outputs: &["signal"],
    params: Vec::new,
    run: |inputs, _| {
        Ok(one(
            "signal",
            normalize::subtract_background(&inputs[0], &inputs[1])?,
        ))
    },
};

static NORMALIZE: Builtin = Builtin {
    name: "normalize",
    description: "Rescales a signal: min-max to [0, 1], by its largest magnitude, or to zero mean and unit variance.",
    inputs: InputSpec::Fixed(&["signal"]),
    outputs: &["signal"],
    params: || {
        vec![ParamSpec::new(
            "method",
            ParamKind::Choice(&["minmax", "max", "zscore"]),
            "minmax",
            "normalization method",
        )]
    },
    run: |inputs, p| {
        let name = p.text("method")?;
        let method = normalize::Normalization::from_name(name)
            .ok_or_else(|| ComputeError::invalid("method", format!("unknown method `{name}`")))?;
        Ok(one("signal", normalize::normalize(&inputs[0], method)?))
    },
};

static NORMALIZE_BY_REFERENCE: Builtin = Builtin {
    name: "normalize_by_reference",
    description: "Divides a signal by a reference (broadcast to the signal's shape).",
    inputs: InputSpec::Fixed(&["signal", "reference"]),
    outputs: &["signal"],
    params: Vec::new,
    run: |inputs, _| {
        Ok(one(
            "signal",
            normalize::normalize_by_reference(&inputs[0], &inputs[1])?,
        ))
    },
};

static APPLY_WINDOW: Builtin = Builtin {
    name: "window",
    description: "Multiplies a 1-D signal by a periodic window function.",
    inputs: InputSpec::Fixed(&["signal"]),
    outputs: &["signal"],
    params: || {
        vec![ParamSpec::new(
            "window",
            ParamKind::Choice(WINDOWS),
            "hann",
            "window function",
        )]
    },
    run: |inputs, p| {
        let y = window::apply_window(&view1(&inputs[0])?, window_param(p)?)?;
        Ok(one("signal", y.into_dyn()))
    },
};

static POWER_SPECTRUM: Builtin = Builtin {
    name: "power_spectrum",
    description: "One-sided power spectrum (or spectral density) of a windowed 1-D signal, with its frequency axis.",
    inputs: InputSpec::Fixed(&["signal"]),
    outputs: &["frequency", "power"],
    params: || {
        vec![
            ParamSpec::new(
                "window",
                ParamKind::Choice(WINDOWS),
                "hann",
                "window function",
            ),
            ParamSpec::new("sample_rate", ParamKind::Float, 1.0, "sampling rate in Hz"),
            ParamSpec::new(
                "scaling",
                ParamKind::Choice(&["spectrum", "density"]),
                "spectrum",
                "`spectrum`: units²; `density`: units²/Hz",
            ),
        ]
    },
    run: |inputs, p| {
        let x = view1(&inputs[0])?;
        let w = window_param(p)?;
        let fs = p.float("sample_rate")?;
        if !(fs.is_finite() && fs > 0.0) {
            return Err(ComputeError::invalid(
                "sample_rate",
                "must be finite and positive",
            ));
        }
        let power = if p.text("scaling")? == "density" {
            fft::power_spectral_density(&x, w, fs)?
        } else {
            fft::power_spectrum(&x, w)?
        };
        let mut out = Outputs::new();
        out.push("frequency", fft::rfftfreq(x.len(), 1.0 / fs)?.into_dyn());
        out.push("power", power.into_dyn());
        Ok(out)
    },
};

static MOVING_AVERAGE: Builtin = Builtin {
    name: "moving_average",
    description: "Centred moving average of a 1-D signal.",
    inputs: InputSpec::Fixed(&["signal"]),
    outputs: &["signal"],
    params: || {
        vec![
            ParamSpec::new(
                "window",
                ParamKind::Int,
                5_i64,
                "window length in samples (odd unless edge is valid)",
            ),
            ParamSpec::new("edge", ParamKind::Choice(EDGES), "interp", "edge handling"),
        ]
    },
    run: |inputs, p| {
        let y = smooth::moving_average(&view1(&inputs[0])?, p.usize("window")?, edge_param(p)?)?;
        Ok(one("signal", y.into_dyn()))
    },
};

static SAVITZKY_GOLAY: Builtin = Builtin {
    name: "savgol",
    description: "Savitzky-Golay smoothing or derivative of a 1-D signal.",
    inputs: InputSpec::Fixed(&["signal"]),
    outputs: &["signal"],
    params: || {
        vec![
            ParamSpec::new(
                "window",
                ParamKind::Int,
                11_i64,
                "odd window length in samples",
            ),
            ParamSpec::new(
                "polyorder",
                ParamKind::Int,
                3_i64,
                "degree of the local polynomial",
            ),
            ParamSpec::new(
                "deriv",
                ParamKind::Int,
                0_i64,
                "derivative order (0: smoothing)",
            ),
            ParamSpec::new(
                "delta",
                ParamKind::Float,
                1.0,
                "sample spacing, for derivatives",
            ),
            ParamSpec::new("edge", ParamKind::Choice(EDGES), "interp", "edge handling"),
        ]
    },
    run: |inputs, p| {
        let y = smooth::savgol_derivative(
            &view1(&inputs[0])?,
            p.usize("window")?,
            p.usize("polyorder")?,
            p.usize("deriv")?,
            p.float("delta")?,
            edge_param(p)?,
        )?;
        Ok(one("signal", y.into_dyn()))
    },
};

static FIND_EXTREMA: Builtin = Builtin {
    name: "find_extrema",
    description: "Local maxima or minima of a 1-D signal, as indices and as a 0/1 mask.",
    inputs: InputSpec::Fixed(&["signal"]),
    outputs: &["indices", "mask"],
    params: || {
        vec![ParamSpec::new(
            "kind",
            ParamKind::Choice(&["maximum", "minimum"]),
            "maximum",
            "look for peaks or dips",
        )]
    },
    run: |inputs, p| {
        let x = view1(&inputs[0])?;
        let flags: Vec<bool> = if p.text("kind")? == "minimum" {
            peaks::minima_scan(&x)?.collect()
        } else {
            peaks::maxima_scan(&x)?.collect()
        };
        let indices: Vec<f64> = flags
            .iter()
            .enumerate()
            .filter_map(|(i, &f)| f.then_some(i as f64))
            .collect();
        let mask: Vec<f64> = flags.iter().map(|&f| f64::from(u8::from(f))).collect();
        let mut out = Outputs::new();
        out.push("indices", Array1::from(indices).into_dyn());
        out.push("mask", Array1::from(mask).into_dyn());
        Ok(out)
    },
};

static HISTOGRAM_STEP: Builtin = Builtin {
    name: "histogram",
    description: "Histogram of all samples over equal-width bins (numpy.histogram semantics).",
    inputs: InputSpec::Fixed(&["data"]),
    outputs: &["counts", "edges"],
    params: || {
        vec![
            ParamSpec::new("bins", ParamKind::Int, 10_i64, "number of bins"),
            ParamSpec::new(
                "auto_range",
                ParamKind::Bool,
                true,
                "use the data's min and max as range",
            ),
            ParamSpec::new(
                "range_min",
                ParamKind::Float,
                0.0,
                "lower edge when auto_range is off",
            ),
            ParamSpec::new(
                "range_max",
                ParamKind::Float,
                1.0,
                "upper edge when auto_range is off",
            ),
        ]
    },
    run: |inputs, p| {
        let bins = p.int("bins")?;
        let bins = usize::try_from(bins)
            .map_err(|_| ComputeError::invalid("bins", "must be at least 1"))?;
        let range = if p.bool("auto_range")? {
            None
        } else {
            Some((p.float("range_min")?, p.float("range_max")?))
        };
        let h = histogram::histogram(&inputs[0], bins, range)?;
        let mut out = Outputs::new();
        out.push("counts", h.counts.mapv(|c| c as f64).into_dyn());
        out.push("edges", h.edges.into_dyn());
        Ok(out)
    },
};

static POLY_FIT: Builtin = Builtin {
    name: "polyfit",
    description: "Least-squares polynomial fit y(x); coefficients in increasing order of power, and the fitted curve.",
    inputs: InputSpec::Fixed(&["x", "y"]),
    outputs: &["coefficients", "fitted"],
    params: || {
        vec![ParamSpec::new(
            "degree",
            ParamKind::Int,
            1_i64,
            "polynomial degree",
        )]
    },
    run: |inputs, p| {
        let (x, y) = (view1(&inputs[0])?, view1(&inputs[1])?);
        let poly = fit::polyfit(&x, &y, p.usize("degree")?)?;
        let fitted = poly.eval_array(&x);
        let mut out = Outputs::new();
        out.push("coefficients", poly.coeffs.into_dyn());
        out.push("fitted", fitted.into_dyn());
        Ok(out)
    },
};

static INVERSE: Builtin = Builtin {
    name: "inverse",
    description: "Inverse of a square matrix, or of every matrix of a (batch, n, n) stack.",
    inputs: InputSpec::Fixed(&["matrix"]),
    outputs: &["inverse"],
    params: Vec::new,
    run: |inputs, _| {
        let a = &inputs[0];
        let inv = match a.ndim() {
            2 => linalg::inverse(&a.view().into_dimensionality::<Ix2>().map_err(|_| {
                ComputeError::Dimension {
                    expected: 2,
                    found: a.ndim(),
                }
            })?)?
            .into_dyn(),
            3 => linalg::inverse_batch(&a.view().into_dimensionality::<Ix3>().map_err(|_| {
                ComputeError::Dimension {
                    expected: 3,
                    found: a.ndim(),
                }
            })?)?
            .into_dyn(),
            found => return Err(ComputeError::Dimension { expected: 2, found }),
        };
        Ok(one("inverse", inv))
    },
};

static STATISTICS: Builtin = Builtin {
    name: "statistics",
    description: "Mean, standard deviation, minimum, maximum, median and one percentile of all samples.",
    inputs: InputSpec::Fixed(&["data"]),
    outputs: &["mean", "std", "min", "max", "median", "percentile"],
    params: || {
        vec![
            ParamSpec::new(
                "ddof",
                ParamKind::Int,
                0_i64,
                "delta degrees of freedom of std",
            ),
            ParamSpec::new(
                "percentile",
                ParamKind::Float,
                95.0,
                "percentile to report, 0 to 100",
            ),
        ]
    },
    run: |inputs, p| {
        let x = &inputs[0];
        let s = stats::summary(x)?;
        let mut out = Outputs::new();
        out.push("mean", scalar(s.mean));
        out.push("std", scalar(stats::std_dev(x, p.usize("ddof")?)?));
        out.push("min", scalar(s.min));
        out.push("max", scalar(s.max));
        out.push("median", scalar(s.median));
        out.push(
            "percentile",
            scalar(stats::percentile(x, p.float("percentile")?)?),
        );
        Ok(out)
    },
};

static PLUGINS: [&dyn Plugin; 13] = [
    &AVERAGE,
    &SUBTRACT_BACKGROUND,
    &NORMALIZE,
    &NORMALIZE_BY_REFERENCE,
    &APPLY_WINDOW,
    &POWER_SPECTRUM,
    &MOVING_AVERAGE,
    &SAVITZKY_GOLAY,
    &FIND_EXTREMA,
    &HISTOGRAM_STEP,
    &POLY_FIT,
    &INVERSE,
    &STATISTICS,
];

/// Every built-in plugin, in a stable order.
///
/// # Examples
///
/// ```
/// let names: Vec<&str> = smq_compute::plugins().iter().map(|p| p.name()).collect();
/// assert!(names.contains(&"power_spectrum"));
/// ```
pub fn plugins() -> &'static [&'static dyn Plugin] {
    &PLUGINS
}

/// The built-in plugin called `name`, if any.
///
/// # Examples
///
/// ```
/// assert!(smq_compute::plugin("savgol").is_some());
/// assert!(smq_compute::plugin("nope").is_none());
/// ```
pub fn plugin(name: &str) -> Option<&'static dyn Plugin> {
    PLUGINS.iter().copied().find(|p| p.name() == name)
}

/// Like [`plugin`], but with an error naming the missing plugin.
///
/// # Errors
///
/// [`ComputeError::UnknownPlugin`].
///
/// # Examples
///
/// ```
/// use smq_compute::{require_plugin, ComputeError};
/// assert!(matches!(require_plugin("nope"), Err(ComputeError::UnknownPlugin(_))));
/// ```
pub fn require_plugin(name: &str) -> Result<&'static dyn Plugin, ComputeError> {
    plugin(name).ok_or_else(|| ComputeError::UnknownPlugin(name.to_owned()))
}
