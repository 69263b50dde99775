//! Task functions registered by name: what a cluster queue sends to a worker.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};

use ndarray::Array1;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ClusterError, RunError};

/// A processing step that may run in another process: a name and a plain function from a
/// serializable input `I` to a serializable output `O`.
///
/// The same `Function` value is used on both sides: the submitting program passes it to
/// [`ClusterQueue::submit`](crate::ClusterQueue::submit) (which sends its name and the
/// serialized input), and the worker finds it by name in a [`Registry`]. Its error is text,
/// since that is all that can cross to another machine.
///
/// # Examples
///
/// ```
/// use smq_cluster::Function;
///
/// fn double(x: Vec<f64>) -> Result<Vec<f64>, String> {
///     Ok(x.into_iter().map(|v| 2.0 * v).collect())
/// }
/// const DOUBLE: Function<Vec<f64>, Vec<f64>> = Function::new("double", double);
///
/// assert_eq!(DOUBLE.name(), "double");
/// assert_eq!(DOUBLE.call(vec![1.0, 2.0]), Ok(vec![2.0, 4.0]));
/// ```
pub struct Function<I, O> {
    name: &'static str,
    run: fn(I) -> Result<O, String>,
    _types: PhantomData<fn(I) -> O>,
}

impl<I, O> Clone for Function<I, O> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<I, O> Copy for Function<I, O> {}

impl<I, O> fmt::Debug for Function<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .finish()
    }
}

impl<I, O> Function<I, O> {
    /// A function called `name` (unique within a [`Registry`]) running `run`.
    ///
    /// # Examples
    ///
    /// ```
    /// let f = smq_cluster::Function::new("len", |x: Vec<f64>| Ok::<_, String>(x.len()));
    /// assert_eq!(f.call(vec![0.0; 3]), Ok(3));
    /// ```
    pub const fn new(name: &'static str, run: fn(I) -> Result<O, String>) -> Self {
        Self {
            name,
            run,
            _types: PhantomData,
        }
    }

    /// The name the worker finds it by.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_cluster::POWER_SPECTRUM.name(), "power_spectrum_hann");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs the function here, in this process: what a local queue does with it.
    ///
    /// # Errors
    ///
    /// The function's own error message.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = smq_cluster::POWER_SPECTRUM.call(ndarray::Array1::ones(8))?;
    /// assert_eq!(p.len(), 5);
    /// # Ok::<(), String>(())
    /// ```
    pub fn call(&self, input: I) -> Result<O, String> {
        (self.run)(input)
    }
}

/// Inputs whose serialized form is that of the function input `I`: `&I` for `I`, tuples of
/// references for tuples, `Vec<&T>` for `Vec<T>`, `()` for `()`. This is what a task body
/// receives from its promises (see [`smqsched::IntoInputs`]), so a cluster task serializes
/// its inputs where they are, without copying them, and the compiler checks that they fit
/// the function.
///
/// # Examples
///
/// ```
/// use smq_cluster::SerializeAs;
/// fn fits<I, T: SerializeAs<I>>(_: T) {}
/// fits::<Vec<f64>, _>(&vec![1.0]);
/// fits::<(f64, String), _>((&1.0, &String::new()));
/// fits::<Vec<u8>, _>(vec![&1u8, &2u8]);
/// ```
pub trait SerializeAs<I>: Serialize {}

impl<T: Serialize> SerializeAs<T> for &T {}
impl<T: Serialize> SerializeAs<Vec<T>> for Vec<&T> {}
impl SerializeAs<()> for () {}

macro_rules! tuple_serialize_as {
    ($($t:ident),+) => {
        impl<$($t: Serialize),+> SerializeAs<($($t,)+)> for ($(&$t,)+) {}
    };
}
tuple_serialize_as!(A);
tuple_serialize_as!(A, B);
tuple_serialize_as!(A, B, C);
tuple_serialize_as!(A, B, C, D);
tuple_serialize_as!(A, B, C, D, E);
tuple_serialize_as!(A, B, C, D, E, F);
tuple_serialize_as!(A, B, C, D, E, F, G);
tuple_serialize_as!(A, B, C, D, E, F, G, H);

type Erased = Box<dyn Fn(serde_json::Value) -> Result<serde_json::Value, RunError> + Send + Sync>;

/// The functions a worker can run, by name. Modelled on the plugin registry of
/// `smq-compute`: a worker binary builds one (usually [`Registry::builtin`] plus its own
/// functions) and hands it to [`worker_main`](crate::worker_main).
///
/// # Examples
///
/// ```
/// use smq_cluster::{Function, Registry};
///
/// const SUM: Function<Vec<f64>, f64> = Function::new("sum", |x| Ok(x.iter().sum()));
/// let mut reg = Registry::builtin();
/// reg.register(SUM)?;
/// assert!(reg.names().any(|n| n == "sum"));
/// assert!(reg.register(SUM).is_err()); // names are unique
/// # Ok::<(), smq_cluster::ClusterError>(())
/// ```
#[derive(Default)]
pub struct Registry {
    functions: BTreeMap<&'static str, Erased>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.functions.keys()).finish()
    }
}

impl Registry {
    /// An empty registry.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_cluster::Registry::new().names().count(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The functions that come with smqsched: [`POWER_SPECTRUM`], [`SLEEP`] and
    /// [`COMPUTE_PLUGIN`].
    ///
    /// # Examples
    ///
    /// ```
    /// let reg = smq_cluster::Registry::builtin();
    /// assert_eq!(reg.names().collect::<Vec<_>>(), ["compute_plugin", "power_spectrum_hann", "sleep"]);
    /// ```
    pub fn builtin() -> Self {
        let mut reg = Self::new();
        // The built-in names are distinct, so neither registration can fail.
        let _ = reg.register(POWER_SPECTRUM);
        let _ = reg.register(SLEEP);
        let _ = reg.register(COMPUTE_PLUGIN);
        reg
    }

    /// Adds `function`.
    ///
    /// # Errors
    ///
    /// [`ClusterError::DuplicateFunction`] if a function of that name is registered already.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut reg = smq_cluster::Registry::new();
    /// reg.register(smq_cluster::SLEEP)?;
    /// # Ok::<(), smq_cluster::ClusterError>(())
    /// ```
    pub fn register<I, O>(&mut self, function: Function<I, O>) -> Result<&mut Self, ClusterError>
    where
        I: DeserializeOwned + 'static,
        O: Serialize + 'static,
    {
        if self.functions.contains_key(function.name) {
            return Err(ClusterError::DuplicateFunction {
                name: function.name.to_owned(),
            });
        }
        let erased: Erased = Box::new(move |input| {
            let input: I = serde_json::from_value(input).map_err(|e| RunError::Input {
                message: e.to_string(),
            })?;
            let output = catch_unwind(AssertUnwindSafe(|| function.call(input)))
                .map_err(|payload| RunError::Panicked {
                    message: panic_message(payload.as_ref()),
                })?
                .map_err(|message| RunError::Failed { message })?;
            serde_json::to_value(output).map_err(|e| RunError::Output {
                message: e.to_string(),
            })
        });
        self.functions.insert(function.name, erased);
        Ok(self)
    }

    /// The names of the registered functions, sorted.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(smq_cluster::Registry::builtin().names().any(|n| n == "sleep"));
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.functions.keys().copied()
    }

    /// Runs function `name` on a serialized input, giving its serialized output.
    ///
    /// # Errors
    ///
    /// [`RunError`]: no such function, an input that does not decode as the function's
    /// input, the function's own error or panic, an output that does not serialize.
    ///
    /// # Examples
    ///
    /// ```
    /// let reg = smq_cluster::Registry::builtin();
    /// let out = reg.run("sleep", serde_json::json!(0.0))?;
    /// assert_eq!(out, serde_json::json!(0.0));
    /// assert!(reg.run("nope", serde_json::json!(null)).is_err());
    /// # Ok::<(), smq_cluster::RunError>(())
    /// ```
    pub fn run(&self, name: &str, input: serde_json::Value) -> Result<serde_json::Value, RunError> {
        let f = self
            .functions
            .get(name)
            .ok_or_else(|| RunError::UnknownFunction {
                name: name.to_owned(),
                known: self.names().collect::<Vec<_>>().join(", "),
            })?;
        f(input)
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

fn power_spectrum_hann(signal: Array1<f64>) -> Result<Array1<f64>, String> {
    smq_compute::power_spectrum(&signal, smq_compute::Window::Hann).map_err(|e| e.to_string())
}

/// The FFT step of `smq-compute` as a task function: the one-sided power spectrum of a 1-D
/// signal under a Hann window ([`smq_compute::power_spectrum`]).
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// let x = Array1::from_shape_fn(64, |i| (2.0 * std::f64::consts::PI * 8.0 * i as f64 / 64.0).sin());
/// let p = smq_cluster::POWER_SPECTRUM.call(x)?;
/// assert_eq!(smq_compute::argmax(&p).map_err(|e| e.to_string())?, 8);
/// # Ok::<(), String>(())
/// ```
pub const POWER_SPECTRUM: Function<Array1<f64>, Array1<f64>> =
    Function::new("power_spectrum_hann", power_spectrum_hann);

fn sleep(seconds: f64) -> Result<f64, String> {
    if !(seconds.is_finite() && (0.0..=86_400.0).contains(&seconds)) {
        return Err(format!("sleep: {seconds} s is not from 0 to 86400"));
    }
    std::thread::sleep(std::time::Duration::from_secs_f64(seconds));
    Ok(seconds)
}

/// A diagnostic task function: sleeps the given number of seconds (0 to 86,400) and returns
/// it. It checks a cluster setup end to end, and stands for a long step in tests of
/// cancellation and time limits.
///
/// # Examples
///
/// ```
/// assert_eq!(smq_cluster::SLEEP.call(0.0), Ok(0.0));
/// assert!(smq_cluster::SLEEP.call(-1.0).is_err());
/// ```
pub const SLEEP: Function<f64, f64> = Function::new("sleep", sleep);

/// A call of a compute plugin of `smq-compute` by name ([`COMPUTE_PLUGIN`]): what a plan's
/// processing step sends to a cluster queue.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PluginCall {
    /// The plugin's name (`smq_compute::plugins()`).
    pub plugin: String,
    /// Its parameters: booleans, integers, numbers or texts.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Its input arrays, in order.
    pub inputs: Vec<ndarray::ArrayD<f64>>,
}

fn compute_plugin(call: PluginCall) -> Result<BTreeMap<String, ndarray::ArrayD<f64>>, String> {
    use smq_compute::{ParamValue, Params};
    let plugin = smq_compute::require_plugin(&call.plugin).map_err(|e| e.to_string())?;
    let mut params = Params::new();
    for (name, value) in &call.params {
        let v = match value {
            serde_json::Value::Bool(b) => ParamValue::Bool(*b),
            serde_json::Value::Number(n) if n.is_i64() => {
                ParamValue::Int(n.as_i64().unwrap_or_default())
            }
            serde_json::Value::Number(n) => ParamValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(t) => ParamValue::Text(t.clone()),
            other => return Err(format!("parameter `{name}`: {other} is not a plain value")),
        };
        params.set(name, v);
    }
    let params = params
        .resolve(&plugin.params())
        .map_err(|e| e.to_string())?;
    let outputs = plugin
        .run(&call.inputs, &params)
        .map_err(|e| e.to_string())?;
    Ok(outputs
        .iter()
        .map(|(name, a)| (name.to_owned(), a.clone()))
        .collect())
}

/// Any compute plugin of `smq-compute`, called by name with its parameters and inputs
/// ([`PluginCall`]); its outputs by name. So every processing step of a plan can run on a
/// cluster queue, with the same results as on the local one.
///
/// # Examples
///
/// ```
/// use smq_cluster::{COMPUTE_PLUGIN, PluginCall};
///
/// let call = PluginCall {
///     plugin: "statistics".into(),
///     params: Default::default(),
///     inputs: vec![ndarray::array![1.0, 2.0, 6.0].into_dyn()],
/// };
/// let out = COMPUTE_PLUGIN.call(call)?;
/// assert_eq!(out["mean"][[]], 3.0);
/// # Ok::<(), String>(())
/// ```
pub const COMPUTE_PLUGIN: Function<PluginCall, BTreeMap<String, ndarray::ArrayD<f64>>> =
    Function::new("compute_plugin", compute_plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_decodes_runs_and_encodes() {
        let reg = Registry::builtin();
        let x = Array1::from_shape_fn(32, |i| (i as f64 * 0.3).sin());
        let expected = POWER_SPECTRUM.call(x.clone()).expect("power spectrum");
        let input = serde_json::to_value(&x).expect("encode");
        let out = reg.run("power_spectrum_hann", input).expect("run");
        let out: Array1<f64> = serde_json::from_value(out).expect("decode");
        assert_eq!(out, expected, "bit for bit through JSON");
    }

    #[test]
    fn errors_are_typed() {
        let reg = Registry::builtin();
        let bad_input = reg.run("sleep", serde_json::json!("x"));
        assert!(
            matches!(bad_input, Err(RunError::Input { .. })),
            "{bad_input:?}"
        );
        let failed = reg.run("sleep", serde_json::json!(-2.0));
        assert!(matches!(failed, Err(RunError::Failed { .. })), "{failed:?}");
        let empty = reg.run(
            "power_spectrum_hann",
            serde_json::to_value(Array1::<f64>::zeros(0)).expect("encode"),
        );
        assert!(matches!(empty, Err(RunError::Failed { .. })), "{empty:?}");
        let unknown = reg.run("fft", serde_json::json!(null));
        match unknown {
            Err(RunError::UnknownFunction { name, known }) => {
                assert_eq!(name, "fft");
                assert_eq!(known, "compute_plugin, power_spectrum_hann, sleep");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_panic_is_an_error() {
        const BOOM: Function<(), ()> = Function::new("boom", |()| panic!("boom"));
        let mut reg = Registry::new();
        reg.register(BOOM).expect("register");
        match reg.run("boom", serde_json::json!(null)) {
            Err(RunError::Panicked { message }) => assert_eq!(message, "boom"),
            other => panic!("{other:?}"),
        }
    }
}
