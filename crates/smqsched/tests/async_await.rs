//! Awaiting promises, items and streams on tokio, single- and multi-threaded: values,
//! failures, cancellation and shutdown arrive as futures' outputs, a future polled while
//! its task is held back is woken when it finishes, and a future dropped early leaves the
//! run alone. Tasks are held back by channels, never by sleeping.

#![allow(clippy::unwrap_used)]

use std::future::{IntoFuture, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use crossbeam_channel::{Receiver, bounded};
use futures_core::Stream as _;
use smqsched::{Scheduler, TaskError};

/// A gate a task body waits on until the test opens it.
fn gate() -> (crossbeam_channel::Sender<()>, Receiver<()>) {
    bounded(0)
}

/// Poll `fut` once; whether it was pending.
async fn is_pending<F: std::future::Future + Unpin>(fut: &mut F) -> bool {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx).is_pending())).await
}

#[tokio::test(flavor = "current_thread")]
async fn a_pending_promise_is_woken_when_its_task_finishes() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let (open, wait) = gate();
    let frame = q.submit((), move |()| {
        wait.recv().unwrap();
        vec![1.0, 2.0, 3.0]
    });
    let sum = q.submit(&frame, |f: &Vec<f64>| f.iter().sum::<f64>());
    sch.start();
    let mut fut = sum.clone().into_future();
    assert!(is_pending(&mut fut).await, "the task is held back");
    // The runtime's only thread is free meanwhile: the gate opens from it.
    open.send(()).unwrap();
    assert_eq!(fut.await.unwrap(), 6.0);
    assert_eq!((&frame).await.unwrap(), &vec![1.0, 2.0, 3.0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_await_many_promises_on_a_multi_threaded_runtime() {
    let sch = Scheduler::new();
    let acquire = sch.queue("acquire", 1).unwrap();
    let compute = sch.queue("compute", 2).unwrap();
    let (open, wait) = gate();
    let first = acquire.submit((), move |()| wait.recv().map(|()| 1u64).unwrap_or(0));
    let promises: Vec<_> = (0..200u64)
        .map(|i| compute.submit(&first, move |f: &u64| f + i))
        .collect();
    sch.start();
    let waiters: Vec<_> = promises
        .into_iter()
        .map(|p| tokio::spawn(async move { p.await }))
        .collect();
    open.send(()).unwrap();
    let mut total = 0;
    for w in waiters {
        total += w.await.unwrap().unwrap();
    }
    assert_eq!(total, (0..200u64).map(|i| 1 + i).sum::<u64>());
}

#[tokio::test(flavor = "current_thread")]
async fn failures_and_panics_arrive_as_errors() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let failed = q.submit_result((), |()| Err::<u32, _>("no signal"));
    let panicked = q.submit((), |()| -> u32 { panic!("broken probe") });
    let dependent = q.submit(&failed, |x: &u32| x + 1);
    sch.start();
    match failed.await {
        Err(TaskError::Failed { message, .. }) => assert_eq!(&*message, "no signal"),
        other => panic!("{other:?}"),
    }
    match panicked.await {
        Err(TaskError::Panicked { message, .. }) => assert_eq!(&*message, "broken probe"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        dependent.await,
        Err(TaskError::DependencyFailed { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_task_wakes_its_awaiting_readers_with_the_cancellation() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let a = q.submit((), |()| 1);
    let b = q.submit(&a, |a: &i32| a + 1);
    // Stopped: nothing runs, so both readers wait until the cancellation.
    let readers = [a.clone(), b.clone()].map(|p| tokio::spawn(async move { p.await }));
    let mut pending = b.clone().into_future();
    assert!(is_pending(&mut pending).await);
    assert_eq!(a.cancel(), Ok(2));
    for r in readers {
        let out = r.await.unwrap();
        assert!(
            matches!(
                out,
                Err(TaskError::Cancelled { .. } | TaskError::DependencyFailed { .. })
            ),
            "{out:?}"
        );
    }
    assert!(pending.await.is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn a_shut_down_scheduler_ends_the_wait_with_an_error() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let p = q.submit((), |()| 1);
    let mut fut = p.clone().into_future();
    assert!(is_pending(&mut fut).await);
    drop(q);
    sch.shutdown();
    assert!(matches!(fut.await, Err(TaskError::Shutdown { .. })));
}

#[tokio::test(flavor = "current_thread")]
async fn a_future_dropped_before_its_result_leaves_the_task_running() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let (open, wait) = gate();
    let p = q.submit((), move |()| {
        wait.recv().unwrap();
        7
    });
    sch.start();
    {
        // A reader that gives up, as a timeout or a lost `select!` branch would.
        let mut fut = (&p).into_future();
        assert!(is_pending(&mut fut).await);
    }
    open.send(()).unwrap();
    assert_eq!(p.await.unwrap(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_yields_each_item_as_it_is_produced() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let (step, wait) = gate();
    let s = q.submit_stream((), move |(), out| {
        for i in 0..5u32 {
            wait.recv().map_err(|_| "gate closed")?;
            out.emit(i * 10);
        }
        Ok::<_, &str>(())
    });
    sch.start();
    let mut items = s.items();
    for i in 0..5u32 {
        let mut next = poll_fn(|cx| Pin::new(&mut items).poll_next(cx));
        // Item i is not produced until the gate lets the producer emit it.
        assert!(is_pending(&mut next).await, "item {i} came early");
        step.send(()).unwrap();
        assert_eq!(*next.await.unwrap().unwrap(), i * 10);
    }
    assert!(
        poll_fn(|cx| Pin::new(&mut items).poll_next(cx))
            .await
            .is_none()
    );
    let all = s.clone().await.unwrap();
    assert_eq!(
        all.iter().map(|v| **v).collect::<Vec<_>>(),
        [0, 10, 20, 30, 40]
    );
    assert_eq!(*s.item(3).await.unwrap(), 30);
    assert!(matches!(
        s.item(9).await,
        Err(TaskError::ItemOutOfRange { .. })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn a_failing_producer_gives_its_items_then_the_error_then_ends() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let (open, wait) = gate();
    let s = q.submit_stream((), move |(), out| {
        out.emit(1);
        out.emit(2);
        wait.recv().map_err(|_| "gate closed")?;
        Err("probe lost")
    });
    let waiting_item = s.item(2);
    sch.start();
    let mut item = waiting_item.into_future();
    let mut items = s.items();
    let mut got = Vec::new();
    while got.len() < 2 {
        got.push(
            *poll_fn(|cx| Pin::new(&mut items).poll_next(cx))
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!(got, [1, 2]);
    assert!(is_pending(&mut item).await);
    open.send(()).unwrap();
    let last = poll_fn(|cx| Pin::new(&mut items).poll_next(cx)).await;
    assert!(
        matches!(last, Some(Err(TaskError::Failed { .. }))),
        "{last:?}"
    );
    assert!(
        poll_fn(|cx| Pin::new(&mut items).poll_next(cx))
            .await
            .is_none()
    );
    assert!(matches!(item.await, Err(TaskError::Failed { .. })));
    assert!(s.await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitting_from_async_code_needs_no_special_api() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 2).unwrap();
    sch.start();
    let mut total = 0;
    for i in 0..20u64 {
        let a = q.submit((), move |()| i);
        let b = q.submit(&a, |a: &u64| a * 2);
        total += b.await.unwrap();
    }
    assert_eq!(total, 2 * (0..20).sum::<u64>());
    let shared = Arc::new(q.submit((), |()| String::from("shared")));
    assert_eq!(shared.as_ref().await.unwrap(), "shared");
}
