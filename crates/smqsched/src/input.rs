//! What a task can take as inputs, and what its body receives for each.
//!
//! | passed to `submit`                          | the body receives |
//! |---------------------------------------------|-------------------|
//! | `()`                                        | `()`              |
//! | `&Promise<T>` or `Promise<T>`               | `&T`              |
//! | `&[Promise<T>]`, `&Vec<..>` or `Vec<Promise<T>>` | `Vec<&T>`    |
//! | `&Item<T>` or `Item<T>`                     | `&T`              |
//! | `&[Item<T>]`, `&Vec<..>` or `Vec<Item<T>>`  | `Vec<&T>`         |
//! | `&Stream<T>` or `Stream<T>` (all items)     | `Vec<&T>`         |
//! | a tuple of up to eight of the above         | a tuple of the above |
//!
//! Values are never copied: every dependent borrows the one result its producer stored.

use crate::core::Deps;
use crate::promise::{Item, Promise, Stream};
use crate::task::{Dep, TaskId};

/// Append `dep`, produced on scheduler `its`, to `out`; note it in `foreign` if `its` is not
/// `sched`.
#[inline]
fn push_edge(out: &mut Deps, dep: Dep, its: u64, sched: u64, foreign: &mut Option<TaskId>) {
    if its != sched {
        *foreign = Some(dep.task);
    }
    out.push(dep);
}

mod sealed {
    #[allow(unreachable_pub)]
    pub trait Sealed {}
}

/// A task's inputs, as stored until the task runs. Implemented for promises, items, streams,
/// vectors of them and tuples of up to eight; see the [module docs](crate::Input) table via
/// [`IntoInputs`].
pub trait Input: Send + 'static + sealed::Sealed {
    /// What the task body receives.
    type Ref<'a>
    where
        Self: 'a;

    /// Append each dependency edge to `out`; note in `foreign` an edge whose producer does not
    /// belong to scheduler `sched`.
    #[doc(hidden)]
    fn edges(&self, out: &mut Deps, sched: u64, foreign: &mut Option<TaskId>);

    /// How many edges `edges` appends.
    #[doc(hidden)]
    fn count(&self) -> usize;

    /// Borrow the values. Called only once every input is available.
    #[doc(hidden)]
    fn get(&self) -> Self::Ref<'_>;
}

/// Anything that can be passed as the inputs of a task: see the table in the crate docs.
///
/// # Examples
///
/// ```
/// let sch = smqsched::Scheduler::new();
/// let q = sch.queue("q", 2).unwrap();
/// let xs: Vec<_> = (0..10).map(|i| q.submit((), move |()| i as f64)).collect();
/// let label = q.submit((), |()| String::from("mean"));
/// let mean = q.submit((&xs, &label), |(xs, label): (Vec<&f64>, &String)| {
///     (label.clone(), xs.iter().copied().sum::<f64>() / xs.len() as f64)
/// });
/// sch.start();
/// assert_eq!(mean.result().unwrap().1, 4.5);
/// ```
pub trait IntoInputs {
    /// The stored form.
    type Input: Input;
    /// Convert (cloning handles, never values).
    fn into_input(self) -> Self::Input;

    /// Convert, and append the edges of the stored form to `out` as [`Input::edges`] does.
    /// Vectors and slices of handles do both in one pass, so that a fan-in of many inputs
    /// reads each producer's handle once, not twice.
    #[doc(hidden)]
    #[inline(always)]
    fn into_input_with_edges(
        self,
        out: &mut Deps,
        sched: u64,
        foreign: &mut Option<TaskId>,
    ) -> Self::Input
    where
        Self: Sized,
    {
        let input = self.into_input();
        let count = input.count();
        if count > out.capacity() - out.len() {
            out.reserve_exact(count);
        }
        input.edges(out, sched, foreign);
        input
    }
}

/// Clone every handle of `all` and append its edge to `out`, in one pass.
fn clone_with_edges<P: Input + Clone>(
    all: &[P],
    out: &mut Deps,
    sched: u64,
    foreign: &mut Option<TaskId>,
) -> Vec<P> {
    out.reserve_exact(all.len());
    all.iter()
        .map(|p| {
            p.edges(out, sched, foreign);
            p.clone()
        })
        .collect()
}

fn promise_value<T>(p: &Promise<T>) -> &T {
    match p.cell.cell().get() {
        Some(Ok(v)) => v,
        _ => unreachable!("a task runs only once its inputs are available"),
    }
}

fn item_value<T>(i: &Item<T>) -> &T {
    if let Some(v) = i.got.get() {
        return v;
    }
    match i.cell.cell().try_item(i.index as usize) {
        crate::cell::ItemState::Ready(v) => i.got.get_or_init(|| v),
        _ => unreachable!("a task runs only once its inputs are available"),
    }
}

impl<T> sealed::Sealed for Promise<T> {}
impl<T: Send + Sync + 'static> Input for Promise<T> {
    type Ref<'a> = &'a T;
    #[inline]
    fn edges(&self, out: &mut Deps, sched: u64, foreign: &mut Option<TaskId>) {
        let dep = Dep::whole(self.id);
        push_edge(out, dep, self.cell.meta().owner.sched, sched, foreign);
    }
    fn count(&self) -> usize {
        1
    }
    fn get(&self) -> &T {
        promise_value(self)
    }
}

impl<T> sealed::Sealed for Vec<Promise<T>> {}
impl<T: Send + Sync + 'static> Input for Vec<Promise<T>> {
    type Ref<'a> = Vec<&'a T>;
    #[inline]
    fn edges(&self, out: &mut Deps, sched: u64, foreign: &mut Option<TaskId>) {
        for p in self {
            p.edges(out, sched, foreign);
        }
    }
    fn count(&self) -> usize {
        self.len()
    }
    fn get(&self) -> Vec<&T> {
        self.iter().map(promise_value).collect()
    }
}

impl<T> sealed::Sealed for Item<T> {}
impl<T: Send + Sync + 'static> Input for Item<T> {
    type Ref<'a> = &'a T;
    #[inline]
    fn edges(&self, out: &mut Deps, sched: u64, foreign: &mut Option<TaskId>) {
        let dep = Dep {
            task: self.producer,
            item: Some(self.index),
        };
        push_edge(out, dep, self.cell.meta().owner.sched, sched, foreign);
    }
    fn count(&self) -> usize {
        1
    }
    fn get(&self) -> &T {
        item_value(self)
    }
}

impl<T> sealed::Sealed for Vec<Item<T>> {}
impl<T: Send + Sync + 'static> Input for Vec<Item<T>> {
    type Ref<'a> = Vec<&'a T>;
    #[inline]
    fn edges(&self, out: &mut Deps, sched: u64, foreign: &mut Option<TaskId>) {
        for i in self {
            i.edges(out, sched, foreign);
        }
    }
    fn count(&self) -> usize {
        self.len()
    }
    fn get(&self) -> Vec<&T> {
        self.iter().map(item_value).collect()
    }
}

impl<T> sealed::Sealed for Stream<T> {}
impl<T: Send + Sync + 'static> Input for Stream<T> {
    type Ref<'a> = Vec<&'a T>;
    #[inline]
    fn edges(&self, out: &mut Deps, sched: u64, foreign: &mut Option<TaskId>) {
        let dep = Dep::whole(self.id);
        push_edge(out, dep, self.cell.meta().owner.sched, sched, foreign);
    }
    fn count(&self) -> usize {
        1
    }
    fn get(&self) -> Vec<&T> {
        self.cell.cell().all().iter().map(|a| &**a).collect()
    }
}

impl sealed::Sealed for () {}
impl Input for () {
    type Ref<'a> = ();
    #[inline]
    fn edges(&self, _: &mut Deps, _: u64, _: &mut Option<TaskId>) {}
    fn count(&self) -> usize {
        0
    }
    fn get(&self) {}
}

impl IntoInputs for () {
    type Input = ();
    fn into_input(self) {}
}

macro_rules! into_by_clone {
    ($($src:ty => $dst:ty),* $(,)?) => {$(
        impl<T: Send + Sync + 'static> IntoInputs for $src {
            type Input = $dst;
            #[inline]
            fn into_input(self) -> $dst {
                self.clone()
            }
        }
    )*};
}

macro_rules! into_by_move {
    ($($src:ty),* $(,)?) => {$(
        impl<T: Send + Sync + 'static> IntoInputs for $src {
            type Input = $src;
            #[inline]
            fn into_input(self) -> $src {
                self
            }
        }
    )*};
}

into_by_clone!(
    &Promise<T> => Promise<T>,
    &Item<T> => Item<T>,
    &Stream<T> => Stream<T>,
);
into_by_move!(
    Promise<T>,
    Item<T>,
    Stream<T>,
    Vec<Promise<T>>,
    Vec<Item<T>>
);

macro_rules! into_by_cloning_all {
    ($($src:ty => $dst:ty),* $(,)?) => {$(
        impl<T: Send + Sync + 'static> IntoInputs for $src {
            type Input = $dst;
            fn into_input(self) -> $dst {
                self.to_vec()
            }
            fn into_input_with_edges(
                self,
                out: &mut Deps,
                sched: u64,
                foreign: &mut Option<TaskId>,
            ) -> $dst {
                clone_with_edges(self, out, sched, foreign)
            }
        }
    )*};
}

into_by_cloning_all!(
    &[Promise<T>] => Vec<Promise<T>>,
    &Vec<Promise<T>> => Vec<Promise<T>>,
    &[Item<T>] => Vec<Item<T>>,
    &Vec<Item<T>> => Vec<Item<T>>,
);

macro_rules! tuples {
    ($( ($($name:ident $idx:tt),+) )*) => {$(
        impl<$($name: Input),+> sealed::Sealed for ($($name,)+) {}
        impl<$($name: Input),+> Input for ($($name,)+) {
            type Ref<'a> = ($($name::Ref<'a>,)+) where Self: 'a;
            #[inline]
            fn edges(&self, out: &mut Deps, sched: u64, foreign: &mut Option<TaskId>) {
                $( self.$idx.edges(out, sched, foreign); )+
            }
            fn count(&self) -> usize {
                0 $( + self.$idx.count() )+
            }
            fn get(&self) -> Self::Ref<'_> {
                ($( self.$idx.get(), )+)
            }
        }
        impl<$($name: IntoInputs),+> IntoInputs for ($($name,)+) {
            type Input = ($($name::Input,)+);
            fn into_input(self) -> Self::Input {
                ($( self.$idx.into_input(), )+)
            }
            #[inline(always)]
            fn into_input_with_edges(
                self,
                out: &mut Deps,
                sched: u64,
                foreign: &mut Option<TaskId>,
            ) -> Self::Input {
                // Left to right: the edges come in argument order.
                ($( self.$idx.into_input_with_edges(out, sched, foreign), )+)
            }
        }
    )*};
}

tuples! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
}
