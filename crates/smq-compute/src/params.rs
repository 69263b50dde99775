//! Typed plugin parameters: specifications with defaults, and values.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::ComputeError;

/// The kind (type) of a plugin parameter.
///
/// # Examples
///
/// ```
/// use smq_compute::ParamKind;
/// assert_eq!(ParamKind::Float.to_string(), "float");
/// assert_eq!(ParamKind::Choice(&["a", "b"]).to_string(), "one of a, b");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `true` or `false`.
    Bool,
    /// A signed integer.
    Int,
    /// A floating-point number (integers are accepted and converted).
    Float,
    /// Free text.
    Text,
    /// One of a fixed list of strings.
    Choice(&'static [&'static str]),
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamKind::Bool => f.write_str("bool"),
            ParamKind::Int => f.write_str("int"),
            ParamKind::Float => f.write_str("float"),
            ParamKind::Text => f.write_str("text"),
            ParamKind::Choice(options) => write!(f, "one of {}", options.join(", ")),
        }
    }
}

/// The value of a plugin parameter.
///
/// # Examples
///
/// ```
/// use smq_compute::ParamValue;
/// assert_eq!(ParamValue::from(3_i64), ParamValue::Int(3));
/// assert_eq!(ParamValue::from("hann").to_string(), "hann");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string (also used for [`ParamKind::Choice`]).
    Text(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Text(v) => f.write_str(v),
        }
    }
}

impl From<bool> for ParamValue {
    fn from(v: bool) -> Self {
        ParamValue::Bool(v)
    }
}

impl From<i64> for ParamValue {
    fn from(v: i64) -> Self {
        ParamValue::Int(v)
    }
}

impl From<f64> for ParamValue {
    fn from(v: f64) -> Self {
        ParamValue::Float(v)
    }
}

impl From<&str> for ParamValue {
    fn from(v: &str) -> Self {
        ParamValue::Text(v.to_owned())
    }
}

impl From<String> for ParamValue {
    fn from(v: String) -> Self {
        ParamValue::Text(v)
    }
}

/// Description of one parameter of a plugin: what a user interface needs to
/// show a field for it.
///
/// # Examples
///
/// ```
/// let p = smq_compute::plugin("savgol").unwrap();
/// let window = p.params().into_iter().find(|s| s.name == "window").unwrap();
/// assert_eq!(window.kind, smq_compute::ParamKind::Int);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// Parameter name, the key in [`Params`].
    pub name: &'static str,
    /// Its kind.
    pub kind: ParamKind,
    /// The value used when the parameter is not given.
    pub default: ParamValue,
    /// One-line explanation for users.
    pub description: &'static str,
}

impl ParamSpec {
    /// A new parameter specification.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::{ParamKind, ParamSpec};
    /// let spec = ParamSpec::new("bins", ParamKind::Int, 10_i64, "number of bins");
    /// assert_eq!(spec.default.to_string(), "10");
    /// ```
    pub fn new(
        name: &'static str,
        kind: ParamKind,
        default: impl Into<ParamValue>,
        description: &'static str,
    ) -> Self {
        Self {
            name,
            kind,
            default: default.into(),
            description,
        }
    }

    /// Checks `value` against this spec and converts it to the canonical
    /// type (an integer given for a float becomes a float).
    fn coerce(&self, value: &ParamValue) -> Result<ParamValue, ComputeError> {
        let mismatch = || ComputeError::ParameterType {
            name: self.name.to_owned(),
            expected: self.kind.to_string(),
        };
        match (self.kind, value) {
            (ParamKind::Bool, ParamValue::Bool(_))
            | (ParamKind::Int, ParamValue::Int(_))
            | (ParamKind::Float, ParamValue::Float(_))
            | (ParamKind::Text, ParamValue::Text(_)) => Ok(value.clone()),
            (ParamKind::Float, ParamValue::Int(v)) => Ok(ParamValue::Float(*v as f64)),
            (ParamKind::Choice(options), ParamValue::Text(v)) => {
                if options.contains(&v.as_str()) {
                    Ok(value.clone())
                } else {
                    Err(mismatch())
                }
            }
            _ => Err(mismatch()),
        }
    }
}

/// Named parameter values given to [`Plugin::run`](crate::Plugin::run).
///
/// Missing parameters take the default of their [`ParamSpec`].
///
/// # Examples
///
/// ```
/// use smq_compute::Params;
/// let p = Params::new().with("bins", 20_i64).with("window", "hann");
/// assert_eq!(p.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<String, ParamValue>,
}

impl Params {
    /// No parameters: every one takes its default.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(smq_compute::Params::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a parameter, builder style.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::{ParamValue, Params};
    /// let p = Params::new().with("degree", 3_i64);
    /// assert_eq!(p.get("degree"), Some(&ParamValue::Int(3)));
    /// ```
    pub fn with(mut self, name: &str, value: impl Into<ParamValue>) -> Self {
        self.set(name, value);
        self
    }

    /// Sets a parameter.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut p = smq_compute::Params::new();
    /// p.set("fs", 1000.0);
    /// assert!(p.get("fs").is_some());
    /// ```
    pub fn set(&mut self, name: &str, value: impl Into<ParamValue>) {
        self.values.insert(name.to_owned(), value.into());
    }

    /// The value given for `name`, if any (defaults are not filled in).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(smq_compute::Params::new().get("x").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.values.get(name)
    }

    /// Number of parameters given.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_compute::Params::new().with("a", true).len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no parameter was given.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!smq_compute::Params::new().with("a", 1.0).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Checks these values against `specs` and fills in defaults.
    ///
    /// # Errors
    ///
    /// [`ComputeError::UnknownParameter`] for a name not in `specs`,
    /// [`ComputeError::ParameterType`] for a value of the wrong kind or a
    /// choice not among the options.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::{ParamKind, ParamSpec, Params};
    /// let specs = [ParamSpec::new("fs", ParamKind::Float, 1.0, "sampling rate")];
    /// let p = Params::new().with("fs", 10_i64).resolve(&specs)?;
    /// assert_eq!(p.float("fs")?, 10.0);
    /// assert!(Params::new().with("fz", 1.0).resolve(&specs).is_err());
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn resolve(&self, specs: &[ParamSpec]) -> Result<Params, ComputeError> {
        if let Some(unknown) = self
            .values
            .keys()
            .find(|k| !specs.iter().any(|s| s.name == k.as_str()))
        {
            return Err(ComputeError::UnknownParameter(unknown.clone()));
        }
        let mut values = BTreeMap::new();
        for spec in specs {
            let value = match self.values.get(spec.name) {
                Some(v) => spec.coerce(v)?,
                None => spec.default.clone(),
            };
            values.insert(spec.name.to_owned(), value);
        }
        Ok(Params { values })
    }

    fn lookup(&self, name: &str) -> Result<&ParamValue, ComputeError> {
        self.values
            .get(name)
            .ok_or_else(|| ComputeError::UnknownParameter(name.to_owned()))
    }

    fn wrong(name: &str, expected: &str) -> ComputeError {
        ComputeError::ParameterType {
            name: name.to_owned(),
            expected: expected.to_owned(),
        }
    }

    /// The boolean parameter `name`.
    ///
    /// # Errors
    ///
    /// [`ComputeError::UnknownParameter`] when absent,
    /// [`ComputeError::ParameterType`] when not a boolean.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(smq_compute::Params::new().with("a", true).bool("a")?);
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn bool(&self, name: &str) -> Result<bool, ComputeError> {
        match self.lookup(name)? {
            ParamValue::Bool(v) => Ok(*v),
            _ => Err(Self::wrong(name, "bool")),
        }
    }

    /// The integer parameter `name`.
    ///
    /// # Errors
    ///
    /// As for [`Params::bool`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_compute::Params::new().with("n", 4_i64).int("n")?, 4);
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn int(&self, name: &str) -> Result<i64, ComputeError> {
        match self.lookup(name)? {
            ParamValue::Int(v) => Ok(*v),
            _ => Err(Self::wrong(name, "int")),
        }
    }

    /// The integer parameter `name` as a count or length.
    ///
    /// # Errors
    ///
    /// As for [`Params::int`], plus [`ComputeError::InvalidParameter`] for a
    /// negative value.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::Params;
    /// assert_eq!(Params::new().with("n", 4_i64).usize("n")?, 4);
    /// assert!(Params::new().with("n", -4_i64).usize("n").is_err());
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn usize(&self, name: &str) -> Result<usize, ComputeError> {
        let v = self.int(name)?;
        usize::try_from(v)
            .map_err(|_| ComputeError::invalid(name, format!("must be non-negative, got {v}")))
    }

    /// The floating-point parameter `name` (integers are converted).
    ///
    /// # Errors
    ///
    /// As for [`Params::bool`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_compute::Params::new().with("x", 2_i64).float("x")?, 2.0);
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn float(&self, name: &str) -> Result<f64, ComputeError> {
        match self.lookup(name)? {
            ParamValue::Float(v) => Ok(*v),
            ParamValue::Int(v) => Ok(*v as f64),
            _ => Err(Self::wrong(name, "float")),
        }
    }

    /// The text (or choice) parameter `name`.
    ///
    /// # Errors
    ///
    /// As for [`Params::bool`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_compute::Params::new().with("w", "hann").text("w")?, "hann");
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn text(&self, name: &str) -> Result<&str, ComputeError> {
        match self.lookup(name)? {
            ParamValue::Text(v) => Ok(v),
            _ => Err(Self::wrong(name, "text")),
        }
    }
}
