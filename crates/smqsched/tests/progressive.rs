//! Progressive outputs: items are inputs as soon as they exist.

use crossbeam_channel::bounded;
use smqsched::{Scheduler, SubmitError, TaskError};

/// A producer that blocks after item 0 until the consumer of item 0 has run can only finish
/// if that consumer starts while the producer still runs.
#[test]
fn consumer_of_item_0_runs_while_its_producer_waits_for_it() {
    let sch = Scheduler::new();
    let producer_q = sch.queue("producer", 1).unwrap();
    let consumer_q = sch.queue("consumer", 1).unwrap();
    let (tx, rx) = bounded::<u32>(1);
    let stream = producer_q.submit_stream((), move |(), out| {
        out.emit(10u32);
        // Wait for the consumer of item 0 to report back.
        let seen = rx.recv().map_err(|e| e.to_string())?;
        out.emit(seen + 1);
        Ok::<(), String>(())
    });
    let first = consumer_q.submit(stream.item(0), move |x: &u32| {
        tx.send(*x).expect("producer waits");
        *x
    });
    let second = consumer_q.submit(stream.item(1), |x: &u32| *x);
    sch.start();
    assert_eq!(*first.result().unwrap(), 10);
    assert_eq!(*second.result().unwrap(), 11);
    assert_eq!(stream.wait(), Ok(2));
}

#[test]
fn the_same_holds_with_one_queue_of_two_slots() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 2).unwrap();
    let (tx, rx) = bounded::<()>(1);
    let stream = q.submit_stream((), move |(), out| {
        out.emit(1u8);
        rx.recv().map_err(|e| e.to_string())?;
        out.emit(2u8);
        Ok::<(), String>(())
    });
    let c0 = q.submit(stream.item(0), move |x: &u8| {
        tx.send(()).expect("producer waits");
        *x
    });
    sch.start();
    sch.wait();
    assert_eq!(*c0.result().unwrap(), 1);
    assert_eq!(*stream.item(1).result().unwrap(), 2);
}

#[test]
fn item_promises_exist_before_the_producer_starts() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let s = q.submit_iter((), |()| vec!["a", "b", "c"]);
    let item = s.item(2);
    assert!(item.try_result().is_none());
    assert_eq!(s.produced(), 0);
    let upper = q.submit(&item, |x: &&str| x.to_uppercase());
    sch.start();
    assert_eq!(upper.result().unwrap(), "C");
    assert_eq!(*item.result().unwrap(), "c");
}

#[test]
fn an_item_past_the_end_fails_its_dependents_clearly() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let s = q.task().label("short").submit_iter((), |()| 0..2).unwrap();
    let ok = q.submit(s.item(1), |x: &i32| *x);
    let past = q
        .task()
        .label("wants-5")
        .submit(s.item(5), |x: &i32| *x)
        .unwrap();
    let after_past = q.submit(&past, |x: &i32| *x);
    sch.start();
    sch.wait();
    assert_eq!(*ok.result().unwrap(), 1);
    match past.result() {
        Err(TaskError::ItemOutOfRange {
            task,
            producer,
            item,
            produced,
        }) => {
            assert_eq!(&*task.label, "wants-5");
            assert_eq!(&*producer.label, "short");
            assert_eq!((item, produced), (5, 2));
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = past.result().unwrap_err().to_string();
    assert!(msg.contains("item 5") && msg.contains("only 2"), "{msg}");
    assert!(matches!(
        after_past.result(),
        Err(TaskError::DependencyFailed { .. })
    ));
    // A user's own handle to the missing item reports the same.
    assert!(matches!(
        s.item(7).result(),
        Err(TaskError::ItemOutOfRange { .. })
    ));
}

#[test]
fn a_declared_count_is_checked_both_ways() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let s = q.task().items(2).submit_iter((), |()| 0..3).unwrap();
    assert!(matches!(
        s.try_item(2),
        Err(SubmitError::ItemPastDeclared {
            item: 2,
            declared: 2,
            ..
        })
    ));
    let first = q.submit(s.item(0), |x: &i32| *x);
    sch.start();
    sch.wait();
    // Yielding more than declared fails the producer; items already produced stay usable.
    assert!(matches!(s.wait(), Err(TaskError::Failed { .. })));
    assert!(
        s.wait()
            .unwrap_err()
            .to_string()
            .contains("more items than the 2 declared")
    );
    assert_eq!(*first.result().unwrap(), 0);
}

#[test]
#[should_panic(expected = "past the 1 item(s) declared")]
fn item_past_a_declared_count_panics_in_the_unchecked_form() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let s = q.task().items(1).submit_iter((), |()| 0..1).unwrap();
    let _ = s.item(1);
}

#[test]
fn a_whole_stream_is_an_input_once_complete() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 2).unwrap();
    let s = q.submit_iter((), |()| (1..=100).map(f64::from));
    let mean = q.submit(&s, |xs: Vec<&f64>| {
        xs.iter().copied().sum::<f64>() / xs.len() as f64
    });
    sch.start();
    assert_eq!(*mean.result().unwrap(), 50.5);
    assert_eq!(s.results().unwrap().len(), 100);
}

#[test]
fn a_failing_producer_keeps_its_items_and_fails_the_missing_ones() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let s = q.submit_stream((), |(), out| {
        out.emit(1);
        Err("sensor unplugged")
    });
    let got = q.submit(s.item(0), |x: &i32| *x);
    let missing = q.submit(s.item(1), |x: &i32| *x);
    sch.start();
    sch.wait();
    assert_eq!(*got.result().unwrap(), 1);
    let err = missing.result().unwrap_err().to_string();
    assert!(err.contains("sensor unplugged"), "{err}");
}
