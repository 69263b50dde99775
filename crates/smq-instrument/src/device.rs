//! A driver that owns a one-slot queue of a [`Scheduler`]: every command of the instrument
//! becomes a task, and the instrument's tasks never overlap.
//!
//! See the crate guide's section on devices and queues for the design.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use smqsched::{
    Dependency, Input, IntoInputs, Promise, Queue, QueueError, Scheduler, StartOrder, SubmitError,
    TaskBuilder,
};

use crate::error::InstrumentError;

/// How a device orders its commands: see [`Device::in_submission_order`].
#[derive(Default)]
struct Order {
    /// Each command follows the one submitted before it.
    in_submission_order: bool,
    /// The command submitted last, while `in_submission_order`.
    last: Option<Box<dyn Dependency + Send>>,
}

/// Submit through `submit`, after the previous command if `order` says so, and record the
/// new one as the last. The lock is held across the submission, so that commands submitted
/// from several threads are chained in one sequence.
fn submit_ordered<T: Send + Sync + 'static>(
    order: &Mutex<Order>,
    builder: TaskBuilder<'_>,
    submit: impl FnOnce(TaskBuilder<'_>) -> Result<Promise<T>, SubmitError>,
) -> Result<Promise<T>, SubmitError> {
    let mut order = order.lock().unwrap_or_else(PoisonError::into_inner);
    if !order.in_submission_order {
        return submit(builder);
    }
    let builder = match &order.last {
        Some(prev) => builder.after_settled(prev.as_ref()),
        None => builder,
    };
    let promise = submit(builder)?;
    order.last = Some(Box::new(promise.clone()));
    Ok(promise)
}

/// The driver, or why there is none.
struct State<D> {
    /// `None` after a [`Device::reopen`] whose opener failed.
    driver: Option<D>,
    /// Why the last reopen failed, while `driver` is `None`.
    closed: Option<String>,
}

/// An instrument driver `D` behind a one-slot queue of a [`Scheduler`].
///
/// Every command runs as a task on the device's queue, named after the device, so the
/// commands of one instrument are serialized in the scheduler's order while processing and
/// the other instruments proceed in parallel on their own queues. Each submission returns a
/// [`Promise`] at once.
///
/// * A command that fails fails only its own promise, with
///   [`TaskError::FailedWith`](smqsched::TaskError::FailedWith) holding the
///   [`InstrumentError`] (the task's label is `device.command`; the error names the device
///   and the command sent): [`InstrumentError::of`] gives it back, to match on its
///   [`kind`](InstrumentError::kind). Tasks that depend on it fail without running; the
///   other devices carry on.
/// * A driver built on a [`Connection`](crate::Connection) opened from an address recovers
///   by itself: after a timeout or a lost link, its next command sends a device clear, or
///   opens the link again first (see [`Connection`](crate::Connection)).
///   [`reopen`](Self::reopen) replaces the driver explicitly.
/// * Commands run in the **scheduler's order**, not in the order of submission: among the
///   commands that are ready, the newest first (that is what lets final results arrive
///   early). A command that must follow another one, such as a reading after a
///   configuration or a move after the homing, takes it as an input
///   ([`submit_with`](Self::submit_with)), runs [`after`](DeviceTask::after) it, or is
///   submitted once it is done. [`after_settled`](DeviceTask::after_settled) orders a
///   command after another whatever that one's outcome, so a chain of commands keeps its
///   order without one failure cancelling the rest; a device
///   [in submission order](Self::in_submission_order) does that for every command. A
///   device created with [`new_ordered`](Self::new_ordered) and
///   [`StartOrder::Submission`] gets the order from its queue instead: its commands start
///   in the order they were submitted, with no chain.
/// * The driver lives in an `Arc<Mutex<D>>` shared by the tasks; as the queue has one slot
///   the lock is never contended. A panicking command fails its promise and leaves the
///   driver usable.
///
/// # Examples
///
/// ```
/// use smq_instrument::{Connection, Device};
/// use smq_instrument::smqsched::Scheduler;
/// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
/// # let addr = sim.tcp_addr();
///
/// let sch = Scheduler::new();
/// let dmm = Device::new(&sch, "dmm", Connection::tcp("dmm", addr)?)?;
/// let compute = sch.queue("compute", 2)?;
///
/// let readings: Vec<_> = (0..5)
///     .map(|_| dmm.submit("read", |c: &mut Connection| c.query_parse::<f64>("READ?")))
///     .collect();
/// let mean = compute.submit(&readings, |v: Vec<&f64>| v.iter().copied().sum::<f64>() / 5.0);
/// sch.start();
/// assert!(mean.result()?.is_finite());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Device<D> {
    name: Arc<str>,
    queue: Queue,
    state: Arc<Mutex<State<D>>>,
    order: Arc<Mutex<Order>>,
    /// The start order of its queue.
    start_order: StartOrder,
}

impl<D> Clone for Device<D> {
    fn clone(&self) -> Self {
        Self {
            name: Arc::clone(&self.name),
            queue: self.queue.clone(),
            state: Arc::clone(&self.state),
            order: Arc::clone(&self.order),
            start_order: self.start_order,
        }
    }
}

impl<D> std::fmt::Debug for Device<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn lock<D>(state: &Mutex<State<D>>) -> MutexGuard<'_, State<D>> {
    // A command that panicked leaves the driver as it was; keep using it.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Run `f` on the driver of `state`.
fn run<D, T>(
    state: &Mutex<State<D>>,
    device: &str,
    command: &str,
    f: impl FnOnce(&mut D) -> Result<T, InstrumentError>,
) -> Result<T, InstrumentError> {
    let mut st = lock(state);
    match st.driver.as_mut() {
        Some(driver) => f(driver),
        None => Err(not_open(
            device,
            command,
            st.closed.as_deref().unwrap_or("never opened"),
        )),
    }
}

/// The error of a command sent to a device whose last reopen failed.
fn not_open(device: &str, command: &str, why: &str) -> InstrumentError {
    InstrumentError::Io {
        device: device.to_owned(),
        command: command.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            format!("not sent: the device is not open ({why}); reopen it"),
        ),
    }
}

impl<D: Send + 'static> Device<D> {
    /// Create the device's queue (one slot, named `name`) in `scheduler` and put `driver`
    /// behind it.
    ///
    /// # Errors
    ///
    /// [`QueueError`] if `scheduler` already has a queue named `name`, or has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::Device;
    /// let sch = smq_instrument::smqsched::Scheduler::new();
    /// let stage = Device::new(&sch, "stage", 0.0_f64)?; // any `Send` driver
    /// assert_eq!(stage.queue().name(), "stage");
    /// assert!(Device::new(&sch, "stage", 1.0_f64).is_err());
    /// # Ok::<(), smq_instrument::smqsched::QueueError>(())
    /// ```
    pub fn new(scheduler: &Scheduler, name: &str, driver: D) -> Result<Self, QueueError> {
        Self::new_ordered(scheduler, name, driver, StartOrder::NewestFirst)
    }

    /// As [`new`](Self::new), with a queue that starts its commands in `order`.
    /// [`StartOrder::Submission`] is the mode of an instrument in an experiment plan: its
    /// commands start in the order they were submitted (the stage goes to 0, 1, 2...),
    /// while processing on other queues keeps the newest first, and the work a command
    /// waits for on other queues is pulled before newer work
    /// ([`Scheduler::queue_ordered`]). Unlike
    /// [`in_submission_order`](Self::in_submission_order), which chains each command to
    /// the previous one by hand, this is the queue's own rule: no edges are added, a
    /// cancelled command or one whose input failed simply leaves the order, and a command
    /// still waits for its inputs.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::Device;
    /// use smq_instrument::smqsched::{Scheduler, StartOrder};
    ///
    /// let sch = Scheduler::new();
    /// let stage = Device::new_ordered(&sch, "stage", Vec::new(), StartOrder::Submission)?;
    /// for x in 0..4 {
    ///     stage.submit("move", move |moves: &mut Vec<i32>| { moves.push(x); Ok(()) });
    /// }
    /// sch.start();
    /// sch.wait();
    /// let moves = stage.submit("moves", |moves: &mut Vec<i32>| Ok(moves.clone()));
    /// assert_eq!(*moves.result()?, [0, 1, 2, 3]);
    /// assert_eq!(stage.start_order(), StartOrder::Submission);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new_ordered(
        scheduler: &Scheduler,
        name: &str,
        driver: D,
        order: StartOrder,
    ) -> Result<Self, QueueError> {
        let queue = scheduler.queue_ordered(name, 1, order)?;
        Ok(Self {
            name: Arc::from(name),
            queue,
            state: Arc::new(Mutex::new(State {
                driver: Some(driver),
                closed: None,
            })),
            order: Arc::default(),
            start_order: order,
        })
    }

    /// The order in which the device's queue starts its commands (see
    /// [`new_ordered`](Self::new_ordered)).
    pub fn start_order(&self) -> StartOrder {
        self.start_order
    }

    /// Run this device's commands in the order they are submitted, from now on: each
    /// command (and [`reopen`](Self::reopen)) waits until the one submitted before it has
    /// ended, whatever its outcome, as with [`after_settled`](DeviceTask::after_settled). A
    /// failed command fails only its own promise; the next one still runs. The setting is
    /// shared by every clone of the device.
    ///
    /// By default a device's ready commands run newest first, which is what lets the
    /// latest results arrive early. In submission order, a script written as a sequence of
    /// steps (configure, then trigger, then read) behaves as it reads, without passing
    /// promises between commands. Commands still take inputs, and wait for them too.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::Device;
    /// let sch = smq_instrument::smqsched::Scheduler::new();
    /// let log = Device::new(&sch, "log", Vec::new())?.in_submission_order();
    /// for step in ["configure", "trigger", "read"] {
    ///     log.submit(step, move |l: &mut Vec<&str>| { l.push(step); Ok(()) });
    /// }
    /// let steps = log.submit("steps", |l: &mut Vec<&str>| Ok(l.clone()));
    /// sch.start();
    /// assert_eq!(*steps.result()?, ["configure", "trigger", "read"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn in_submission_order(self) -> Self {
        self.order
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .in_submission_order = true;
        self
    }

    /// Whether the device runs its commands [in submission order](Self::in_submission_order).
    pub fn is_in_submission_order(&self) -> bool {
        self.order
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .in_submission_order
    }

    /// The device's name, which is also its queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The device's one-slot queue.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Submit the command `command` (a short name, used in the task's label
    /// `device.command` and in error messages): `f` gets the driver when the command's turn
    /// on the device's queue comes.
    ///
    /// # Panics
    ///
    /// If the scheduler has shut down; see [`task`](Self::task) for the checked form.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::Device;
    /// let sch = smq_instrument::smqsched::Scheduler::new();
    /// let counter = Device::new(&sch, "counter", 0_u32).unwrap();
    /// let p: Vec<_> = (0..3)
    ///     .map(|_| counter.submit("count", |n: &mut u32| { *n += 1; Ok(*n) }))
    ///     .collect();
    /// sch.start();
    /// // Ready together, the newest command ran first.
    /// assert_eq!(*p[2].result().unwrap(), 1);
    /// assert_eq!(*p[0].result().unwrap(), 3);
    /// assert_eq!(p[2].label(), "counter.count");
    /// ```
    pub fn submit<T, F>(&self, command: &str, f: F) -> Promise<T>
    where
        T: Send + Sync + 'static,
        F: FnOnce(&mut D) -> Result<T, InstrumentError> + Send + 'static,
    {
        self.submit_with(command, (), move |d, ()| f(d))
    }

    /// Submit a command that takes the results of other tasks as inputs (anything the
    /// scheduler accepts: promises, vectors of them, tuples, ...); `f` gets the driver and the
    /// inputs by reference.
    ///
    /// # Panics
    ///
    /// If an input belongs to another scheduler or the scheduler has shut down; see
    /// [`task`](Self::task) for the checked form.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::Device;
    /// let sch = smq_instrument::smqsched::Scheduler::new();
    /// let compute = sch.queue("compute", 1).unwrap();
    /// let stage = Device::new(&sch, "stage", 0.0_f64).unwrap();
    /// let target = compute.submit((), |()| 2.5);
    /// let reached = stage.submit_with("move", &target, |x: &mut f64, t: &f64| {
    ///     *x = *t;
    ///     Ok(*x)
    /// });
    /// sch.start();
    /// assert_eq!(*reached.result().unwrap(), 2.5);
    /// ```
    pub fn submit_with<I, T, F>(&self, command: &str, inputs: I, f: F) -> Promise<T>
    where
        I: IntoInputs,
        T: Send + Sync + 'static,
        F: for<'a> FnOnce(&mut D, <I::Input as Input>::Ref<'a>) -> Result<T, InstrumentError>
            + Send
            + 'static,
    {
        match self.task(command).submit_with(inputs, f) {
            Ok(p) => p,
            Err(e) => panic!("{}: cannot submit {command:?}: {e}", self.name),
        }
    }

    /// A command with scheduling options: ordering-only inputs
    /// ([`after`](DeviceTask::after)), keeping the device's slot until another task ends
    /// ([`hold`](DeviceTask::hold) / [`releases`](DeviceTask::releases)).
    ///
    /// # Examples
    ///
    /// A move that keeps the stage for the acquisition made at its position: no other
    /// command of the stage can run between them.
    ///
    /// ```
    /// use smq_instrument::Device;
    /// let sch = smq_instrument::smqsched::Scheduler::new();
    /// let stage = Device::new(&sch, "stage", 0.0_f64).unwrap();
    /// let camera = Device::new(&sch, "camera", ()).unwrap();
    /// let mut images = Vec::new();
    /// for x in [0.0, 1.0, 2.0] {
    ///     let moved = stage
    ///         .task("move")
    ///         .hold()
    ///         .submit(move |s: &mut f64| { *s = x; Ok(x) })
    ///         .unwrap();
    ///     let image = camera
    ///         .task("acquire")
    ///         .releases(&moved)
    ///         .submit_with(&moved, |_: &mut (), x: &f64| Ok(format!("image at {x}")))
    ///         .unwrap();
    ///     images.push(image);
    /// }
    /// sch.start();
    /// assert_eq!(images[1].result().unwrap(), "image at 1");
    /// ```
    pub fn task(&self, command: &str) -> DeviceTask<'_, D> {
        DeviceTask {
            device: self,
            command: Arc::from(command),
            builder: self.queue.task().label(format!("{}.{command}", self.name)),
        }
    }

    /// Replace the driver by the one `open` returns, as a task on the device's queue (so it
    /// runs between commands, never during one). The old driver is dropped first, closing
    /// its port, so `open` may reopen the same exclusive port. A failed reopen leaves the
    /// device without driver: the commands after it fail at once (with an error of kind
    /// [`Disconnected`](crate::ErrorKind::Disconnected)) until the next successful reopen.
    ///
    /// Like any command, the reopen runs in the scheduler's order: commands meant for the
    /// new driver are submitted once it is done, or run [`after`](DeviceTask::after) it.
    ///
    /// # Panics
    ///
    /// If the scheduler has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::{Connection, Device};
    /// use smq_sim::{DmmModel, SimInstrument};
    /// let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    /// let addr = sim.tcp_addr();
    /// let sch = smq_instrument::smqsched::Scheduler::new();
    /// let dmm = Device::new(&sch, "dmm", Connection::tcp("dmm", addr)?)?;
    /// sch.start();
    ///
    /// // A longer timeout for a slow measurement, on a fresh link.
    /// dmm.reopen(move || {
    ///     Ok(Connection::tcp("dmm", addr)?.with_timeout(std::time::Duration::from_secs(10)))
    /// })
    /// .result()?;
    /// let v = dmm.submit("read", |c: &mut Connection| c.query_parse::<f64>("READ?"));
    /// assert!(v.result()?.is_finite());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reopen<F>(&self, open: F) -> Promise<()>
    where
        F: FnOnce() -> Result<D, InstrumentError> + Send + 'static,
    {
        let state = Arc::clone(&self.state);
        let label = format!("{}.reopen", self.name);
        let builder = self.queue.task().label(label);
        let submitted = submit_ordered(&self.order, builder, |b| {
            b.submit_fallible((), move |()| {
                let mut st = lock(&state);
                st.driver = None;
                match open() {
                    Ok(driver) => {
                        st.driver = Some(driver);
                        st.closed = None;
                        Ok(())
                    }
                    Err(e) => {
                        st.closed = Some(format!("reopen failed: {e}"));
                        Err(e)
                    }
                }
            })
        });
        match submitted {
            Ok(p) => p,
            Err(e) => panic!("{}: cannot submit reopen: {e}", self.name),
        }
    }
}

/// A command of a [`Device`] with scheduling options, from [`Device::task`].
#[must_use = "a device task does nothing until submitted"]
pub struct DeviceTask<'d, D> {
    device: &'d Device<D>,
    command: Arc<str>,
    builder: TaskBuilder<'d>,
}

impl<D> std::fmt::Debug for DeviceTask<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceTask")
            .field("device", &self.device.name)
            .field("command", &self.command)
            .finish_non_exhaustive()
    }
}

impl<D: Send + 'static> DeviceTask<'_, D> {
    /// Replace the task's label (by default `device.command`); error messages keep the
    /// command name.
    pub fn label(mut self, label: &str) -> Self {
        self.builder = self.builder.label(label);
        self
    }

    /// Run after `dep` without receiving its value (e.g. a reading that must follow a move
    /// on another device).
    pub fn after(mut self, dep: &(impl Dependency + ?Sized)) -> Self {
        self.builder = self.builder.after(dep);
        self
    }

    /// Run after `dep` has ended, whatever its outcome: the command neither receives `dep`'s
    /// value nor fails with it. Chaining each command to the previous one this way keeps a
    /// device's commands in submission order.
    pub fn after_settled(mut self, dep: &(impl Dependency + ?Sized)) -> Self {
        self.builder = self.builder.after_settled(dep);
        self
    }

    /// Keep the device's slot after the command ends, until the task that
    /// [`releases`](Self::releases) it ends: no other command of this device runs between.
    pub fn hold(mut self) -> Self {
        self.builder = self.builder.hold();
        self
    }

    /// Release the slot held by `held` (a task submitted with [`hold`](Self::hold), on any
    /// queue) when this command ends. This command runs after `held`.
    pub fn releases(mut self, held: &(impl Dependency + ?Sized)) -> Self {
        self.builder = self.builder.releases(held);
        self
    }

    /// Submit the command; see [`Device::submit`].
    ///
    /// # Errors
    ///
    /// [`SubmitError`] if a dependency belongs to another scheduler, the released task
    /// holds nothing or is released already, or the scheduler has shut down.
    pub fn submit<T, F>(self, f: F) -> Result<Promise<T>, SubmitError>
    where
        T: Send + Sync + 'static,
        F: FnOnce(&mut D) -> Result<T, InstrumentError> + Send + 'static,
    {
        self.submit_with((), move |d, ()| f(d))
    }

    /// Submit the command with inputs; see [`Device::submit_with`].
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_with<I, T, F>(self, inputs: I, f: F) -> Result<Promise<T>, SubmitError>
    where
        I: IntoInputs,
        T: Send + Sync + 'static,
        F: for<'a> FnOnce(&mut D, <I::Input as Input>::Ref<'a>) -> Result<T, InstrumentError>
            + Send
            + 'static,
    {
        let state = Arc::clone(&self.device.state);
        let name = Arc::clone(&self.device.name);
        let command = self.command;
        submit_ordered(&self.device.order, self.builder, |b| {
            b.submit_fallible(inputs, move |args| {
                run(&state, &name, &command, move |d| f(d, args))
            })
        })
    }
}
