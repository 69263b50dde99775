//! Workloads shared by the benchmarks, each built twice: on smqsched, and on a plain DAG
//! executor (dependency counters, one FIFO crossbeam channel, no ordering work) with the same
//! number of worker threads.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_channel::unbounded;
use smqsched::{Promise, Scheduler};

/// A task body of the baseline.
type Body = Box<dyn Fn(&[&u64]) -> u64 + Send + Sync>;

/// A task of the baseline: its inputs (indices of earlier tasks) and its body.
struct BaseTask {
    deps: Vec<usize>,
    body: Body,
}

/// The baseline executor: build a graph, then run it on `threads` workers.
#[derive(Default)]
pub struct Baseline {
    tasks: Vec<BaseTask>,
}

impl Baseline {
    pub fn submit(
        &mut self,
        deps: Vec<usize>,
        body: impl Fn(&[&u64]) -> u64 + Send + Sync + 'static,
    ) -> usize {
        self.tasks.push(BaseTask {
            deps,
            body: Box::new(body),
        });
        self.tasks.len() - 1
    }

    /// Run every task; returns the results.
    pub fn run(self, threads: usize) -> Vec<u64> {
        let n = self.tasks.len();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        let counters: Vec<AtomicUsize> = self
            .tasks
            .iter()
            .enumerate()
            .map(|(t, task)| {
                for &d in &task.deps {
                    dependents[d].push(t);
                }
                AtomicUsize::new(task.deps.len())
            })
            .collect();
        let results: Vec<OnceLock<u64>> = (0..n).map(|_| OnceLock::new()).collect();
        let remaining = AtomicUsize::new(n);
        let (tx, rx) = unbounded::<Option<usize>>();
        for (t, task) in self.tasks.iter().enumerate() {
            if task.deps.is_empty() {
                tx.send(Some(t)).expect("open");
            }
        }
        let tasks = &self.tasks;
        std::thread::scope(|s| {
            for _ in 0..threads {
                let (tx, rx) = (tx.clone(), rx.clone());
                let (dependents, counters, results, remaining) =
                    (&dependents, &counters, &results, &remaining);
                s.spawn(move || {
                    while let Ok(Some(t)) = rx.recv() {
                        let inputs: Vec<&u64> = tasks[t]
                            .deps
                            .iter()
                            .map(|&d| results[d].get().expect("input done"))
                            .collect();
                        let v = (tasks[t].body)(&inputs);
                        let _ = results[t].set(v);
                        for &d in &dependents[t] {
                            if counters[d].fetch_sub(1, Ordering::AcqRel) == 1 {
                                tx.send(Some(d)).expect("open");
                            }
                        }
                        if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                            for _ in 0..threads {
                                tx.send(None).expect("open");
                            }
                        }
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|r| r.into_inner().unwrap_or(0))
            .collect()
    }
}

/// The submission contract alone, built the way smqsched builds it, with none of its
/// bookkeeping: each submission allocates one reference-counted job that holds its body and
/// clones of its input handles, checks that the inputs are its own, reads the clock, takes a
/// lock to record the task (its job, time and inputs) and returns a handle to the result.
/// Nothing else: no dependents, no walk order, no labels, no queues, no events. It builds
/// graphs and never runs them; the benchmark times its building only, to show how much of
/// smqsched's building cost the contract accounts for.
pub struct Contract {
    id: u64,
    clock: quanta::Clock,
    graph: parking_lot::Mutex<ContractGraph>,
}

/// What the lock guards: each task's job, submission time and inputs (`edges[at..at + len]`).
#[derive(Default)]
struct ContractGraph {
    jobs: Vec<(Arc<dyn ContractCell>, u64, u32, u32)>,
    edges: Vec<u32>,
}

/// A handle to a result of the [`Contract`].
#[derive(Clone)]
pub struct ContractPromise {
    cell: Arc<dyn ContractCell>,
    owner: u64,
    id: u32,
}

trait ContractCell: Send + Sync {
    fn value(&self) -> Option<&u64>;
}

/// A task's job: its result, its inputs' handles and its body, which the benchmark never runs.
struct ContractJob<F> {
    value: OnceLock<u64>,
    inputs: smallvec::SmallVec<[ContractPromise; 2]>,
    body: F,
}

impl<F: Fn(&[&u64]) -> u64 + Send + Sync> ContractCell for ContractJob<F> {
    fn value(&self) -> Option<&u64> {
        self.value.get()
    }
}

impl Contract {
    pub fn new() -> Contract {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        Contract {
            id: NEXT.fetch_add(1, Ordering::Relaxed) as u64,
            clock: quanta::Clock::new(),
            graph: parking_lot::Mutex::default(),
        }
    }

    pub fn submit(
        &self,
        inputs: &[&ContractPromise],
        body: impl Fn(&[&u64]) -> u64 + Send + Sync + 'static,
    ) -> ContractPromise {
        assert!(
            inputs.iter().all(|p| p.owner == self.id),
            "an input from another executor"
        );
        let job = Arc::new(ContractJob {
            value: OnceLock::new(),
            inputs: inputs.iter().map(|&p| p.clone()).collect(),
            body,
        });
        let cell: Arc<dyn ContractCell> = job.clone();
        let at = self.clock.raw();
        let mut g = self.graph.lock();
        let id = g.jobs.len() as u32;
        let inputs_at = g.edges.len() as u32;
        g.edges.extend(inputs.iter().map(|p| p.id));
        g.jobs.push((job, at, inputs_at, inputs.len() as u32));
        drop(g);
        ContractPromise {
            cell,
            owner: self.id,
            id,
        }
    }
}

impl Drop for Contract {
    /// Free the jobs newest first, so that each frees only itself: freeing the newest of a
    /// long chain first would free the whole chain recursively. The workloads drop their
    /// handles before the executor.
    fn drop(&mut self) {
        let jobs = &mut self.graph.get_mut().jobs;
        while let Some(job) = jobs.pop() {
            drop(job);
        }
    }
}

impl ContractPromise {
    pub fn value(&self) -> Option<&u64> {
        self.cell.value()
    }
}

pub const THREADS: usize = 2;

// ----- the workloads on smqsched -------------------------------------------------------------

/// A workload of size `n` in two phases: building the graph (every task submitted to a
/// stopped scheduler, or recorded by the baseline) returns the run, which executes the graph
/// and returns a checksum. `workload(n)()` does both.
pub type Workload = fn(usize) -> Run;

/// The second phase of a [`Workload`].
pub type Run = Box<dyn FnOnce() -> u64>;

pub fn smq_independent(n: usize) -> Run {
    let sch = Scheduler::new();
    let q = sch.queue("q", THREADS).expect("queue");
    let ps: Vec<Promise<u64>> = (0..n as u64).map(|i| q.submit((), move |()| i)).collect();
    Box::new(move || {
        sch.start();
        sch.wait();
        *ps[n - 1].result().expect("done")
    })
}

/// Keep a core busy for `us` microseconds.
pub fn busy(us: u64) {
    let t = std::time::Instant::now();
    while t.elapsed() < std::time::Duration::from_micros(us) {
        std::hint::spin_loop();
    }
}

/// `n` independent tasks with bodies of `us` microseconds; with `observe`, another thread
/// refreshes a snapshot every 33 ms meanwhile, as a 30 fps dashboard does.
pub fn smq_independent_busy(n: usize, us: u64, observe: bool) -> u64 {
    let sch = Scheduler::new();
    let q = sch.queue("q", THREADS).expect("queue");
    let ps: Vec<Promise<u64>> = (0..n as u64)
        .map(|i| {
            q.submit((), move |()| {
                busy(us);
                i
            })
        })
        .collect();
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
    let observer = observe.then(|| {
        let sch = sch.clone();
        std::thread::spawn(move || {
            let mut snap = smqsched::Snapshot::new();
            let mut taken = 0usize;
            loop {
                sch.snapshot_into(&mut snap);
                taken += 1;
                match stop_rx.recv_timeout(std::time::Duration::from_millis(33)) {
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                    _ => return taken,
                }
            }
        })
    });
    sch.start();
    sch.wait();
    drop(stop_tx);
    if let Some(o) = observer {
        let _ = o.join();
    }
    *ps[n - 1].result().expect("done")
}

pub fn smq_matrix(n: usize) -> Run {
    let sch = Scheduler::new();
    let q = sch.queue("q", THREADS).expect("queue");
    let mut b = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let a = q.submit((), move |()| i);
        b.push(q.submit(&a, |a: &u64| a + 1));
    }
    let mut last = None;
    for i in 0..n {
        for k in 0..n {
            last = Some(q.submit((&b[i], &b[k]), |(x, y): (&u64, &u64)| x * y));
        }
    }
    Box::new(move || {
        sch.start();
        sch.wait();
        let checksum = last.map_or(0, |p| *p.result().expect("done"));
        drop(b);
        checksum
    })
}

pub fn smq_chain(n: usize) -> Run {
    let sch = Scheduler::new();
    let q = sch.queue("q", THREADS).expect("queue");
    let mut last = q.submit((), |()| 0u64);
    for _ in 1..n {
        last = q.submit(&last, |x: &u64| x + 1);
    }
    Box::new(move || {
        sch.start();
        *last.result().expect("done")
    })
}

pub fn smq_fan(n: usize) -> Run {
    let sch = Scheduler::new();
    let q = sch.queue("q", THREADS).expect("queue");
    let src = q.submit((), |()| 1u64);
    let mid: Vec<_> = (0..n as u64)
        .map(|i| q.submit(&src, move |s: &u64| s + i))
        .collect();
    let sum = q.submit(&mid, |m: Vec<&u64>| m.into_iter().sum::<u64>());
    Box::new(move || {
        sch.start();
        let checksum = *sum.result().expect("done");
        drop((src, mid));
        checksum
    })
}

// ----- the same workloads on the baseline ----------------------------------------------------

pub fn base_independent(n: usize) -> Run {
    let mut g = Baseline::default();
    for i in 0..n as u64 {
        g.submit(Vec::new(), move |_| i);
    }
    Box::new(move || g.run(THREADS)[n - 1])
}

pub fn base_matrix(n: usize) -> Run {
    let mut g = Baseline::default();
    let mut b = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let a = g.submit(Vec::new(), move |_| i);
        b.push(g.submit(vec![a], |x| x[0] + 1));
    }
    for i in 0..n {
        for k in 0..n {
            g.submit(vec![b[i], b[k]], |x| x[0] * x[1]);
        }
    }
    Box::new(move || *g.run(THREADS).last().unwrap_or(&0))
}

pub fn base_chain(n: usize) -> Run {
    let mut g = Baseline::default();
    let mut last = g.submit(Vec::new(), |_| 0);
    for _ in 1..n {
        last = g.submit(vec![last], |x| x[0] + 1);
    }
    Box::new(move || g.run(THREADS)[last])
}

pub fn base_fan(n: usize) -> Run {
    let mut g = Baseline::default();
    let src = g.submit(Vec::new(), |_| 1);
    let mid: Vec<usize> = (0..n as u64)
        .map(|i| g.submit(vec![src], move |s| s[0] + i))
        .collect();
    let sum = g.submit(mid, |m| m.iter().copied().sum());
    Box::new(move || g.run(THREADS)[sum])
}

// ----- the same graphs built on the contract alone (see `Contract`) -----------------------------

/// A workload's graph built on the [`Contract`]: the executor and the handles the workload
/// keeps, to be dropped after the timing.
pub type ContractBuild = fn(usize) -> Box<dyn std::any::Any>;

/// A graph built on the [`Contract`] as the first phase of a [`Workload`]: its run only drops
/// the graph, and its checksum is 0.
pub fn contract_workload(build: ContractBuild, n: usize) -> Run {
    let graph = build(n);
    Box::new(move || {
        drop(graph);
        0
    })
}

pub fn contract_independent(n: usize) -> Box<dyn std::any::Any> {
    let f = Contract::new();
    let ps: Vec<ContractPromise> = (0..n as u64).map(|i| f.submit(&[], move |_| i)).collect();
    Box::new((ps, f))
}

pub fn contract_matrix(n: usize) -> Box<dyn std::any::Any> {
    let f = Contract::new();
    let mut b = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let a = f.submit(&[], move |_| i);
        b.push(f.submit(&[&a], |x| x[0] + 1));
    }
    let mut last = None;
    for i in 0..n {
        for k in 0..n {
            last = Some(f.submit(&[&b[i], &b[k]], |x| x[0] * x[1]));
        }
    }
    Box::new((b, last, f))
}

pub fn contract_chain(n: usize) -> Box<dyn std::any::Any> {
    let f = Contract::new();
    let mut last = f.submit(&[], |_| 0);
    for _ in 1..n {
        last = f.submit(&[&last], |x| x[0] + 1);
    }
    Box::new((last, f))
}

pub fn contract_fan(n: usize) -> Box<dyn std::any::Any> {
    let f = Contract::new();
    let src = f.submit(&[], |_| 1);
    let mid: Vec<ContractPromise> = (0..n as u64)
        .map(|i| f.submit(&[&src], move |s| s[0] + i))
        .collect();
    let refs: Vec<&ContractPromise> = mid.iter().collect();
    let sum = f.submit(&refs, |m| m.iter().copied().sum());
    drop(refs);
    Box::new((src, mid, sum, f))
}
