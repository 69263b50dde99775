//! The run's datasets served as they grow: `GET /api/datasets` and
//! `GET /api/datasets/NAME?since=N`.
//!
//! The values are read through the run's handle ([`Options::run`](crate::Options::run)):
//! from the store that writes it, so everything saved so far, committed or not. A dataset
//! `D` and its points `D_point` are appended together; a reply holds the acquisitions both
//! have (the shorter of the two lengths), so each value comes with its point. A reply holds
//! at most [`MAX_VALUES_PER_REPLY`] values: the client asks again from where it ended. A
//! few new acquisitions are read one by one, not the whole dataset. The reading runs on
//! tokio's blocking pool, never on the thread serving the event streams.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use smq_store::Run;

use crate::api;
use crate::routes::{AppState, error, parse_since};

type Shared = std::sync::Arc<AppState>;

/// Why a dataset could not be served.
enum Refusal {
    NoRun,
    NotFound(String),
    Ahead(u64, u64),
    Read(String),
}

impl Refusal {
    fn reply(self) -> Response {
        match self {
            Refusal::NoRun => error(
                StatusCode::NOT_FOUND,
                "this server serves no stored run: no datasets",
            ),
            Refusal::NotFound(name) => error(
                StatusCode::NOT_FOUND,
                format!("no dataset {name:?} in the run; GET /api/datasets lists them"),
            ),
            Refusal::Ahead(since, len) => error(
                StatusCode::BAD_REQUEST,
                format!("since={since} is beyond the {len} acquisitions saved"),
            ),
            Refusal::Read(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
        }
    }
}

/// The datasets of `run`, the `_point` companions left out.
fn list(run: &Run) -> Result<Vec<api::Dataset>, Refusal> {
    let infos = run.datasets().map_err(|e| Refusal::Read(e.to_string()))?;
    let names: Vec<&str> = infos.iter().map(|d| d.name.as_str()).collect();
    let mut out = Vec::new();
    for d in &infos {
        if d.name
            .strip_suffix("_point")
            .is_some_and(|base| names.contains(&base))
        {
            continue;
        }
        let points = Run::points_of(&d.name);
        let points_len = infos.iter().find(|p| p.name == points).map(|p| p.len());
        out.push(api::Dataset {
            name: d.name.clone(),
            data_type: d.data_type.clone(),
            acquisition_shape: d.acquisition_shape().to_vec(),
            len: points_len.map_or(d.len(), |n| n.min(d.len())),
            by_point: points_len.is_some(),
            attributes: run.dataset_attributes(&d.name),
        });
    }
    Ok(out)
}

/// Values in one reply at most (about 5 MB of JSON): a client asks again from where a
/// reply ended (`since` + the acquisitions it holds), so a large dataset comes in parts.
/// At least one acquisition is sent, whatever its size.
pub const MAX_VALUES_PER_REPLY: usize = 1 << 18;

/// Acquisitions `from..to` of dataset `name` as `f64`, whatever element type it holds: only
/// the chunks that hold them are read.
fn read_rows(
    run: &Run,
    name: &str,
    data_type: &str,
    (from, to): (u64, u64),
    row: usize,
) -> Result<Vec<f64>, Refusal> {
    fn conv<T: smq_store::Element + Copy>(
        run: &Run,
        name: &str,
        (from, to): (u64, u64),
        row: usize,
        f: impl Fn(T) -> f64,
    ) -> Result<Vec<f64>, Refusal> {
        let part = run
            .read_range::<T>(name, from..to)
            .map_err(|e| Refusal::Read(e.to_string()))?;
        let mut out = Vec::with_capacity((to - from) as usize * row);
        out.extend(part.iter().map(|&v| f(v)));
        Ok(out)
    }
    let range = (from, to);
    match data_type {
        "float64" => conv::<f64>(run, name, range, row, |v| v),
        "float32" => conv::<f32>(run, name, range, row, f64::from),
        "int64" => conv::<i64>(run, name, range, row, |v| v as f64),
        "int32" => conv::<i32>(run, name, range, row, f64::from),
        "int16" => conv::<i16>(run, name, range, row, f64::from),
        "uint64" => conv::<u64>(run, name, range, row, |v| v as f64),
        "uint16" => conv::<u16>(run, name, range, row, f64::from),
        "uint8" => conv::<u8>(run, name, range, row, f64::from),
        other => Err(Refusal::Read(format!(
            "dataset {name:?} holds {other}, which is not served as numbers"
        ))),
    }
}

/// Acquisitions `since..` of dataset `name`, at most [`MAX_VALUES_PER_REPLY`] values.
fn values(run: &Run, name: &str, since: u64) -> Result<api::DatasetValues, Refusal> {
    let dataset = list(run)?
        .into_iter()
        .find(|d| d.name == name)
        .ok_or_else(|| Refusal::NotFound(name.to_owned()))?;
    let row = (dataset.acquisition_shape.iter().product::<u64>() as usize).max(1);
    let points = if dataset.by_point {
        Some(
            run.read::<u64>(&Run::points_of(name))
                .map_err(|e| Refusal::Read(e.to_string()))?
                .iter()
                .copied()
                .collect::<Vec<u64>>(),
        )
    } else {
        None
    };
    // The listed length has both values and points (more may have been appended since).
    let len = dataset
        .len
        .min(points.as_ref().map_or(u64::MAX, |p| p.len() as u64));
    if since > len {
        return Err(Refusal::Ahead(since, len));
    }
    let most = (MAX_VALUES_PER_REPLY / row).max(1) as u64;
    let to = len.min(since + most);
    let values = read_rows(run, name, &dataset.data_type, (since, to), row)?;
    Ok(api::DatasetValues {
        dataset: api::Dataset { len, ..dataset },
        since,
        points: points.map(|p| p[since as usize..to as usize].to_vec()),
        values,
    })
}

/// Run `f` on the run's handle, on the blocking pool.
async fn with_run<T: Send + 'static>(
    st: &Shared,
    f: impl FnOnce(&Run) -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    let run = st.run.clone().ok_or(Refusal::NoRun)?;
    tokio::task::spawn_blocking(move || f(&run))
        .await
        .map_err(|e| Refusal::Read(format!("reading the dataset failed: {e}")))?
}

pub(crate) async fn datasets(State(st): State<Shared>) -> Response {
    match with_run(&st, list).await {
        Ok(datasets) => Json(api::DatasetList { datasets }).into_response(),
        Err(r) => r.reply(),
    }
}

pub(crate) async fn dataset(
    State(st): State<Shared>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let since = match parse_since(query.as_deref()) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match with_run(&st, move |run| values(run, &name, since)).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r.reply(),
    }
}
