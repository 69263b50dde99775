//! Write a small run to the store directory given as argument (default `./runs`), e.g. to
//! inspect it with Python's `zarr`:
//!
//! ```text
//! cargo run -p smq-store --example demo_run -- /tmp/runs
//! python -c 'import zarr; r = zarr.open_group("/tmp/runs", mode="r"); print(r.tree())'
//! ```

use ndarray::{Array1, Array2};
use serde_json::json;
use smq_store::{Result, Store};

fn main() -> Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "runs".into());
    let store = Store::create(&dir)?;
    let name = format!("demo-{}", std::process::id());
    let run = store.create_run(&name, "demo", json!({"points": 16, "gain": 2.5}))?;
    run.set_instrument("scope", "ACME,DSO-1,42,1.0")?;
    let waveforms = run.dataset::<f64>("waveforms", &[16])?;
    let temperature = run.dataset::<f32>("temperature", &[])?;
    let counts = run.dataset::<i16>("counts", &[4])?;
    let images = run.dataset::<u8>("images", &[2, 3])?;
    for i in 0..5u8 {
        let f = f64::from(i);
        waveforms.append(&Array1::from_iter((0..16).map(|k| f * 100.0 + f64::from(k))).view())?;
        temperature.push(20.0 + f32::from(i) / 10.0)?;
        counts.append(&Array1::from_elem(4, -i16::from(i)).view())?;
        images.append_nd(&Array2::from_elem((2, 3), i).view().into_dyn())?;
    }
    run.finish(Some(json!({"done": {"acquire": 5, "save": 20}})))?;
    println!("{name}");
    Ok(())
}
