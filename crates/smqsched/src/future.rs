//! Awaiting results from async code, on any runtime.
//!
//! A promise, an item and a stream can be `.await`ed ([`IntoFuture`]); a stream's items
//! arrive one by one through [`Stream::items`], a [`futures_core::Stream`]. None of them
//! blocks a thread: a pending future registers its task's waker with the result cell, and
//! the worker that stores the result wakes it (the protocol is in the `once` module for
//! ordinary results, and in the `cell` module for progressive producers). A future dropped
//! before its result came (a timeout, a `select!` that took another branch) removes its
//! registration, and cancels nothing: the task runs on.
//!
//! Submitting needs no async API: `submit` never blocks, so async code calls it as it is.
//!
//! See [`ResultFuture`] for an example.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::cell::ItemState;
use crate::error::TaskError;
use crate::promise::{Item, Promise, Stream};
use crate::wakers::new_id;

/// The future of `(&promise).await`: the task's value by reference, or why there is none.
///
/// A promise, an item and a stream can be awaited on any async runtime without blocking a
/// runtime thread: a pending future registers its waker with the result cell, and the worker
/// that stores the result wakes it. A future dropped before its result came (a timeout, a
/// `select!` that took another branch) removes its registration and cancels nothing: the
/// task runs on. Submitting needs no async API: `submit` never blocks.
///
/// # Examples
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     // Any executor does; this one parks the thread between polls.
/// #     use std::sync::Arc;
/// #     use std::task::{Context, Poll, Wake, Waker};
/// #     struct Unpark(std::thread::Thread);
/// #     impl Wake for Unpark { fn wake(self: Arc<Self>) { self.0.unpark() } }
/// #     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
/// #     let mut f = std::pin::pin!(f);
/// #     loop {
/// #         match f.as_mut().poll(&mut Context::from_waker(&waker)) {
/// #             Poll::Ready(v) => return v,
/// #             Poll::Pending => std::thread::park(),
/// #         }
/// #     }
/// # }
/// let sch = smqsched::Scheduler::new();
/// let q = sch.queue("q", 1).unwrap();
/// let frame = q.submit((), |()| vec![1.0, 2.0, 3.0]);
/// let sum = q.submit(&frame, |f: &Vec<f64>| f.iter().sum::<f64>());
/// sch.start();
/// let total = block_on(async { sum.await });
/// assert_eq!(total.unwrap(), 6.0);
/// // A borrowed promise gives `&T`, with no copy and no `Clone` needed.
/// let first = block_on(async { (&frame).await.map(|f| f[0]) });
/// assert_eq!(first.unwrap(), 1.0);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct ResultFuture<'a, T> {
    promise: &'a Promise<T>,
    id: u64,
    registered: bool,
}

impl<T> std::fmt::Debug for ResultFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultFuture")
            .field("task", &self.promise.id())
            .finish()
    }
}

impl<'a, T> Future for ResultFuture<'a, T> {
    type Output = Result<&'a T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let promise: &'a Promise<T> = this.promise;
        match promise.cell.cell().poll(cx, this.id) {
            Poll::Ready(outcome) => {
                this.registered = false;
                Poll::Ready(outcome.as_ref().map_err(|e| TaskError::clone(e)))
            }
            Poll::Pending => {
                this.registered = true;
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for ResultFuture<'_, T> {
    fn drop(&mut self) {
        if self.registered {
            self.promise.cell.cell().forget(self.id);
        }
    }
}

impl<'a, T> IntoFuture for &'a Promise<T> {
    type Output = Result<&'a T, TaskError>;
    type IntoFuture = ResultFuture<'a, T>;

    /// Await the task's value by reference, without blocking a thread.
    fn into_future(self) -> Self::IntoFuture {
        ResultFuture {
            promise: self,
            id: new_id(),
            registered: false,
        }
    }
}

/// The future of `promise.await`: a copy of the task's value, or why there is none. Await
/// `&promise` instead to borrow the value without `Clone`.
#[must_use = "futures do nothing unless awaited"]
pub struct ValueFuture<T> {
    promise: Promise<T>,
    id: u64,
    registered: bool,
}

impl<T> std::fmt::Debug for ValueFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueFuture")
            .field("task", &self.promise.id())
            .finish()
    }
}

impl<T: Clone> Future for ValueFuture<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this.promise.cell.cell().poll(cx, this.id) {
            Poll::Ready(outcome) => {
                this.registered = false;
                Poll::Ready(outcome.clone().map_err(|e| TaskError::clone(&e)))
            }
            Poll::Pending => {
                this.registered = true;
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for ValueFuture<T> {
    fn drop(&mut self) {
        if self.registered {
            self.promise.cell.cell().forget(self.id);
        }
    }
}

impl<T: Clone> IntoFuture for Promise<T> {
    type Output = Result<T, TaskError>;
    type IntoFuture = ValueFuture<T>;

    /// Await a copy of the task's value, without blocking a thread.
    fn into_future(self) -> Self::IntoFuture {
        ValueFuture {
            promise: self,
            id: new_id(),
            registered: false,
        }
    }
}

/// The future of `item.await`: one item of a progressive producer, or why it will not come.
#[must_use = "futures do nothing unless awaited"]
pub struct ItemFuture<T> {
    item: Item<T>,
    id: u64,
    registered: bool,
}

impl<T> std::fmt::Debug for ItemFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemFuture")
            .field("producer", &self.item.producer())
            .field("index", &self.item.index())
            .finish()
    }
}

impl<T> Future for ItemFuture<T> {
    type Output = Result<Arc<T>, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let state = this
            .item
            .cell
            .cell()
            .poll_item(this.item.index(), cx, this.id);
        match state {
            ItemState::NotYet => {
                this.registered = true;
                Poll::Pending
            }
            state => {
                this.registered = false;
                Poll::Ready(this.item.resolve_owned(state))
            }
        }
    }
}

impl<T> Drop for ItemFuture<T> {
    fn drop(&mut self) {
        if self.registered {
            self.item.cell.cell().forget(self.id);
        }
    }
}

impl<T> IntoFuture for Item<T> {
    type Output = Result<Arc<T>, TaskError>;
    type IntoFuture = ItemFuture<T>;

    /// Await the item, shared, without blocking a thread.
    fn into_future(self) -> Self::IntoFuture {
        ItemFuture {
            item: self,
            id: new_id(),
            registered: false,
        }
    }
}

/// The future of `stream.await`: every item once the producer has completed, or its error.
#[must_use = "futures do nothing unless awaited"]
pub struct StreamFuture<T> {
    stream: Stream<T>,
    id: u64,
    registered: bool,
}

impl<T> std::fmt::Debug for StreamFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamFuture")
            .field("producer", &self.stream.id())
            .finish()
    }
}

impl<T> Future for StreamFuture<T> {
    type Output = Result<Vec<Arc<T>>, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let cell = this.stream.cell.cell();
        match cell.poll_end(cx, this.id) {
            Poll::Ready(end) => {
                this.registered = false;
                Poll::Ready(end.map(|_| cell.all().to_vec()))
            }
            Poll::Pending => {
                this.registered = true;
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for StreamFuture<T> {
    fn drop(&mut self) {
        if self.registered {
            self.stream.cell.cell().forget(self.id);
        }
    }
}

impl<T> IntoFuture for Stream<T> {
    type Output = Result<Vec<Arc<T>>, TaskError>;
    type IntoFuture = StreamFuture<T>;

    /// Await every item, once the producer has completed, without blocking a thread.
    fn into_future(self) -> Self::IntoFuture {
        StreamFuture {
            stream: self,
            id: new_id(),
            registered: false,
        }
    }
}

/// A progressive producer's items as they are produced: a [`futures_core::Stream`], from
/// [`Stream::items`].
///
/// It yields `Ok(item)` for each item in order, then ends when the producer completes; if
/// the producer fails, it yields the items produced before the failure, then `Err` once, then
/// ends.
#[must_use = "streams do nothing unless polled"]
pub struct Items<T> {
    stream: Stream<T>,
    next: usize,
    done: bool,
    id: u64,
    registered: bool,
}

impl<T> std::fmt::Debug for Items<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Items")
            .field("producer", &self.stream.id())
            .field("next", &self.next)
            .finish()
    }
}

impl<T> Items<T> {
    pub(crate) fn new(stream: Stream<T>) -> Self {
        Items {
            stream,
            next: 0,
            done: false,
            id: new_id(),
            registered: false,
        }
    }
}

impl<T> futures_core::Stream for Items<T> {
    type Item = Result<Arc<T>, TaskError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let state = this.stream.cell.cell().poll_item(this.next, cx, this.id);
        this.registered = matches!(state, ItemState::NotYet);
        match state {
            ItemState::Ready(v) => {
                this.next += 1;
                Poll::Ready(Some(Ok(v)))
            }
            ItemState::Past(_) => {
                this.done = true;
                Poll::Ready(None)
            }
            ItemState::Failed(e) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
            ItemState::NotYet => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let produced = self.stream.produced();
        let left = produced.saturating_sub(self.next);
        match self.stream.declared() {
            _ if self.done => (0, Some(0)),
            Some(n) => (left, Some(n.saturating_sub(self.next) + 1)),
            None => (left, None),
        }
    }
}

impl<T> futures_core::FusedStream for Items<T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for Items<T> {
    fn drop(&mut self) {
        if self.registered {
            self.stream.cell.cell().forget(self.id);
        }
    }
}
