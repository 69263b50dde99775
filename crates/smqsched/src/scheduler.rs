//! The public handles: [`Scheduler`] and [`Queue`], and the worker threads behind them.
//!
//! # Threads and locks
//!
//! Each queue slot is one worker thread that receives jobs from its queue's channel. The
//! scheduler's state ([`Core`]) sits behind one mutex. The life of a task:
//! 1. `submit` builds the job (inputs + body + result cell, one allocation shared with the
//!    promise) and reads the clock without the lock, then under the lock records the task and
//!    runs the decision procedure, which may start it at once.
//! 2. Starting a task takes a slot and queues its job in the core's outbox, under the lock.
//!    After unlocking, the caller sends the queued jobs to their queues' channels; a worker
//!    that just finished a task keeps the first job of its own queue and runs it next,
//!    without a channel round trip.
//! 3. A worker runs the job without the lock. The body writes its value into the result cell;
//!    a progressive body stores each item in its cell and then, under the lock, makes the
//!    item's dependents ready and runs the decision procedure.
//! 4. The worker writes a failure (returned error or caught panic) into the cell, reads the
//!    clock, then under the lock marks the task finished, frees or holds its slot, makes
//!    dependents ready or fails them, and runs the decision procedure.
//!
//! Correctness requires that a result is stored in its cell (step 3) before the task is
//! marked finished (step 4): dependents are started only after that, so they always find
//! their inputs. Nothing is dropped under the lock: jobs abandoned there are discarded (their
//! bodies and captured inputs dropped) after unlocking, so `Drop` impls and task bodies may
//! call back into the scheduler.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use parking_lot::RwLock;
use smallvec::SmallVec;

use crate::builder::{Emitter, TaskBuilder};
use crate::core::{Core, TaskSpec};
use crate::error::{CancelError, QueueError, SubmitError, TaskError, Timeout};
use crate::event::{Event, QueueSnapshot, Snapshot, StartOrder, TaskState};
use crate::input::{Input, IntoInputs};
use crate::loom::sync::{Condvar, Mutex, MutexGuard};
use crate::promise::{Owner, Promise, Stream};
use crate::task::{Job, Msg, RunCtx, TaskId, abandon, panic_message};

/// The most slots one queue may have: each slot is a thread.
pub const MAX_SLOTS: usize = 1024;

static NEXT_SCHEDULER: AtomicU64 = AtomicU64::new(1);

/// Every live scheduler by id, for the promises, which keep only the id (see `Owner`).
/// Entries are added by `Scheduler::new` and removed when the scheduler's state is dropped.
static SCHEDULERS: parking_lot::Mutex<BTreeMap<u64, Weak<Shared>>> =
    parking_lot::Mutex::new(BTreeMap::new());

pub(crate) struct Shared {
    pub(crate) id: u64,
    core: Mutex<Core>,
    /// The core's clock, for reading it outside the lock.
    pub(crate) clock: crate::core::Clock,
    /// Notified when no task is unfinished or none is running.
    idle: Condvar,
    /// Each queue's job channel, by queue index; written only when a queue is added.
    senders: RwLock<Vec<Sender<Msg>>>,
    threads: parking_lot::Mutex<Vec<JoinHandle<()>>>,
}

/// A job a worker takes for itself instead of through its channel.
type Stolen = (TaskId, Arc<dyn Job>);

impl Shared {
    /// Run `f` under the lock; afterwards, outside the lock, send what `f` started to the
    /// workers (keeping the first job of queue `steal_for` for the caller), drop what `f`
    /// abandoned, and wake waiters if warranted.
    fn with_steal<R>(
        &self,
        steal_for: Option<u32>,
        f: impl FnOnce(&mut Core) -> R,
    ) -> (R, Option<Stolen>) {
        let mut core = self.core.lock();
        let r = f(&mut core);
        let stolen = self.unlock(core, steal_for);
        (r, stolen)
    }

    /// Record a task and run the decision procedure; see [`Core::add_task`].
    #[inline]
    pub(crate) fn submit(&self, spec: TaskSpec<'_>) -> Result<TaskId, SubmitError> {
        let mut core = self.core.lock();
        let added = core.add_task(spec);
        if added.is_ok() && core.running {
            core.schedule();
        }
        self.unlock(core, None);
        added.map_err(|(e, job)| {
            abandon(job);
            e
        })
    }

    /// Unlock `core`; then, outside the lock, send what was started to the workers (keeping
    /// the first job of queue `steal_for` for the caller), drop what was abandoned, and wake
    /// waiters if warranted.
    #[inline]
    fn unlock(&self, mut core: MutexGuard<'_, Core>, steal_for: Option<u32>) -> Option<Stolen> {
        // Waiters are woken if a count they wait on dropped to zero and still is zero: a
        // completion whose decision started the next task does not wake them for nothing.
        let wake = std::mem::take(&mut core.wake) && (core.in_flight == 0 || core.unfinished == 0);
        // The common cases, with nothing to drop or wake: nothing started (a submission while
        // stopped), or one task started on the caller's own queue (a worker's completion).
        if core.graveyard.is_empty() && !wake {
            match core.outbox.as_slice() {
                [] => return None,
                [(q, Msg::Run { .. })] if Some(*q) == steal_for => {
                    let stolen = match core.outbox.pop() {
                        Some((_, Msg::Run { task, job })) => Some((task, job)),
                        _ => None,
                    };
                    drop(core);
                    return stolen;
                }
                _ => {}
            }
        }
        self.unlock_and_deliver(core, steal_for, wake)
    }

    /// [`unlock`](Self::unlock) in general.
    #[cold]
    fn unlock_and_deliver(
        &self,
        mut core: MutexGuard<'_, Core>,
        steal_for: Option<u32>,
        wake: bool,
    ) -> Option<Stolen> {
        let dead = std::mem::take(&mut core.graveyard);
        let mut stolen = None;
        // The common case of a worker: the decision started one task, on its own queue.
        if let [(q, Msg::Run { .. })] = core.outbox.as_slice()
            && Some(*q) == steal_for
            && let Some((_, Msg::Run { task, job })) = core.outbox.pop()
        {
            stolen = Some((task, job));
        }
        // Moved to the stack, so that the outbox keeps its capacity: no allocation per task.
        let outbox: SmallVec<[(u32, Msg); 4]> = match core.outbox.len() {
            0 => SmallVec::new(),
            1 => core.outbox.pop().into_iter().collect(),
            _ => core.outbox.drain(..).collect(),
        };
        drop(core);
        // Read-locked only when a message is sent: a worker that takes its next job itself
        // does not touch the lock's shared counter, which the other workers also write.
        let mut senders = None;
        for (q, msg) in outbox {
            match msg {
                Msg::Run { task, job } if stolen.is_none() && Some(q) == steal_for => {
                    stolen = Some((task, job));
                }
                msg => {
                    let senders = senders.get_or_insert_with(|| self.senders.read());
                    // A queue's workers outlive its channel's use: they exit only on
                    // `Msg::Exit`, which comes last.
                    let _ = senders[q as usize].send(msg);
                }
            }
        }
        drop(senders);
        for job in dead {
            abandon(job);
        }
        if wake {
            self.idle.notify_all();
        }
        stolen
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Core) -> R) -> R {
        self.with_steal(None, f).0
    }

    pub(crate) fn cancel(&self, id: TaskId) -> Result<usize, CancelError> {
        self.with(|c| c.cancel(id))
    }

    pub(crate) fn task_state(&self, id: TaskId) -> Option<TaskState> {
        self.core.lock().task_state(id)
    }

    /// The id and label of task `id`, for its error.
    pub(crate) fn task_ref(&self, id: TaskId) -> crate::error::TaskRef {
        self.core.lock().task_ref_of(id)
    }

    pub(crate) fn item_produced(&self, task: TaskId, index: usize) {
        self.with(|c| c.item_produced(task, index));
    }

    pub(crate) fn owner(&self) -> Owner {
        Owner { sched: self.id }
    }

    /// The live scheduler of id `id`, if any.
    pub(crate) fn find(id: u64) -> Option<Arc<Shared>> {
        SCHEDULERS.lock().get(&id).and_then(Weak::upgrade)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        SCHEDULERS.lock().remove(&self.id);
    }
}

#[cfg(all(test, loom))]
mod loom_tests;

/// A worker: one slot of queue `queue`. After each task it takes the next job the decision
/// started on its own queue directly, without a channel round trip.
fn worker(shared: Arc<Shared>, rx: Receiver<Msg>, queue: u32) {
    let mut next: Option<Stolen> = None;
    loop {
        let (task, job) = match next.take() {
            Some(j) => j,
            None => match rx.recv() {
                Ok(Msg::Run { task, job }) => (task, job),
                Ok(Msg::Exit) | Err(_) => return,
            },
        };
        next = shared.run_job(queue, task, job);
    }
}

impl Shared {
    /// Run the job of `task`, started on `queue`, on this thread, and record its end; returns
    /// the next job the decision started on `queue`, for this thread to run next.
    fn run_job(self: &Arc<Self>, queue: u32, task: TaskId, job: Arc<dyn Job>) -> Option<Stolen> {
        let ctx = RunCtx { shared: self, task };
        let mut outcome = job.run(&ctx);
        // The worker's reference goes first: a result nobody holds is freed now. If its
        // `Drop` panics, that is the task's failure, reported with its end (a task whose body
        // failed has no value to drop, so it fails once).
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(job))) {
            outcome = outcome.and(Err(Box::new(TaskError::Panicked {
                task: self.task_ref(task),
                message: Arc::from(format!(
                    "{} (in the `Drop` of its result)",
                    panic_message(&*payload)
                )),
            })));
        }
        let now = self.clock.stamp();
        self.with_steal(Some(queue), |core| core.complete_at(task, outcome, now))
            .1
    }
}

/// Keeps the scheduler alive; the last one dropped shuts it down.
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.with(Core::shut_down);
    }
}

/// A scheduler: runs tasks from several [`Queue`]s over a DAG, newest results first.
///
/// A new scheduler is stopped: submit tasks, then [`start`](Self::start) it. Handles are
/// cheap to clone and can be sent to other threads. When the last handle (scheduler or
/// queue) is dropped, the scheduler shuts down: tasks not yet started fail with
/// [`TaskError::Shutdown`](crate::TaskError::Shutdown), running ones finish.
///
/// # Examples
///
/// ```
/// use smqsched::Scheduler;
///
/// let sch = Scheduler::new();
/// let acquire = sch.queue("camera", 1).unwrap();
/// let compute = sch.queue("compute", 2).unwrap();
///
/// let frames: Vec<_> = (0..4).map(|i| acquire.submit((), move |()| vec![i as f64; 8])).collect();
/// let sums: Vec<_> = frames
///     .iter()
///     .map(|f| compute.submit(f, |f: &Vec<f64>| f.iter().sum::<f64>()))
///     .collect();
///
/// sch.start();
/// sch.wait();
/// assert_eq!(*sums[3].result().unwrap(), 24.0);
/// ```
#[derive(Clone)]
pub struct Scheduler {
    handle: Arc<Handle>,
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("id", &self.handle.shared.id)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A new, stopped scheduler with no queues.
    pub fn new() -> Self {
        let core = Core::new();
        let shared = Arc::new(Shared {
            id: NEXT_SCHEDULER.fetch_add(1, Ordering::Relaxed),
            clock: core.clock().clone(),
            core: Mutex::new(core),
            idle: Condvar::new(),
            senders: RwLock::new(Vec::new()),
            threads: parking_lot::Mutex::new(Vec::new()),
        });
        SCHEDULERS.lock().insert(shared.id, Arc::downgrade(&shared));
        Scheduler {
            handle: Arc::new(Handle { shared }),
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// A new queue of `slots` slots (one worker thread each).
    ///
    /// # Errors
    ///
    /// [`QueueError::ZeroSlots`], [`QueueError::TooManySlots`] (over [`MAX_SLOTS`]),
    /// [`QueueError::DuplicateName`], [`QueueError::Shutdown`], or
    /// [`QueueError::Spawn`] if the system refuses a thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use smqsched::{QueueError, Scheduler};
    ///
    /// let sch = Scheduler::new();
    /// assert!(sch.queue("stage", 1).is_ok());
    /// assert!(matches!(sch.queue("empty", 0), Err(QueueError::ZeroSlots { .. })));
    /// assert!(matches!(sch.queue("stage", 1), Err(QueueError::DuplicateName { .. })));
    /// ```
    pub fn queue(&self, name: &str, slots: usize) -> Result<Queue, QueueError> {
        self.queue_with_resources(name, slots, &[])
    }

    /// A new queue with named, counted resources that its tasks may
    /// [require](TaskBuilder::requires) beside a slot.
    ///
    /// # Examples
    ///
    /// ```
    /// let sch = smqsched::Scheduler::new();
    /// // Four compute slots, but only one task at a time may use the GPU-sized buffer.
    /// let q = sch.queue_with_resources("compute", 4, &[("big-buffer", 1)]).unwrap();
    /// let p = q.task().requires("big-buffer", 1).submit((), |()| 1).unwrap();
    /// sch.start();
    /// assert_eq!(*p.result().unwrap(), 1);
    /// ```
    pub fn queue_with_resources(
        &self,
        name: &str,
        slots: usize,
        resources: &[(&str, u32)],
    ) -> Result<Queue, QueueError> {
        self.queue_in_full(name, slots, resources, StartOrder::NewestFirst)
    }

    /// A new queue of `slots` slots that starts its ready tasks in `order`.
    /// [`StartOrder::NewestFirst`] is what [`queue`](Self::queue) creates;
    /// [`StartOrder::Submission`] starts the queue's tasks in the order they were submitted
    /// to it, as an instrument whose operator expects the plan's order needs (the stage goes
    /// to 0, 1, 2...), while every other queue keeps the newest first. The work a task of
    /// the queue waits for, on other queues, is pulled before newer work: the walk of the
    /// order rule goes down the queue's not-started tasks to the oldest first. See the crate
    /// docs ("The order rule") and [`StartOrder`].
    ///
    /// # Errors
    ///
    /// As [`queue`](Self::queue).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use smqsched::{Scheduler, StartOrder};
    ///
    /// let sch = Scheduler::new();
    /// let stage = sch.queue_ordered("stage", 1, StartOrder::Submission).unwrap();
    /// let moves = Arc::new(Mutex::new(Vec::new()));
    /// for position in 0..5 {
    ///     let moves = Arc::clone(&moves);
    ///     stage.submit((), move |()| moves.lock().unwrap().push(position));
    /// }
    /// sch.start();
    /// sch.wait();
    /// assert_eq!(*moves.lock().unwrap(), [0, 1, 2, 3, 4]);
    /// ```
    pub fn queue_ordered(
        &self,
        name: &str,
        slots: usize,
        order: StartOrder,
    ) -> Result<Queue, QueueError> {
        self.queue_in_full(name, slots, &[], order)
    }

    /// [`queue_with_resources`](Self::queue_with_resources) in `order`.
    fn queue_in_full(
        &self,
        name: &str,
        slots: usize,
        resources: &[(&str, u32)],
        order: StartOrder,
    ) -> Result<Queue, QueueError> {
        if slots == 0 {
            return Err(QueueError::ZeroSlots { name: name.into() });
        }
        if slots > MAX_SLOTS {
            return Err(QueueError::TooManySlots {
                name: name.into(),
                slots,
                max: MAX_SLOTS,
            });
        }
        let (queue, rx) = self.add_queue_ordered(name, slots, resources, order)?;
        let shared = self.shared();
        let mut threads = shared.threads.lock();
        for i in 0..slots {
            let (s, r) = (Arc::clone(shared), rx.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("smq-{name}-{i}"))
                .spawn(move || worker(s, r, queue.index));
            match spawned {
                Ok(h) => threads.push(h),
                Err(e) => {
                    return Err(QueueError::Spawn {
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(queue)
    }

    /// Record a new queue and its job channel, whose receiving end the caller gives to the
    /// queue's workers.
    #[cfg(all(test, loom))]
    fn add_queue(
        &self,
        name: &str,
        slots: usize,
        resources: &[(&str, u32)],
    ) -> Result<(Queue, Receiver<Msg>), QueueError> {
        self.add_queue_ordered(name, slots, resources, StartOrder::NewestFirst)
    }

    /// [`add_queue`](Self::add_queue) in `order`.
    fn add_queue_ordered(
        &self,
        name: &str,
        slots: usize,
        resources: &[(&str, u32)],
        order: StartOrder,
    ) -> Result<(Queue, Receiver<Msg>), QueueError> {
        let shared = self.shared();
        let (tx, rx) = unbounded();
        let name: Arc<str> = Arc::from(name);
        let index = shared.with(|core| {
            if core.shutdown {
                return Err(QueueError::Shutdown);
            }
            if core.queue_named(&name).is_some() {
                return Err(QueueError::DuplicateName {
                    name: name.to_string(),
                });
            }
            let res = resources.iter().map(|&(n, c)| (n.to_string(), c)).collect();
            shared.senders.write().push(tx);
            Ok(core.add_queue(Arc::clone(&name), slots as u32, res, order))
        })?;
        let queue = Queue {
            handle: Arc::clone(&self.handle),
            index,
            name,
        };
        Ok((queue, rx))
    }

    /// Start, or resume after [`stop`](Self::stop). Nothing finished runs again.
    pub fn start(&self) {
        self.shared().with(|c| c.set_running(true));
    }

    /// Start no new task. Running tasks finish and their results are kept; submitting is
    /// still allowed. See [`wait_drained`](Self::wait_drained).
    ///
    /// # Examples
    ///
    /// ```
    /// let sch = smqsched::Scheduler::new();
    /// let q = sch.queue("q", 1).unwrap();
    /// let a = q.submit((), |()| 1);
    /// sch.start();
    /// sch.wait();
    /// sch.stop();
    /// let b = q.submit(&a, |a| a + 1); // accepted, but not started while stopped
    /// sch.wait_drained();
    /// assert!(b.try_result().is_none());
    /// sch.start();
    /// assert_eq!(*b.result().unwrap(), 2);
    /// ```
    pub fn stop(&self) {
        self.shared().with(|c| c.set_running(false));
    }

    /// Whether the scheduler is started (not stopped).
    pub fn is_running(&self) -> bool {
        self.shared().core.lock().running
    }

    /// Block until every task submitted so far has finished, failed or been cancelled.
    ///
    /// While the scheduler is stopped this keeps waiting (another thread may resume it);
    /// use [`wait_timeout`](Self::wait_timeout) to bound the wait.
    pub fn wait(&self) {
        let shared = self.shared();
        let mut core = shared.core.lock();
        while core.unfinished > 0 {
            shared.idle.wait(&mut core);
        }
    }

    /// Like [`wait`](Self::wait), but gives up after `timeout`.
    ///
    /// # Errors
    ///
    /// [`Timeout`] if tasks are still unfinished when the time is up.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), Timeout> {
        self.wait_until(timeout, |c| c.unfinished == 0)
    }

    /// Block until no task is running. After [`stop`](Self::stop) this returns once the
    /// running tasks have drained.
    pub fn wait_drained(&self) {
        let shared = self.shared();
        let mut core = shared.core.lock();
        while core.in_flight > 0 {
            shared.idle.wait(&mut core);
        }
    }

    /// Like [`wait_drained`](Self::wait_drained), but gives up after `timeout`.
    ///
    /// # Errors
    ///
    /// [`Timeout`] if tasks are still running when the time is up.
    pub fn wait_drained_timeout(&self, timeout: Duration) -> Result<(), Timeout> {
        self.wait_until(timeout, |c| c.in_flight == 0)
    }

    fn wait_until(&self, timeout: Duration, done: impl Fn(&Core) -> bool) -> Result<(), Timeout> {
        let shared = self.shared();
        let deadline = Instant::now().checked_add(timeout);
        let mut core = shared.core.lock();
        while !done(&core) {
            match deadline {
                Some(d) => {
                    if shared.idle.wait_until(&mut core, d).timed_out() && !done(&core) {
                        return Err(Timeout);
                    }
                }
                None => shared.idle.wait(&mut core),
            }
        }
        Ok(())
    }

    /// A channel of every [`Event`] from now on. Dropping the receiver unsubscribes.
    pub fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = unbounded();
        self.shared().with(|c| c.subscribe(tx));
        rx
    }

    /// The whole graph: every task's state, inputs and queue, and every queue's load.
    ///
    /// To take snapshots repeatedly (a dashboard at 30 frames per second), reuse one with
    /// [`snapshot_into`](Self::snapshot_into): it allocates nothing once warm.
    pub fn snapshot(&self) -> Snapshot {
        let mut snap = Snapshot::new();
        self.snapshot_into(&mut snap);
        snap
    }

    /// Bring `snap` up to date with the whole graph. A snapshot taken before from this
    /// scheduler is refreshed by copying only the tasks that changed since, and new ones;
    /// any other is refilled in full, reusing its allocations.
    ///
    /// # Examples
    ///
    /// ```
    /// use smqsched::{Scheduler, Snapshot};
    ///
    /// let sch = Scheduler::new();
    /// let q = sch.queue("q", 1).unwrap();
    /// let mut snap = Snapshot::new();
    /// for i in 0..3 {
    ///     q.submit((), move |()| i);
    ///     sch.snapshot_into(&mut snap);
    ///     assert_eq!(snap.tasks.len(), i + 1);
    /// }
    /// ```
    pub fn snapshot_into(&self, snap: &mut Snapshot) {
        let shared = self.shared();
        shared.core.lock().snapshot_into(snap, shared.id);
    }

    /// Every queue's load, without the tasks: cheaper than [`snapshot`](Self::snapshot).
    pub fn queues(&self) -> Vec<QueueSnapshot> {
        self.shared().core.lock().queue_snapshots()
    }

    /// How many tasks were ever submitted.
    pub fn task_count(&self) -> usize {
        self.shared().core.lock().task_count()
    }

    /// The id of the task at position `index` in submission order (see [`TaskId::index`]), or
    /// `None` if fewer tasks were submitted: turns a number from outside (a command line, a
    /// request) into an id.
    ///
    /// # Examples
    ///
    /// ```
    /// let sch = smqsched::Scheduler::new();
    /// let q = sch.queue("q", 1).unwrap();
    /// let a = q.submit((), |()| 1);
    /// assert_eq!(sch.task_id(0), Some(a.id()));
    /// assert_eq!(sch.task_id(1), None);
    /// ```
    pub fn task_id(&self, index: u64) -> Option<TaskId> {
        (index < self.task_count() as u64).then_some(TaskId(index))
    }

    /// The state of task `id`, or `None` if there is no such task.
    pub fn state(&self, id: TaskId) -> Option<TaskState> {
        self.shared().task_state(id)
    }

    /// Set the status note of task `id`, shown in snapshots (`TaskSnapshot::status`) until
    /// changed or cleared (`None`): what a task that waits on something outside, such as
    /// a cluster job, tells about its progress. Returns `false` if there is no such task.
    ///
    /// # Examples
    ///
    /// ```
    /// let sch = smqsched::Scheduler::new();
    /// let q = sch.queue("cluster", 1)?;
    /// let job = q.submit((), |()| 42);
    /// let mut snap = smqsched::Snapshot::new();
    /// sch.snapshot_into(&mut snap);
    /// assert!(sch.set_status(job.id(), Some("job 17 PENDING")));
    /// sch.snapshot_into(&mut snap); // refreshed by what changed: the note
    /// assert_eq!(snap.tasks[0].status.as_deref(), Some("job 17 PENDING"));
    /// sch.set_status(job.id(), None);
    /// sch.snapshot_into(&mut snap);
    /// assert_eq!(snap.tasks[0].status, None);
    /// assert!(!sch.set_status(smqsched::TaskId::from_index(99), Some("no such task")));
    /// # Ok::<(), smqsched::QueueError>(())
    /// ```
    pub fn set_status(&self, id: TaskId, status: Option<&str>) -> bool {
        let status = status.map(Arc::<str>::from);
        self.shared().with(|c| c.set_status(id, status))
    }

    /// Cancel task `id` if it has not started, and everything that depends on it; returns how
    /// many tasks were cancelled.
    ///
    /// # Errors
    ///
    /// [`CancelError`] if the task has started or finished, or does not exist.
    pub fn cancel(&self, id: TaskId) -> Result<usize, CancelError> {
        self.shared().cancel(id)
    }

    /// When the scheduler was created; event and snapshot times count from here.
    pub fn epoch(&self) -> Instant {
        self.shared().core.lock().epoch()
    }

    /// Shut down now: tasks not started fail with [`TaskError::Shutdown`](crate::TaskError::Shutdown), running tasks
    /// finish, and this returns once every worker thread has exited (except the calling
    /// one, if called from inside a task). Later submissions fail with
    /// [`SubmitError::Shutdown`].
    pub fn shutdown(&self) {
        let shared = self.shared();
        shared.with(Core::shut_down);
        let me = std::thread::current().id();
        let threads = std::mem::take(&mut *shared.threads.lock());
        for t in threads {
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
impl Scheduler {
    /// Run `f` on the core under the lock, as the scheduler's own calls do.
    pub(crate) fn with_core<R>(&self, f: impl FnOnce(&mut Core) -> R) -> R {
        self.shared().with(f)
    }

    /// How many worker threads have not exited.
    pub(crate) fn live_workers(&self) -> usize {
        let threads = self.shared().threads.lock();
        threads.iter().filter(|t| !t.is_finished()).count()
    }
}

/// A queue of a [`Scheduler`], with its own number of slots.
///
/// Submitting returns a promise at once; promises passed as inputs make the graph. The
/// `submit*` methods panic on a [`SubmitError`] (documented on each); the same methods on
/// [`TaskBuilder`] (from [`task`](Self::task)) return it instead.
///
/// # Examples
///
/// ```
/// let sch = smqsched::Scheduler::new();
/// let q = sch.queue("compute", 2).unwrap();
/// let a = q.submit((), |()| 2.0_f64);
/// let b = q.submit((), |()| 3.0_f64);
/// let c = q.submit((&a, &b), |(a, b): (&f64, &f64)| a * b);
/// sch.start();
/// assert_eq!(*c.result().unwrap(), 6.0);
/// ```
#[derive(Clone)]
pub struct Queue {
    pub(crate) handle: Arc<Handle>,
    pub(crate) index: u32,
    pub(crate) name: Arc<str>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("name", &self.name).finish()
    }
}

fn or_panic<T>(r: Result<T, SubmitError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("cannot submit: {e}"),
    }
}

impl Queue {
    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scheduler this queue belongs to.
    pub fn scheduler(&self) -> Scheduler {
        Scheduler {
            handle: Arc::clone(&self.handle),
        }
    }

    /// A builder for a task with options: label, ordering-only inputs, hold/release,
    /// resources, declared item count.
    pub fn task(&self) -> TaskBuilder<'_> {
        TaskBuilder::new(self)
    }

    /// Submit a task; `f` receives its inputs by reference when they are all available.
    ///
    /// # Panics
    ///
    /// If an input belongs to another scheduler or the scheduler has shut down; see
    /// [`TaskBuilder::submit`] for the checked form.
    pub fn submit<I, T, F>(&self, inputs: I, f: F) -> Promise<T>
    where
        I: IntoInputs,
        T: Send + Sync + 'static,
        F: for<'a> FnOnce(<I::Input as Input>::Ref<'a>) -> T + Send + 'static,
    {
        or_panic(self.task().submit(inputs, f))
    }

    /// Submit a task whose body may fail: an `Err` fails the promise with its message.
    ///
    /// # Panics
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_result<I, T, E, F>(&self, inputs: I, f: F) -> Promise<T>
    where
        I: IntoInputs,
        T: Send + Sync + 'static,
        E: Display,
        F: for<'a> FnOnce(<I::Input as Input>::Ref<'a>) -> Result<T, E> + Send + 'static,
    {
        or_panic(self.task().submit_result(inputs, f))
    }

    /// Submit a progressive producer whose body returns an iterator; each item is available
    /// to its dependents as soon as it is yielded.
    ///
    /// # Panics
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_iter<I, T, It, F>(&self, inputs: I, f: F) -> Stream<T>
    where
        I: IntoInputs,
        T: Send + Sync + 'static,
        It: IntoIterator<Item = T>,
        F: for<'a> FnOnce(<I::Input as Input>::Ref<'a>) -> It + Send + 'static,
    {
        or_panic(self.task().submit_iter(inputs, f))
    }

    /// Submit a progressive producer that hands items to an [`Emitter`]; it may borrow from
    /// its inputs while it emits, and may fail.
    ///
    /// # Panics
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_stream<I, T, E, F>(&self, inputs: I, f: F) -> Stream<T>
    where
        I: IntoInputs,
        T: Send + Sync + 'static,
        E: Display,
        F: for<'a, 'e> FnOnce(<I::Input as Input>::Ref<'a>, &Emitter<'e, T>) -> Result<(), E>
            + Send
            + 'static,
    {
        or_panic(self.task().submit_stream(inputs, f))
    }
}
