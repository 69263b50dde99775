//! Submitting tasks with options: [`TaskBuilder`], ordering-only inputs ([`Dependency`]),
//! and the [`Emitter`] of progressive producers.

use std::any::type_name;
use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;

use crate::cell::{StreamCell, StreamEnd, ValueCell};
use crate::core::{Deps, SpecOptions, TaskSpec};
use crate::error::{BodyError, Failure, SubmitError};
use crate::input::{Input, IntoInputs};
use crate::promise::{Item, Promise, Stream};
use crate::scheduler::{Queue, Shared};
use crate::task::{Dep, HoldsCell, Job, Label, Meta, RunCtx, TaskId, TaskJob, abandon};

/// Anything a task can be ordered after, or release: a [`Promise`], [`Stream`] or [`Item`],
/// also behind a `Box<dyn Dependency>`, which lets code keep "the last task" whatever its
/// result type.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use smqsched::{Dependency, Scheduler};
///
/// let sch = Scheduler::new();
/// let q = sch.queue("q", 1).unwrap();
/// let ran = Arc::new(Mutex::new(Vec::new()));
/// let mut last: Option<Box<dyn Dependency + Send>> = None;
/// for i in 0..3 {
///     let mut t = q.task();
///     if let Some(prev) = &last {
///         t = t.after_settled(prev.as_ref());
///     }
///     let ran = Arc::clone(&ran);
///     let p = t.submit((), move |()| ran.lock().unwrap().push(i)).unwrap();
///     last = Some(Box::new(p));
/// }
/// sch.start();
/// sch.wait();
/// // Each task followed the one before: submission order, not the newest first.
/// assert_eq!(*ran.lock().unwrap(), [0, 1, 2]);
/// ```
///
/// The trait is sealed, as [`Input`] is: its one method hands the scheduler an edge and the
/// id of the scheduler it belongs to, which only the crate's handles can vouch for. A type
/// of your own that wraps a handle passes the handle (`after(&wrapper.promise)`):
///
/// ```compile_fail
/// struct Mine;
/// impl smqsched::Dependency for Mine {
///     fn edge(&self) -> (smqsched::Dep, u64) {
///         unimplemented!()
///     }
/// }
/// ```
pub trait Dependency: sealed::Sealed {
    /// The edge and its scheduler's id.
    #[doc(hidden)]
    fn edge(&self) -> (Dep, u64);
}

mod sealed {
    #[allow(unreachable_pub)]
    pub trait Sealed {}

    impl<D: super::Dependency + ?Sized> Sealed for Box<D> {}
    impl<T> Sealed for crate::Promise<T> {}
    impl<T> Sealed for crate::Stream<T> {}
    impl<T> Sealed for crate::Item<T> {}
}

impl<D: Dependency + ?Sized> Dependency for Box<D> {
    fn edge(&self) -> (Dep, u64) {
        (**self).edge()
    }
}

impl<T> Dependency for Promise<T> {
    fn edge(&self) -> (Dep, u64) {
        (Dep::whole(self.id), self.cell.meta().owner.sched)
    }
}

impl<T> Dependency for Stream<T> {
    fn edge(&self) -> (Dep, u64) {
        (Dep::whole(self.id), self.cell.meta().owner.sched)
    }
}

impl<T> Dependency for Item<T> {
    fn edge(&self) -> (Dep, u64) {
        (
            Dep {
                task: self.producer,
                item: Some(self.index),
            },
            self.cell.meta().owner.sched,
        )
    }
}

/// A task with options, from [`Queue::task`]. Its `submit*` methods return a
/// [`SubmitError`] where the [`Queue`] shortcuts panic.
///
/// # Examples
///
/// Hold/release: a stage move keeps the stage's slot until the acquisition at that position
/// has run, so no other move can come between them.
///
/// ```
/// let sch = smqsched::Scheduler::new();
/// let stage = sch.queue("stage", 1).unwrap();
/// let camera = sch.queue("camera", 1).unwrap();
/// let mut images = Vec::new();
/// for x in [0.0, 1.0, 2.0] {
///     let moved = stage.task().label("move").hold().submit((), move |()| x).unwrap();
///     let image = camera
///         .task()
///         .label("acquire")
///         .releases(&moved)
///         .submit(&moved, |x: &f64| format!("image at {x}"))
///         .unwrap();
///     images.push(image);
/// }
/// sch.start();
/// assert_eq!(images[2].result().unwrap(), "image at 2");
/// ```
#[must_use = "a task builder does nothing until submitted"]
pub struct TaskBuilder<'q> {
    queue: &'q Queue,
    label: Option<Arc<str>>,
    /// The options most tasks do not use, out of line so that the builder stays small and
    /// cheap to move through a plain `submit`.
    options: Option<Box<Options>>,
}

/// The rarely used options of a [`TaskBuilder`].
#[derive(Default)]
struct Options {
    after: Vec<(Dep, u64)>,
    settled: Vec<(TaskId, u64)>,
    hold: bool,
    releases: Option<(TaskId, u64)>,
    requires: Vec<(String, u32)>,
    items: Option<usize>,
}

impl std::fmt::Debug for TaskBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskBuilder")
            .field("queue", &self.queue.name)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl<'q> TaskBuilder<'q> {
    pub(crate) fn new(queue: &'q Queue) -> Self {
        TaskBuilder {
            queue,
            label: None,
            options: None,
        }
    }

    fn options(&mut self) -> &mut Options {
        self.options.get_or_insert_with(Box::default)
    }

    /// The task's label; by default, the name of the function that defines its body.
    pub fn label(mut self, label: impl Into<Arc<str>>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// An ordering-only input: the task runs after `dep`, and receives nothing from it.
    /// Such inputs come after the value inputs in the walk order.
    pub fn after(mut self, dep: &(impl Dependency + ?Sized)) -> Self {
        self.options().after.push(dep.edge());
        self
    }

    /// An ordering-only input satisfied by any outcome: the task runs once `dep` has
    /// finished, failed or been cancelled, and does not fail with it. Use it to keep
    /// commands in order without one failure cancelling the rest.
    ///
    /// # Examples
    ///
    /// ```
    /// let sch = smqsched::Scheduler::new();
    /// let q = sch.queue("device", 1).unwrap();
    /// let configure = q.submit((), |()| -> u8 { panic!("no reply") });
    /// let read = q.task().after_settled(&configure).submit((), |()| 42).unwrap();
    /// sch.start();
    /// assert!(configure.result().is_err());
    /// assert_eq!(*read.result().unwrap(), 42);
    /// ```
    pub fn after_settled(mut self, dep: &(impl Dependency + ?Sized)) -> Self {
        let (d, sched) = dep.edge();
        self.options().settled.push((d.task, sched));
        self
    }

    /// Keep the task's slot after it finishes, until the task that
    /// [`releases`](Self::releases) it finishes. Until then its queue has one slot less.
    pub fn hold(mut self) -> Self {
        self.options().hold = true;
        self
    }

    /// Release the slot held by `held` (submitted with [`hold`](Self::hold)) when this task
    /// ends. This task runs after `held`; on the same queue it runs in the held slot.
    pub fn releases(mut self, held: &(impl Dependency + ?Sized)) -> Self {
        let (dep, sched) = held.edge();
        self.options().releases = Some((dep.task, sched));
        self
    }

    /// Require `units` of the queue's resource `resource` while running.
    pub fn requires(mut self, resource: &str, units: u32) -> Self {
        self.options().requires.push((resource.to_string(), units));
        self
    }

    /// Declare how many items a progressive producer yields; [`Stream::item`] then rejects
    /// indices past it, and yielding more fails the producer.
    pub fn items(mut self, count: usize) -> Self {
        self.options().items = Some(count);
        self
    }

    #[inline]
    fn spawn(
        self,
        deps: &mut Deps,
        mut foreign: Option<TaskId>,
        job: Arc<dyn Job>,
        label: Label,
    ) -> Result<TaskId, SubmitError> {
        let shared = &self.queue.handle.shared;
        let options = self
            .options
            .map(|o| spec_options(*o, shared.id, deps, &mut foreign));
        if let Some(input) = foreign {
            abandon(job);
            return Err(SubmitError::ForeignInput { input });
        }
        shared.submit(TaskSpec {
            queue: self.queue.index,
            label,
            deps,
            job,
            at: Some(shared.clock.stamp()),
            options,
        })
    }

    /// The new task's label for the scheduler: the one given, or the default for its body's
    /// type `B`.
    fn label_for<B>(&self) -> Label {
        match &self.label {
            Some(label) => Label::Shared(Arc::clone(label)),
            None => Label::Static(type_name::<B>()),
        }
    }

    /// What the new task's promises know: its given label and scheduler.
    fn meta(&self) -> Meta {
        Meta {
            label: self.label.clone(),
            owner: self.queue.handle.shared.owner(),
        }
    }

    /// A task of body type `B` (named by the default label) computing a value.
    fn value_task<B: 'static, I: IntoInputs, T: Send + Sync + 'static>(
        self,
        inputs: I,
        body: impl FnOnce(<I::Input as Input>::Ref<'_>) -> Result<T, Failure> + Send + 'static,
    ) -> Result<Promise<T>, SubmitError> {
        let mut deps = Deps::new();
        let mut foreign = None;
        let input =
            inputs.into_input_with_edges(&mut deps, self.queue.handle.shared.id, &mut foreign);
        let label = self.label_for::<B>();
        let task = Arc::new(TaskJob::<_, _, B>::new(
            self.meta(),
            ValueCell::<T>::new(),
            move |cell: &ValueCell<T>, _: &RunCtx<'_>| {
                // The inputs are released before the result is published, so that whoever
                // sees the result also sees the inputs' values freed if nothing else needs
                // them.
                cell.set_value(with_inputs(input, body)?);
                Ok(())
            },
        ));
        let cell: Arc<dyn HoldsCell<ValueCell<T>>> = task.clone();
        let id = self.spawn(&mut deps, foreign, task, label)?;
        Ok(Promise { cell, id })
    }

    /// A progressive task of body type `B` (named by the default label).
    fn stream_task<B: 'static, I: IntoInputs, T: Send + Sync + 'static>(
        self,
        inputs: I,
        body: impl FnOnce(<I::Input as Input>::Ref<'_>, &Emitter<T>) -> Result<(), Failure>
        + Send
        + 'static,
    ) -> Result<Stream<T>, SubmitError> {
        let mut deps = Deps::new();
        let mut foreign = None;
        let input =
            inputs.into_input_with_edges(&mut deps, self.queue.handle.shared.id, &mut foreign);
        let declared = self.options.as_ref().and_then(|o| o.items);
        let label = self.label_for::<B>();
        let task = Arc::new(TaskJob::<_, _, B>::new(
            self.meta(),
            StreamCell::<T>::new(),
            move |cell: &StreamCell<T>, ctx: &RunCtx<'_>| {
                let emitter = Emitter {
                    cell,
                    shared: ctx.shared,
                    task: ctx.task,
                    declared,
                    overflow: std::cell::Cell::new(false),
                };
                with_inputs(input, |args| body(args, &emitter))?;
                if emitter.overflow.get() {
                    return Err(Failure::Message(Arc::from(format!(
                        "produced more items than the {} declared",
                        declared.unwrap_or(0)
                    ))));
                }
                cell.finish(StreamEnd::Complete);
                Ok(())
            },
        ));
        let cell: Arc<dyn HoldsCell<StreamCell<T>>> = task.clone();
        let id = self.spawn(&mut deps, foreign, task, label)?;
        Ok(Stream { cell, id, declared })
    }

    /// Submit a task; see [`Queue::submit`].
    ///
    /// # Errors
    ///
    /// [`SubmitError`] if an input or the released task belongs to another scheduler, the
    /// scheduler has shut down, a resource is unknown or too large, or the released task
    /// holds nothing or is released already.
    pub fn submit<I, T, F>(self, inputs: I, f: F) -> Result<Promise<T>, SubmitError>
    where
        I: IntoInputs,
        T: Send + Sync + 'static,
        F: for<'a> FnOnce(<I::Input as Input>::Ref<'a>) -> T + Send + 'static,
    {
        self.value_task::<F, _, _>(inputs, move |args| Ok(f(args)))
    }

    /// Submit a task whose body may fail; see [`Queue::submit_result`].
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_result<I, T, E, F>(self, inputs: I, f: F) -> Result<Promise<T>, SubmitError>
    where
        I: IntoInputs,
        T: Send + Sync + 'static,
        E: Display,
        F: for<'a> FnOnce(<I::Input as Input>::Ref<'a>) -> Result<T, E> + Send + 'static,
    {
        self.value_task::<F, _, _>(inputs, move |args| {
            f(args).map_err(|e| Failure::Message(Arc::from(e.to_string())))
        })
    }

    /// Submit a task whose body may fail, keeping the error as a value: the task's
    /// [`TaskError::FailedWith`](crate::TaskError::FailedWith) gives it back with its type
    /// ([`TaskError::downcast_ref`](crate::TaskError::downcast_ref)), so that callers can match on it. Otherwise as
    /// [`Queue::submit_result`], whose error is kept as text only.
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    ///
    /// # Examples
    ///
    /// ```
    /// use smqsched::{Scheduler, TaskError};
    /// let sch = Scheduler::new();
    /// let q = sch.queue("parse", 1)?;
    /// let n = q.task().submit_fallible((), |()| "x1".parse::<u32>())?;
    /// sch.start();
    /// let err = n.result().unwrap_err();
    /// assert!(matches!(err, TaskError::FailedWith { .. }));
    /// assert!(err.downcast_ref::<std::num::ParseIntError>().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_fallible<I, T, E, F>(self, inputs: I, f: F) -> Result<Promise<T>, SubmitError>
    where
        I: IntoInputs,
        T: Send + Sync + 'static,
        E: std::error::Error + Send + Sync + 'static,
        F: for<'a> FnOnce(<I::Input as Input>::Ref<'a>) -> Result<T, E> + Send + 'static,
    {
        self.value_task::<F, _, _>(inputs, move |args| {
            f(args).map_err(|e| Failure::Error(BodyError::new(e)))
        })
    }

    /// Submit a progressive producer whose body returns an iterator; see
    /// [`Queue::submit_iter`].
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_iter<I, T, It, F>(self, inputs: I, f: F) -> Result<Stream<T>, SubmitError>
    where
        I: IntoInputs,
        T: Send + Sync + 'static,
        It: IntoIterator<Item = T>,
        F: for<'a> FnOnce(<I::Input as Input>::Ref<'a>) -> It + Send + 'static,
    {
        self.stream_task::<F, _, _>(inputs, move |args, emitter| {
            for item in f(args) {
                emitter.emit(item);
            }
            Ok(())
        })
    }

    /// Submit a progressive producer that hands items to an [`Emitter`]; see
    /// [`Queue::submit_stream`].
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_stream<I, T, E, F>(self, inputs: I, f: F) -> Result<Stream<T>, SubmitError>
    where
        I: IntoInputs,
        T: Send + Sync + 'static,
        E: Display,
        F: for<'a, 'e> FnOnce(<I::Input as Input>::Ref<'a>, &Emitter<'e, T>) -> Result<(), E>
            + Send
            + 'static,
    {
        self.stream_task::<F, _, _>(inputs, move |args, emitter| {
            f(args, emitter).map_err(|e| Failure::Message(Arc::from(e.to_string())))
        })
    }
}

/// Call `body` on the values of `input`, then release `input`, outside any unwinding. A
/// body that panics has its panic resumed once the inputs are dropped: dropping the last
/// handle to a result whose `Drop` panics would otherwise panic during the unwinding, which
/// aborts the process. That panic instead fails the task, as any panic of its run does.
#[inline]
fn with_inputs<In: Input, R>(input: In, body: impl FnOnce(In::Ref<'_>) -> R) -> R {
    let out = catch_unwind(AssertUnwindSafe(|| body(input.get())));
    drop(input);
    match out {
        Ok(r) => r,
        Err(payload) => resume_unwind(payload),
    }
}

/// The options of a task for the scheduler `sched`: its ordering-only inputs go to `deps`, and
/// one from another scheduler to `foreign`.
#[cold]
fn spec_options(
    o: Options,
    sched: u64,
    deps: &mut Deps,
    foreign: &mut Option<TaskId>,
) -> Box<SpecOptions> {
    for (d, s) in o.after {
        if s != sched {
            *foreign = Some(d.task);
        }
        deps.push(d);
    }
    let mut settled = Vec::with_capacity(o.settled.len());
    for (t, s) in o.settled {
        if s != sched {
            *foreign = Some(t);
        }
        settled.push(t);
    }
    if let Some((t, s)) = o.releases
        && s != sched
    {
        *foreign = Some(t);
    }
    Box::new(SpecOptions {
        settled,
        hold: o.hold,
        releases: o.releases.map(|(t, _)| t),
        requires: o.requires,
    })
}

/// Hands the items of a progressive producer to the scheduler, one at a time; see
/// [`Queue::submit_stream`].
///
/// # Examples
///
/// ```
/// let sch = smqsched::Scheduler::new();
/// let q = sch.queue("q", 2).unwrap();
/// let data = q.submit((), |()| vec![3.0, 1.0, 2.0, 0.5, 4.0]);
/// // One item per sample: is it a local minimum? Dependents of item i run as soon as it exists.
/// let minima = q.submit_stream(&data, |x: &Vec<f64>, out| {
///     out.emit(false);
///     for i in 1..x.len() - 1 {
///         out.emit(x[i] < x[i - 1] && x[i] < x[i + 1]);
///     }
///     out.emit(false);
///     Ok::<(), String>(())
/// });
/// sch.start();
/// assert_eq!(*minima.item(1).result().unwrap(), true);
/// assert_eq!(minima.wait(), Ok(5));
/// ```
pub struct Emitter<'a, T> {
    cell: &'a StreamCell<T>,
    shared: &'a Shared,
    task: TaskId,
    declared: Option<usize>,
    overflow: std::cell::Cell<bool>,
}

impl<T> std::fmt::Debug for Emitter<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter").field("task", &self.task).finish()
    }
}

impl<T> Emitter<'_, T> {
    /// Produce the next item. Its dependents become ready at once.
    ///
    /// Past a declared count the item is dropped and the producer fails when it returns.
    pub fn emit(&self, item: T) {
        if self.declared.is_some_and(|n| self.cell.len() >= n) {
            self.overflow.set(true);
            return;
        }
        let index = self.cell.push(item);
        self.shared.item_produced(self.task, index);
    }

    /// How many items were produced so far.
    pub fn produced(&self) -> usize {
        self.cell.len()
    }
}
