//! `smq show RUN [--plot FILE]`: a stored run in text, and plotted to a PNG image.
//!
//! The plot is drawn in memory with `plotters` (its bitmap backend, its text by `ab_glyph`
//! with the Ubuntu Light font that egui ships in `epaint_default_fonts`) and encoded by
//! `png`: nothing is asked of the system (no font library, no display), so it runs on a
//! headless acquisition PC. `plotters` is the maintained Rust plotting crate with a pure
//! software backend; the run is read by [`smq_lab::StoredRun`], as the dashboard's `--open`
//! view reads it.
//!
//! The image has one panel per plot, [`COLUMNS`] to a row, each [`PANEL`] pixels, under a
//! title band of [`TITLE_HEIGHT`] pixels naming the run and its state:
//!
//! 1. each dataset of one number per acquisition, against the scan point;
//! 2. each 2-D scan as a map over its two coordinates, coloured by value (viridis: dark
//!    low, yellow high; the range in the panel's title);
//! 3. each waveform dataset's acquisition at the last point (the highest one stored);
//! 4. each dataset of pairs (the spectrum peaks `[frequency, power]`), one panel per
//!    component against the point.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use smq_lab::{Map2d, RunStatus, StoredDataset, StoredRun};

use crate::{Error, open_store, run_state};

/// Panels per row.
pub(crate) const COLUMNS: u32 = 3;
/// The size of one panel, pixels.
pub(crate) const PANEL: (u32, u32) = (480, 320);
/// The height of the title band, pixels.
pub(crate) const TITLE_HEIGHT: u32 = 40;

/// Scan plots of more points than this are drawn as a line only, without a marker per point.
const MAX_MARKERS: usize = 200;

/// The font family the plots are drawn in, registered once from the bundled font.
const FONT: &str = "sans-serif";

/// Why a plot could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PlotError {
    /// The bundled font could not be loaded.
    #[error("cannot load the plot font")]
    Font,
    /// Drawing failed.
    #[error("cannot draw the plot: {0}")]
    Draw(String),
    /// The image could not be written.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

fn draw_err<E: std::fmt::Debug>(e: E) -> PlotError {
    PlotError::Draw(format!("{e:?}"))
}

/// One panel of the image.
enum Panel<'a> {
    /// Values against points.
    Scan {
        title: String,
        y_label: String,
        points: Vec<(f64, f64)>,
    },
    /// A 2-D scan.
    Map { title: String, map: Map2d },
    /// One acquisition of a waveform dataset.
    Waveform {
        title: String,
        data: &'a StoredDataset,
        row: usize,
    },
}

/// The panels of `run`, in the order of the module docs.
fn panels(run: &StoredRun) -> Vec<Panel<'_>> {
    let mut out = Vec::new();
    for d in run.scan_plots() {
        out.push(Panel::Scan {
            title: format!("{} by point", d.name),
            y_label: d.label(),
            points: d
                .points
                .iter()
                .zip(&d.values)
                .map(|(&p, &v)| (p as f64, v))
                .collect(),
        });
    }
    for name in run.maps() {
        if let (Some(map), Some(d)) = (run.map(name), run.dataset(name)) {
            // The colour scale, dark (low) to yellow (high), in the title.
            let (lo, hi) = map
                .cells
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), c| {
                    (l.min(c[2]), h.max(c[2]))
                });
            out.push(Panel::Map {
                title: format!("{}: {lo:.4} (dark) to {hi:.4} (yellow)", d.label()),
                map,
            });
        }
    }
    for d in run.waveforms() {
        if let Some(last) = d.len().checked_sub(1) {
            out.push(Panel::Waveform {
                title: format!("{} at point {} (the last)", d.name, d.points[last]),
                data: d,
                row: last,
            });
        }
    }
    for d in run.pairs() {
        for k in 0..2 {
            let part = d
                .acquisition_dim(0)
                .map_or(format!("[{k}]"), |a| format!(" {a}[{k}]"));
            out.push(Panel::Scan {
                title: format!("{}{part} by point", d.name),
                y_label: format!("{}{part}", d.name),
                points: (0..d.len())
                    .filter_map(|i| Some((d.points[i] as f64, *d.row(i)?.get(k)?)))
                    .collect(),
            });
        }
    }
    out
}

/// The size of the image of `n` panels.
pub(crate) fn image_size(n: usize) -> (u32, u32) {
    let rows = (n as u32).div_ceil(COLUMNS).max(1);
    (PANEL.0 * COLUMNS, TITLE_HEIGHT + PANEL.1 * rows)
}

/// A range that holds `values`, with a margin; `0..1` if there are none.
fn range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    if lo > hi {
        return 0.0..1.0;
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        lo.abs().max(1.0) * 0.05
    };
    lo - pad..hi + pad
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    panel: &Panel<'_>,
) -> Result<(), PlotError> {
    let caption = |t: &str| (t.to_owned(), (FONT, 18));
    match panel {
        Panel::Scan {
            title,
            y_label,
            points,
        } => {
            let mut chart = ChartBuilder::on(area)
                .caption(caption(title).0, caption(title).1)
                .margin(8)
                .x_label_area_size(36)
                .y_label_area_size(64)
                .build_cartesian_2d(
                    range(points.iter().map(|p| p.0)),
                    range(points.iter().map(|p| p.1)),
                )
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_desc("point")
                .y_desc(y_label.as_str())
                .label_style((FONT, 12))
                .draw()
                .map_err(draw_err)?;
            chart
                .draw_series(LineSeries::new(points.iter().copied(), &BLUE))
                .map_err(draw_err)?;
            if points.len() <= MAX_MARKERS {
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 3, BLUE.filled())))
                    .map_err(draw_err)?;
            }
        }
        Panel::Waveform { title, data, row } => {
            let values = data.row(*row).unwrap_or(&[]);
            let mut chart = ChartBuilder::on(area)
                .caption(title.as_str(), (FONT, 18))
                .margin(8)
                .x_label_area_size(36)
                .y_label_area_size(64)
                .build_cartesian_2d(
                    0.0..values.len().max(1) as f64,
                    range(values.iter().copied()),
                )
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_desc(data.acquisition_dim(0).unwrap_or("sample"))
                .y_desc(data.label())
                .label_style((FONT, 12))
                .draw()
                .map_err(draw_err)?;
            chart
                .draw_series(LineSeries::new(
                    values.iter().enumerate().map(|(i, &v)| (i as f64, v)),
                    &RED,
                ))
                .map_err(draw_err)?;
        }
        Panel::Map { title, map } => {
            let xs = range(map.cells.iter().map(|c| c[0]));
            let ys = range(map.cells.iter().map(|c| c[1]));
            let zs = range(map.cells.iter().map(|c| c[2]));
            let step = |k: usize| {
                let mut v: Vec<f64> = map.cells.iter().map(|c| c[k]).collect();
                v.sort_by(f64::total_cmp);
                v.dedup();
                v.windows(2)
                    .map(|w| w[1] - w[0])
                    .filter(|d| *d > 0.0)
                    .fold(f64::INFINITY, f64::min)
            };
            let (dx, dy) = (step(0), step(1));
            let half = |d: f64, r: &std::ops::Range<f64>| {
                if d.is_finite() {
                    d / 2.0
                } else {
                    (r.end - r.start) / 2.0
                }
            };
            let (hx, hy) = (half(dx, &xs), half(dy, &ys));
            let mut chart = ChartBuilder::on(area)
                .caption(title.as_str(), (FONT, 18))
                .margin(8)
                .x_label_area_size(36)
                .y_label_area_size(64)
                .build_cartesian_2d(xs.start - hx..xs.end + hx, ys.start - hy..ys.end + hy)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_desc(map.axes[0].as_str())
                .y_desc(map.axes[1].as_str())
                .label_style((FONT, 12))
                .draw()
                .map_err(draw_err)?;
            chart
                .draw_series(map.cells.iter().map(|&[x, y, z]| {
                    let t = if zs.end > zs.start {
                        (z - zs.start) / (zs.end - zs.start)
                    } else {
                        0.5
                    };
                    let color = ViridisRGB::get_color(t.clamp(0.0, 1.0));
                    Rectangle::new([(x - hx, y - hy), (x + hx, y + hy)], color.filled())
                }))
                .map_err(draw_err)?;
        }
    }
    Ok(())
}

/// Draw `run` (see the module docs) and write it to `path` as an 8-bit RGB PNG; returns
/// its size.
pub(crate) fn plot(run: &StoredRun, path: &Path) -> Result<(u32, u32), PlotError> {
    static FONT_LOADED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let loaded = *FONT_LOADED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT)
            .is_ok()
    });
    if !loaded {
        return Err(PlotError::Font);
    }
    let panels = panels(run);
    let (w, h) = image_size(panels.len());
    let mut buf = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (band, body) = root.split_vertically(TITLE_HEIGHT);
        let title = format!(
            "run {}: {}{}",
            run.name(),
            run.state,
            run.summary
                .as_ref()
                .map_or(String::new(), |s| format!("  ({s})"))
        );
        band.draw_text(&title, &(FONT, 22).into_text_style(&band), (12, 10))
            .map_err(draw_err)?;
        if panels.is_empty() {
            body.draw_text("no datasets", &(FONT, 18).into_text_style(&body), (12, 12))
                .map_err(draw_err)?;
        }
        let rows = (panels.len() as u32).div_ceil(COLUMNS).max(1) as usize;
        let cells = body.split_evenly((rows, COLUMNS as usize));
        for (panel, area) in panels.iter().zip(&cells) {
            draw_panel(area, panel)?;
        }
        root.present().map_err(draw_err)?;
    }
    write_png(path, &buf, (w, h))?;
    Ok((w, h))
}

/// Encode an RGB buffer as PNG at `path`.
fn write_png(path: &Path, rgb: &[u8], (w, h): (u32, u32)) -> Result<(), PlotError> {
    let err = |reason: String| PlotError::Write {
        path: path.display().to_string(),
        reason,
    };
    let file = std::fs::File::create(path).map_err(|e| err(e.to_string()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| err(e.to_string()))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| err(e.to_string()))?;
    writer.finish().map_err(|e| err(e.to_string()))
}

/// `smq show`: print the run; with `plot`, also draw it to that PNG file.
pub(crate) fn show(name: &str, out: &Path, plot_to: Option<&Path>) -> Result<(), Error> {
    let store = open_store(out)?;
    if !store.runs()?.iter().any(|r| r == name) {
        return Err(format!("no run named {name:?} in {}", out.display()).into());
    }
    let run = store.open_run(name)?;
    let meta = run.metadata()?;
    println!("run         {}", meta.name);
    println!("path        {}", run.path().display());
    println!("experiment  {}", meta.experiment.as_deref().unwrap_or("-"));
    println!("start       {}", meta.start.as_deref().unwrap_or("-"));
    println!("end         {}", meta.end.as_deref().unwrap_or("-"));
    let reason = meta.attributes.get("abort_reason").and_then(|r| r.as_str());
    match (run_state(&meta), reason) {
        (state, Some(reason)) => println!("status      {state} ({reason})"),
        (state, None) => println!("status      {state}"),
    }
    println!("parameters  {}", meta.parameters);
    println!("instruments");
    for (k, v) in &meta.instruments {
        println!("  {k:<8} {v}");
    }
    println!("datasets");
    for d in run.datasets()? {
        println!("  {:<16} {:<8} {:?}", d.name, d.data_type, d.shape);
    }
    match meta
        .dag_summary
        .as_ref()
        .and_then(smq_lab::DagSummary::from_json)
    {
        Some(s) => {
            println!("tasks       {}", s.tasks);
            for (k, v) in &s.by_state {
                println!("  {k:<10} {v}");
            }
            println!("tasks by label");
            for (label, states) in &s.by_label {
                println!("  {label:<26} {}", smq_lab::state_counts(states));
            }
            println!("failures    {}", s.failed.len());
            for f in &s.failed {
                println!("  {f}");
            }
        }
        None => println!("tasks       (no summary recorded)"),
    }
    if let Some(path) = plot_to {
        drop(run);
        drop(store);
        let stored = smq_lab::StoredRun::open(out, name)?;
        let (w, h) = plot(&stored, path)?;
        let note = match stored.status {
            Some(RunStatus::Running) => " (running: what is committed so far)",
            _ => "",
        };
        println!("plot        {} ({w}x{h}){note}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A 4 x 3 grid scan with axis metadata, a scalar scan beside it, and no end: its plot
    /// has a map panel, a scan panel, and the state in its title band.
    #[test]
    fn a_grid_scan_is_plotted_as_a_map() {
        let dir = tempfile::tempdir().unwrap();
        let store = smq_store::Store::create(dir.path()).unwrap();
        let run = store
            .create_run("grid", "map", serde_json::json!({}))
            .unwrap();
        for (name, f) in [
            ("x", (|p: u64| (p % 4) as f64) as fn(u64) -> f64),
            ("y", |p| (p / 4) as f64 * 0.5),
            ("signal", |p| {
                ((p % 4) as f64 - 1.5).powi(2) + (p / 4) as f64
            }),
            ("temperature", |p| 20.0 + p as f64 * 0.1),
        ] {
            let ds = run.dataset::<f64>(name, &[]).unwrap();
            let pts = run.dataset::<u64>(&format!("{name}_point"), &[]).unwrap();
            for p in (0..12).rev() {
                ds.push(f(p)).unwrap();
                pts.push(p).unwrap();
            }
        }
        run.commit().unwrap();
        drop((run, store));
        let meta = dir.path().join("grid").join("signal").join("zarr.json");
        let mut m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
        m["attributes"] = serde_json::json!({"dims": ["x", "y"], "units": "V"});
        std::fs::write(&meta, serde_json::to_vec(&m).unwrap()).unwrap();

        let stored = StoredRun::open(dir.path(), "grid").unwrap();
        assert_eq!(stored.maps(), ["signal"]);
        let kinds: Vec<&str> = panels(&stored)
            .iter()
            .map(|p| match p {
                Panel::Scan { .. } => "scan",
                Panel::Map { .. } => "map",
                Panel::Waveform { .. } => "waveform",
            })
            .collect();
        // x, y and temperature by point, then the map.
        assert_eq!(kinds, ["scan", "scan", "scan", "map"]);
        let out = dir.path().join("grid.png");
        let (w, h) = plot(&stored, &out).unwrap();
        assert_eq!((w, h), image_size(4));
        assert_eq!((w, h), (1440, 40 + 2 * 320));
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buf).unwrap();
        assert_eq!((frame.width, frame.height), (w, h));
        // The map's colours: many distinct ones in its panel (row 2, column 1).
        let mut colours = std::collections::BTreeSet::new();
        for y in (TITLE_HEIGHT + PANEL.1)..(TITLE_HEIGHT + 2 * PANEL.1) {
            for x in 0..PANEL.0 {
                let i = 3 * (y * w + x) as usize;
                colours.insert([buf[i], buf[i + 1], buf[i + 2]]);
            }
        }
        assert!(
            colours.len() > 8,
            "{} colours in the map panel",
            colours.len()
        );
    }
}
