//! Every built-in plugin declares the outputs it gives: the names `run` returns, in order.

use ndarray::{Array1, ArrayD, array};
use smq_compute::{InputSpec, plugins};

#[test]
fn every_builtin_declares_the_outputs_it_gives() {
    let signal: ArrayD<f64> =
        Array1::from_iter((0..32).map(|i| 2.0 + (i as f64 * 0.4).sin())).into_dyn();
    for p in plugins() {
        let inputs: Vec<ArrayD<f64>> = match (p.name(), p.inputs()) {
            ("inverse", _) => vec![array![[2.0, 0.0], [0.0, 4.0]].into_dyn()],
            (_, InputSpec::Fixed(names)) => vec![signal.clone(); names.len()],
            (_, InputSpec::AtLeastOne(_)) => vec![signal.clone(); 2],
        };
        let out = p
            .run(&inputs, &p.defaults())
            .unwrap_or_else(|e| panic!("{}: {e}", p.name()));
        let names: Vec<&str> = out.names().collect();
        assert_eq!(names, p.outputs(), "{}", p.name());
        assert!(!p.outputs().is_empty(), "{}", p.name());
    }
}
