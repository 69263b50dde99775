//! The run's datasets over HTTP: listed, served from an index on with their points, equal
//! to what the store holds; the token required; unknown names and bad queries refused.

#![allow(clippy::unwrap_used)]

use smq_serve::{ClientError, Options, Remote, serve};
use smq_store::Store;
use smqsched::Scheduler;

fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut r = req.call().unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

#[test]
fn datasets_are_served_with_their_points_and_equal_the_stored_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    let run = store
        .create_run("r", "demo", serde_json::json!({}))
        .unwrap();
    run.describe(
        "level",
        &smq_store::Description::new(["level_acquisition"])
            .with("units", "V")
            .with("dims", serde_json::json!(["x"])),
    )
    .unwrap();
    let sch = Scheduler::new();
    let disk = sch.queue("disk", 1).unwrap();
    let mut saved = Vec::new();
    for p in (0..5u64).rev() {
        let x = p as f64;
        let level = disk.submit((), move |()| 10.0 * x);
        let wave = disk.submit((), move |()| ndarray::Array1::from_elem(4, x));
        saved.push(run.save_at(&disk, "level", p, &level).unwrap());
        saved.push(run.save_at(&disk, "wave", p, &wave).unwrap());
    }
    let server = serve(
        &sch,
        "127.0.0.1:0",
        Options {
            run: Some(run.clone()),
            ..Options::default()
        },
    )
    .unwrap();
    sch.start();
    for s in saved {
        s.result().unwrap();
    }
    let url = server.url();
    let token = server.token().to_owned();

    // The token is required here too.
    assert_eq!(get(&format!("{url}/api/datasets"), None).0, 401);
    assert_eq!(
        get(&format!("{url}/api/datasets/level"), Some("wrong")).0,
        401
    );

    let remote = Remote::connect(&url, &token);
    let list = remote.datasets().unwrap();
    let names: Vec<&str> = list.datasets.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        ["level", "wave"],
        "the _point companions are not listed"
    );
    assert!(list.datasets.iter().all(|d| d.by_point && d.len == 5));
    // Its attributes, once committed, come with it.
    run.commit().unwrap();
    let list = remote.datasets().unwrap();
    assert_eq!(list.datasets[0].attributes["units"], "V");
    assert_eq!(
        list.datasets[0].attributes["dims"],
        serde_json::json!(["x"])
    );
    assert!(list.datasets[1].attributes.is_empty());

    // Everything, then from an index on; values with their points, as the store holds them
    // (committed or not: the server reads through the run's writer).
    let all = remote.dataset_values("level", 0).unwrap();
    let stored: Vec<f64> = run.read::<f64>("level").unwrap().iter().copied().collect();
    let points: Vec<u64> = run
        .read::<u64>("level_point")
        .unwrap()
        .iter()
        .copied()
        .collect();
    assert_eq!(all.values, stored);
    assert_eq!(all.points.as_deref(), Some(&points[..]));
    let mut sorted = points.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [0, 1, 2, 3, 4]);
    let rest = remote.dataset_values("wave", 3).unwrap();
    assert_eq!((rest.since, rest.dataset.len), (3, 5));
    assert_eq!(rest.dataset.acquisition_shape, [4]);
    let wave_points: Vec<u64> = run
        .read::<u64>("wave_point")
        .unwrap()
        .iter()
        .copied()
        .collect();
    assert_eq!(rest.points.as_deref(), Some(&wave_points[3..]));
    let wave: Vec<f64> = run.read::<f64>("wave").unwrap().iter().copied().collect();
    assert_eq!(rest.values, wave[12..]);
    // Each acquisition with its own point.
    for (k, p) in wave_points[3..].iter().enumerate() {
        assert_eq!(rest.values[4 * k], *p as f64);
    }
    assert!(remote.dataset_values("wave", 5).unwrap().values.is_empty());

    // And what the store committed is the same, read back by another store.
    run.finish(None).unwrap();
    let reread = Store::open(dir.path()).unwrap().open_run("r").unwrap();
    let committed: Vec<f64> = reread
        .read::<f64>("level")
        .unwrap()
        .iter()
        .copied()
        .collect();
    assert_eq!(all.values, committed);

    // Bad requests: clear errors, nothing else.
    for (path, status, says) in [
        ("/api/datasets/nope", 404, "no dataset"),
        ("/api/datasets/level?since=6", 400, "beyond the 5"),
        ("/api/datasets/level?since=x", 400, "whole number"),
        ("/api/datasets/level?from=1", 400, "only since"),
    ] {
        let (s, body) = get(&format!("{url}{path}"), Some(&token));
        assert_eq!(s, status, "{path}: {body}");
        assert!(body.contains(says), "{path}: {body}");
    }
    match remote.dataset_values("nope", 0) {
        Err(ClientError::Refused { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }
    server.shutdown().unwrap();
}

#[test]
fn a_large_dataset_comes_in_parts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    let run = store
        .create_run("big", "demo", serde_json::json!({}))
        .unwrap();
    // Acquisitions of 100,000 values: two fit in a reply.
    let samples = 100_000;
    assert_eq!(smq_serve::MAX_VALUES_PER_REPLY / samples, 2);
    let traces = run.dataset::<f32>("trace", &[samples]).unwrap();
    for i in 0..5 {
        traces
            .append(&ndarray::Array1::from_elem(samples, i as f32).view())
            .unwrap();
    }
    // And 100 scalars: read whole from 0, one by one from 50.
    let counts = run.dataset::<u16>("count", &[]).unwrap();
    for i in 0..100u16 {
        counts.push(i).unwrap();
    }
    let sch = Scheduler::new();
    let server = serve(
        &sch,
        "127.0.0.1:0",
        Options {
            run: Some(run.clone()),
            ..Options::default()
        },
    )
    .unwrap();
    let remote = Remote::connect(&server.url(), server.token());
    let all: Vec<f64> = (0..100).map(f64::from).collect();
    assert_eq!(remote.dataset_values("count", 0).unwrap().values, all);
    assert_eq!(
        remote.dataset_values("count", 50).unwrap().values,
        all[50..]
    );
    let mut got = Vec::new();
    let mut replies = 0;
    while (got.len() / samples) < 5 {
        let since = (got.len() / samples) as u64;
        let reply = remote.dataset_values("trace", since).unwrap();
        assert_eq!((reply.since, reply.dataset.len), (since, 5));
        assert!(reply.points.is_none(), "saved without points");
        assert!(reply.values.len() <= smq_serve::MAX_VALUES_PER_REPLY);
        assert!(!reply.values.is_empty());
        got.extend(reply.values);
        replies += 1;
    }
    assert_eq!(replies, 3);
    let stored: Vec<f64> = run
        .read::<f32>("trace")
        .unwrap()
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    assert_eq!(got, stored);
}

#[test]
fn a_server_without_a_run_has_no_datasets() {
    let sch = Scheduler::new();
    let server = serve(&sch, "127.0.0.1:0", Options::default()).unwrap();
    let (s, body) = get(
        &format!("{}/api/datasets", server.url()),
        Some(server.token()),
    );
    assert_eq!(s, 404, "{body}");
    assert!(body.contains("serves no stored run"), "{body}");
}
