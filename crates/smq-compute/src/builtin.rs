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

fn prepare(
    plugin: &dyn Plugin,
    inputs: &[ArrayD<f64>],
    params: &Params,
) -> Result<Params, ComputeError> {
    plugin.inputs().check(inputs.len())?;
    params.resolve(&plugin.params())
}

macro_rules! plugin_struct {
    ($ty:ident) => {
        #[derive(Debug, Clone, Copy)]
        struct $ty;
    };
}

plugin_struct!(Average);
plugin_struct!(SubtractBackground);
plugin_struct!(Normalize);
plugin_struct!(NormalizeByReference);
plugin_struct!(ApplyWindow);
plugin_struct!(PowerSpectrum);
plugin_struct!(MovingAverage);
plugin_struct!(SavitzkyGolay);
plugin_struct!(FindExtrema);
plugin_struct!(HistogramStep);
plugin_struct!(PolyFit);
plugin_struct!(Inverse);
plugin_struct!(Statistics);

impl Plugin for Average {
    fn name(&self) -> &'static str {
        "average"
    }
    fn description(&self) -> &'static str {
        "Element-wise mean and standard deviation of equally shaped frames (Welford, constant memory)."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::AtLeastOne("frames")
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![ParamSpec::new(
            "ddof",
            ParamKind::Int,
            0_i64,
            "delta degrees of freedom of the standard deviation",
        )]
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        let p = prepare(self, inputs, params)?;
        let mut acc = Accumulator::new();
        for frame in inputs {
            acc.push(frame)?;
        }
        let mut out = Outputs::new();
        out.push("mean", acc.mean()?);
        out.push("std", acc.std(p.usize("ddof")? as u64)?);
        Ok(out)
    }
}

impl Plugin for SubtractBackground {
    fn name(&self) -> &'static str {
        "subtract_background"
    }
    fn description(&self) -> &'static str {
        "Subtracts a background (broadcast to the signal's shape) from a signal."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["signal", "background"])
    }
    fn params(&self) -> Vec<ParamSpec> {
        Vec::new()
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        prepare(self, inputs, params)?;
        let mut out = Outputs::new();
        out.push(
            "signal",
            normalize::subtract_background(&inputs[0], &inputs[1])?,
        );
        Ok(out)
    }
}

impl Plugin for Normalize {
    fn name(&self) -> &'static str {
        "normalize"
    }
    fn description(&self) -> &'static str {
        "Rescales a signal: min-max to [0, 1], by its largest magnitude, or to zero mean and unit variance."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["signal"])
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![ParamSpec::new(
            "method",
            ParamKind::Choice(&["minmax", "max", "zscore"]),
            "minmax",
            "normalization method",
        )]
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        let p = prepare(self, inputs, params)?;
        let name = p.text("method")?;
        let method = normalize::Normalization::from_name(name)
            .ok_or_else(|| ComputeError::invalid("method", format!("unknown method `{name}`")))?;
        let mut out = Outputs::new();
        out.push("signal", normalize::normalize(&inputs[0], method)?);
        Ok(out)
    }
}

impl Plugin for NormalizeByReference {
    fn name(&self) -> &'static str {
        "normalize_by_reference"
    }
    fn description(&self) -> &'static str {
        "Divides a signal by a reference (broadcast to the signal's shape)."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["signal", "reference"])
    }
    fn params(&self) -> Vec<ParamSpec> {
        Vec::new()
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        prepare(self, inputs, params)?;
        let mut out = Outputs::new();
        out.push(
            "signal",
            normalize::normalize_by_reference(&inputs[0], &inputs[1])?,
        );
        Ok(out)
    }
}

impl Plugin for ApplyWindow {
    fn name(&self) -> &'static str {
        "window"
    }
    fn description(&self) -> &'static str {
        "Multiplies a 1-D signal by a periodic window function."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["signal"])
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![ParamSpec::new(
            "window",
            ParamKind::Choice(WINDOWS),
            "hann",
            "window function",
        )]
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        let p = prepare(self, inputs, params)?;
        let y = window::apply_window(&view1(&inputs[0])?, window_param(&p)?)?;
        let mut out = Outputs::new();
        out.push("signal", y.into_dyn());
        Ok(out)
    }
}

impl Plugin for PowerSpectrum {
    fn name(&self) -> &'static str {
        "power_spectrum"
    }
    fn description(&self) -> &'static str {
        "One-sided power spectrum (or spectral density) of a windowed 1-D signal, with its frequency axis."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["signal"])
    }
    fn params(&self) -> Vec<ParamSpec> {
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
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        let p = prepare(self, inputs, params)?;
        let x = view1(&inputs[0])?;
        let w = window_param(&p)?;
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
    }
}

impl Plugin for MovingAverage {
    fn name(&self) -> &'static str {
        "moving_average"
    }
    fn description(&self) -> &'static str {
        "Centred moving average of a 1-D signal."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["signal"])
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::new(
                "window",
                ParamKind::Int,
                5_i64,
                "window length in samples (odd unless edge is valid)",
            ),
            ParamSpec::new("edge", ParamKind::Choice(EDGES), "interp", "edge handling"),
        ]
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        let p = prepare(self, inputs, params)?;
        let y = smooth::moving_average(&view1(&inputs[0])?, p.usize("window")?, edge_param(&p)?)?;
        let mut out = Outputs::new();
        out.push("signal", y.into_dyn());
        Ok(out)
    }
}

impl Plugin for SavitzkyGolay {
    fn name(&self) -> &'static str {
        "savgol"
    }
    fn description(&self) -> &'static str {
        "Savitzky-Golay smoothing or derivative of a 1-D signal."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["signal"])
    }
    fn params(&self) -> Vec<ParamSpec> {
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
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        let p = prepare(self, inputs, params)?;
        let y = smooth::savgol_derivative(
            &view1(&inputs[0])?,
            p.usize("window")?,
            p.usize("polyorder")?,
            p.usize("deriv")?,
            p.float("delta")?,
            edge_param(&p)?,
        )?;
        let mut out = Outputs::new();
        out.push("signal", y.into_dyn());
        Ok(out)
    }
}

impl Plugin for FindExtrema {
    fn name(&self) -> &'static str {
        "find_extrema"
    }
    fn description(&self) -> &'static str {
        "Local maxima or minima of a 1-D signal, as indices and as a 0/1 mask."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["signal"])
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![ParamSpec::new(
            "kind",
            ParamKind::Choice(&["maximum", "minimum"]),
            "maximum",
            "look for peaks or dips",
        )]
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        let p = prepare(self, inputs, params)?;
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
    }
}

impl Plugin for HistogramStep {
    fn name(&self) -> &'static str {
        "histogram"
    }
    fn description(&self) -> &'static str {
        "Histogram of all samples over equal-width bins (numpy.histogram semantics)."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["data"])
    }
    fn params(&self) -> Vec<ParamSpec> {
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
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        let p = prepare(self, inputs, params)?;
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
    }
}

impl Plugin for PolyFit {
    fn name(&self) -> &'static str {
        "polyfit"
    }
    fn description(&self) -> &'static str {
        "Least-squares polynomial fit y(x); coefficients in increasing order of power, and the fitted curve."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["x", "y"])
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![ParamSpec::new(
            "degree",
            ParamKind::Int,
            1_i64,
            "polynomial degree",
        )]
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        let p = prepare(self, inputs, params)?;
        let (x, y) = (view1(&inputs[0])?, view1(&inputs[1])?);
        let poly = fit::polyfit(&x, &y, p.usize("degree")?)?;
        let fitted = poly.eval_array(&x);
        let mut out = Outputs::new();
        out.push("coefficients", poly.coeffs.into_dyn());
        out.push("fitted", fitted.into_dyn());
        Ok(out)
    }
}

impl Plugin for Inverse {
    fn name(&self) -> &'static str {
        "inverse"
    }
    fn description(&self) -> &'static str {
        "Inverse of a square matrix, or of every matrix of a (batch, n, n) stack."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["matrix"])
    }
    fn params(&self) -> Vec<ParamSpec> {
        Vec::new()
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        prepare(self, inputs, params)?;
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
        let mut out = Outputs::new();
        out.push("inverse", inv);
        Ok(out)
    }
}

impl Plugin for Statistics {
    fn name(&self) -> &'static str {
        "statistics"
    }
    fn description(&self) -> &'static str {
        "Mean, standard deviation, minimum, maximum, median and one percentile of all samples."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["data"])
    }
    fn params(&self) -> Vec<ParamSpec> {
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
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        let p = prepare(self, inputs, params)?;
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
    }
}

static PLUGINS: [&dyn Plugin; 13] = [
    &Average,
    &SubtractBackground,
    &Normalize,
    &NormalizeByReference,
    &ApplyWindow,
    &PowerSpectrum,
    &MovingAverage,
    &SavitzkyGolay,
    &FindExtrema,
    &HistogramStep,
    &PolyFit,
    &Inverse,
    &Statistics,
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
