//! JSON values to Python objects (claims, headers, metadata documents).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

/// Converts a JSON value into the equivalent Python object (`dict`, `list`, `str`, `int`,
/// `float`, `bool`, `None`).
pub(crate) fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for item in a {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(o) => map_to_py(py, o)?.into_any(),
    })
}

/// Converts a JSON object into a `dict`.
pub(crate) fn map_to_py<'py>(
    py: Python<'py>,
    m: &serde_json::Map<String, Value>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in m {
        d.set_item(k, json_to_py(py, v)?)?;
    }
    Ok(d)
}

/// A JSON text from a `str` (used as is) or any JSON-serialisable object (`json.dumps`).
pub(crate) fn json_text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = obj.extract::<String>() {
        return Ok(s);
    }
    let json = obj.py().import("json")?;
    json.call_method1("dumps", (obj,))?.extract()
}

/// A Python-style string literal (what `repr(str)` prints), for `__repr__` methods.
pub(crate) fn q(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `q(s)` or `None`.
pub(crate) fn q_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_string(), q)
}

/// `q(s)` or `None` (the name the `repr`s use).
pub(crate) fn py_opt(s: Option<&str>) -> String {
    q_opt(s)
}

/// A subject token type from its short name (`id_token`, `saml2`, `refresh_token`) or URN.
pub(crate) fn subject_type(s: &str) -> PyResult<idjag::SubjectTokenType> {
    idjag::SubjectTokenType::parse(s).ok_or_else(|| {
        crate::errors::to_py_new(
            idjag::ErrorKind::InvalidArgument,
            "subject_token_type must be `id_token`, `saml2` or `refresh_token` (or the URN)",
        )
    })
}

/// A Python-style list of string literals.
pub(crate) fn q_list<S: AsRef<str>>(items: &[S]) -> String {
    let inner: Vec<String> = items.iter().map(|s| q(s.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::q;

    #[test]
    fn q_matches_python_repr() {
        assert_eq!(q("abc"), "'abc'");
        assert_eq!(q("a'b"), "\"a'b\"");
        assert_eq!(q("a\"b'c"), "'a\"b\\'c'");
        assert_eq!(q("x\ny\\"), "'x\\ny\\\\'");
        assert_eq!(q("\u{1}"), "'\\x01'");
    }
}
