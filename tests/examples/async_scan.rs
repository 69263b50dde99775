//! An acquisition script on tokio: a scan of the simulated lab whose results are awaited.
//!
//! The stage steps over the sample; at each position the multimeter reads and the scope
//! records a waveform, held at that position, and the compute queue measures each
//! waveform's amplitude. Submitting is the same as in a blocking script; only the waiting
//! differs: `.await` on a promise parks the async task, not the runtime's thread, so two
//! loops here follow the readings and the amplitudes at once on one thread.
//!
//! ```sh
//! cargo run -p smq-e2e --example async_scan
//! ```

use std::error::Error;

use smq_dmm::{Dmm, Function, Range};
use smq_e2e::{Bench, lock_in_amplitude};
use smq_instrument::InstrumentError;
use smq_sim::Physics;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let bench = Bench::new(Physics::default(), 7);
    let compute = bench.sch.queue("compute", 2)?;
    bench.sch.start();

    // Set-up, awaited step by step.
    bench.stage.home().await?;
    bench.stage.set_velocity(200.0).await?;
    bench
        .dmm
        .configure_voltage_dc(Range::Value(10.0), None)
        .await?;
    bench.dmm.set_nplc(Function::VoltageDc, 1.0).await?;
    bench.scope.set_timebase_scale(1e-3).await?;

    // The whole scan is submitted at once, as in a blocking script.
    let xs: Vec<f64> = (0..=10).map(|i| f64::from(i) * 0.8).collect();
    let mut readings = Vec::new();
    let mut amplitudes = Vec::new();
    for &x in &xs {
        let moved = bench.stage.move_to_held(x);
        // The reading takes the move's position; the waveform follows it and releases the stage.
        let reading = bench
            .dmm
            .task("read")
            .submit_with(&moved, |d: &mut Dmm, at: &f64| {
                Ok::<_, InstrumentError>((*at, d.read()?))
            })?;
        let wave = bench
            .scope
            .device()
            .task("waveform(1)")
            .after(&reading)
            .releases(&moved)
            .submit(|s: &mut smq_scope::Scope| s.read_waveform(1))?;
        amplitudes.push((x, compute.submit(&wave, lock_in_amplitude)));
        readings.push(reading);
    }

    // Two loops on one thread, each awaiting its own results.
    let readings = async {
        for r in &readings {
            let (x, volts) = *r.await?;
            println!("x = {x:4.1} mm   dmm {volts:8.5} V");
        }
        Ok::<_, smq_instrument::smqsched::TaskError>(())
    };
    let amplitudes = async {
        let mut best = (f64::NAN, f64::NEG_INFINITY);
        for (x, a) in &amplitudes {
            let a = *a.await?;
            if a > best.1 {
                best = (*x, a);
            }
        }
        Ok::<_, smq_instrument::smqsched::TaskError>(best)
    };
    let (r, best) = tokio::join!(readings, amplitudes);
    r?;
    let (x, a) = best?;
    println!("largest waveform amplitude {a:.4} V at x = {x:.1} mm");
    Ok(())
}
