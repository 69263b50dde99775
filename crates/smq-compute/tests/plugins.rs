//! The plugin registry: discovery, parameter specs and runs of every
//! built-in plugin.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use ndarray::{Array1, ArrayD, array};
use smq_compute::*;

fn assert_send_sync<T: Send + Sync + ?Sized>() {}

#[test]
fn registry_is_complete_and_consistent() {
    assert_send_sync::<dyn Plugin>();
    let names: Vec<&str> = plugins().iter().map(|p| p.name()).collect();
    let unique: HashSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "names are unique");
    for expected in [
        "average",
        "subtract_background",
        "normalize",
        "normalize_by_reference",
        "window",
        "power_spectrum",
        "moving_average",
        "savgol",
        "find_extrema",
        "histogram",
        "polyfit",
        "inverse",
        "statistics",
    ] {
        assert!(plugin(expected).is_some(), "{expected} is registered");
    }
    for p in plugins() {
        assert!(!p.description().is_empty());
        let specs = p.params();
        // Defaults must pass their own checks.
        let resolved = Params::new().resolve(&specs).unwrap();
        assert_eq!(resolved, p.defaults());
        for spec in &specs {
            assert!(!spec.description.is_empty(), "{}.{}", p.name(), spec.name);
            if let ParamKind::Choice(options) = spec.kind {
                assert!(options.contains(&spec.default.to_string().as_str()));
            }
        }
    }
}

#[test]
fn plugins_can_be_shared_across_threads() {
    let handles: Vec<_> = (0..2)
        .map(|k| {
            std::thread::spawn(move || {
                let p = plugin("statistics").unwrap();
                let x = Array1::from_shape_fn(10, |i| (i + k) as f64).into_dyn();
                p.run(&[x], &Params::new()).unwrap().get("mean").unwrap()[[]]
            })
        })
        .collect();
    let means: Vec<f64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(means, vec![4.5, 5.5]);
}

fn run(name: &str, inputs: &[ArrayD<f64>], params: Params) -> Outputs {
    require_plugin(name).unwrap().run(inputs, &params).unwrap()
}

#[test]
fn every_plugin_runs_with_defaults_or_simple_params() {
    let signal = Array1::from_shape_fn(64, |i| (i as f64 * 0.3).sin() + 0.01 * i as f64).into_dyn();

    let out = run(
        "average",
        &[array![1.0, 2.0].into_dyn(), array![3.0, 6.0].into_dyn()],
        Params::new(),
    );
    assert_eq!(out.get("mean").unwrap(), &array![2.0, 4.0].into_dyn());
    assert_eq!(out.get("std").unwrap(), &array![1.0, 2.0].into_dyn());

    let out = run(
        "subtract_background",
        &[array![3.0, 4.0].into_dyn(), array![1.0, 1.0].into_dyn()],
        Params::new(),
    );
    assert_eq!(out.get("signal").unwrap(), &array![2.0, 3.0].into_dyn());

    let out = run("normalize", &[array![1.0, 3.0].into_dyn()], Params::new());
    assert_eq!(out.get("signal").unwrap(), &array![0.0, 1.0].into_dyn());

    let out = run(
        "normalize_by_reference",
        &[array![1.0, 3.0].into_dyn(), array![2.0, 3.0].into_dyn()],
        Params::new(),
    );
    assert_eq!(out.get("signal").unwrap(), &array![0.5, 1.0].into_dyn());

    let out = run(
        "window",
        std::slice::from_ref(&signal),
        Params::new().with("window", "hamming"),
    );
    assert_eq!(out.get("signal").unwrap().len(), 64);

    let out = run(
        "power_spectrum",
        std::slice::from_ref(&signal),
        Params::new()
            .with("sample_rate", 10_i64)
            .with("scaling", "density"),
    );
    assert_eq!(out.get("frequency").unwrap().len(), 33);
    assert_eq!(out.get("frequency").unwrap()[[32]], 5.0);
    assert_eq!(out.get("power").unwrap().len(), 33);

    let out = run(
        "moving_average",
        std::slice::from_ref(&signal),
        Params::new().with("window", 3_i64).with("edge", "valid"),
    );
    assert_eq!(out.get("signal").unwrap().len(), 62);

    let out = run("savgol", std::slice::from_ref(&signal), Params::new());
    assert_eq!(out.get("signal").unwrap().len(), 64);

    let out = run(
        "find_extrema",
        &[array![0.0, 2.0, 1.0, 3.0, 0.0].into_dyn()],
        Params::new(),
    );
    assert_eq!(out.get("indices").unwrap(), &array![1.0, 3.0].into_dyn());
    assert_eq!(
        out.get("mask").unwrap(),
        &array![0.0, 1.0, 0.0, 1.0, 0.0].into_dyn()
    );
    let out = run(
        "find_extrema",
        &[array![0.0, 2.0, 1.0, 3.0, 0.0].into_dyn()],
        Params::new().with("kind", "minimum"),
    );
    assert_eq!(out.get("indices").unwrap(), &array![2.0].into_dyn());

    let out = run(
        "histogram",
        &[array![0.5, 1.5, 1.7, 9.0].into_dyn()],
        Params::new()
            .with("bins", 2_i64)
            .with("auto_range", false)
            .with("range_min", 0.0)
            .with("range_max", 2.0),
    );
    assert_eq!(out.get("counts").unwrap(), &array![1.0, 2.0].into_dyn());
    assert_eq!(out.get("edges").unwrap(), &array![0.0, 1.0, 2.0].into_dyn());

    let out = run(
        "polyfit",
        &[
            array![0.0, 1.0, 2.0].into_dyn(),
            array![1.0, 3.0, 5.0].into_dyn(),
        ],
        Params::new(),
    );
    let c = out.get("coefficients").unwrap();
    assert!((c[[0]] - 1.0).abs() < 1e-12 && (c[[1]] - 2.0).abs() < 1e-12);
    assert_eq!(out.get("fitted").unwrap().len(), 3);

    let out = run(
        "inverse",
        &[array![[2.0, 0.0], [0.0, 4.0]].into_dyn()],
        Params::new(),
    );
    assert_eq!(
        out.get("inverse").unwrap(),
        &array![[0.5, 0.0], [0.0, 0.25]].into_dyn()
    );
    let out = run(
        "inverse",
        &[array![[[2.0]], [[4.0]]].into_dyn()],
        Params::new(),
    );
    assert_eq!(
        out.get("inverse").unwrap(),
        &array![[[0.5]], [[0.25]]].into_dyn()
    );

    let out = run(
        "statistics",
        &[array![1.0, 2.0, 3.0, 4.0].into_dyn()],
        Params::new().with("percentile", 50_i64),
    );
    let names: Vec<&str> = out.names().collect();
    assert_eq!(names, ["mean", "std", "min", "max", "median", "percentile"]);
    assert_eq!(out.get("median").unwrap()[[]], 2.5);
    assert_eq!(out.get("percentile").unwrap()[[]], 2.5);
}

/// A plugin written outside the crate implements the same trait.
struct Doubler;

impl Plugin for Doubler {
    fn name(&self) -> &'static str {
        "double"
    }
    fn description(&self) -> &'static str {
        "Multiplies by a factor."
    }
    fn inputs(&self) -> InputSpec {
        InputSpec::Fixed(&["x"])
    }
    fn params(&self) -> Vec<ParamSpec> {
        vec![ParamSpec::new(
            "factor",
            ParamKind::Float,
            2.0,
            "multiplier",
        )]
    }
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError> {
        self.inputs().check(inputs.len())?;
        let p = params.resolve(&self.params())?;
        let mut out = Outputs::new();
        out.push("x", &inputs[0] * p.float("factor")?);
        Ok(out)
    }
}

#[test]
fn external_plugins_fit_in_the_same_list() {
    let mine: Vec<&dyn Plugin> = plugins()
        .iter()
        .copied()
        .chain([&Doubler as &dyn Plugin])
        .collect();
    let d = mine.iter().find(|p| p.name() == "double").unwrap();
    let out = d
        .run(
            &[array![1.0, 2.0].into_dyn()],
            &Params::new().with("factor", 3_i64),
        )
        .unwrap();
    assert_eq!(out.get("x").unwrap(), &array![3.0, 6.0].into_dyn());
    let boxed: Box<dyn Plugin> = Box::new(Doubler);
    assert_eq!(boxed.defaults().float("factor").unwrap(), 2.0);
}
