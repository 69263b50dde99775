//! Simulated runs are reproducible: `smq demo` with the same seed stores the same values,
//! element by element, whatever order the scheduler ran the acquisitions in and however
//! many compute slots it had; another seed gives other noise on the same signal.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use smq_store::Store;

/// The datasets of the demo, each stored beside `NAME_point`.
const DATASETS: [&str; 4] = ["position", "dmm_voltage", "waveform", "spectrum_peak"];

/// Each dataset of the one run `smq demo ARGS` stores in `out`, in scan order: for each
/// point, the bits of its values (so that equal means identical, NaN included).
type Stored = BTreeMap<&'static str, Vec<Vec<u64>>>;

fn demo(out: &Path, args: &[&str]) -> Stored {
    let o = Command::new(env!("CARGO_BIN_EXE_smq"))
        .args(["demo", "--plain", "--out"])
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let store = Store::open(out).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = store.open_run(&runs[0]).unwrap();
    DATASETS
        .into_iter()
        .map(|name| {
            let values = run.read::<f64>(name).unwrap();
            let points = run.read::<u64>(&format!("{name}_point")).unwrap();
            assert_eq!(values.shape()[0], points.len(), "{name}");
            let mut by_point: Vec<(u64, Vec<u64>)> = points
                .iter()
                .zip(values.outer_iter())
                .map(|(&p, v)| (p, v.iter().map(|x| x.to_bits()).collect()))
                .collect();
            by_point.sort_by_key(|(p, _)| *p);
            let order: Vec<u64> = by_point.iter().map(|(p, _)| *p).collect();
            assert_eq!(order, (0..order.len() as u64).collect::<Vec<_>>(), "{name}");
            (name, by_point.into_iter().map(|(_, v)| v).collect())
        })
        .collect()
}

/// The first difference between two runs, if any: dataset, point, element.
fn first_difference(a: &Stored, b: &Stored) -> Option<String> {
    for name in DATASETS {
        let (a, b) = (&a[name], &b[name]);
        if a.len() != b.len() {
            return Some(format!("{name}: {} points vs {}", a.len(), b.len()));
        }
        for (point, (x, y)) in a.iter().zip(b).enumerate() {
            if let Some(i) = (0..x.len().max(y.len())).find(|&i| x.get(i) != y.get(i)) {
                return Some(format!("{name}, point {point}, element {i}"));
            }
        }
    }
    None
}

#[test]
fn the_same_seed_stores_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, args: &[&str]| demo(&dir.path().join(name), args);
    // The README's promise: `smq demo --seed 5 --plain` twice, into two stores.
    let first = run("a", &["--seed", "5"]);
    let again = run("b", &["--seed", "5"]);
    // One compute slot: the spectra and saves run one at a time, in another order.
    let one_slot = run("c", &["--seed", "5", "--compute-slots", "1"]);
    let four_slots = run("d", &["--seed", "5", "--compute-slots", "4"]);
    assert_eq!(first["dmm_voltage"].len(), 21);
    for (what, other) in [
        ("again", &again),
        ("one compute slot", &one_slot),
        ("four compute slots", &four_slots),
    ] {
        assert_eq!(first_difference(&first, other), None, "{what}");
    }

    // Another seed: the same positions (the stage has no noise), other noise on every
    // reading, every waveform and every spectrum peak.
    let other = run("e", &["--seed", "6"]);
    assert_eq!(other["position"], first["position"]);
    for name in ["dmm_voltage", "waveform", "spectrum_peak"] {
        for (point, (a, b)) in first[name].iter().zip(&other[name]).enumerate() {
            assert_ne!(a, b, "{name} at point {point} did not change with the seed");
        }
    }
}
