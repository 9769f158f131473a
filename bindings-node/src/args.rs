//! Argument conversion that never echoes a value: napi-rs's generated conversions put the
//! rejected value into their message (`Failed to convert JavaScript value \`…\``), which could
//! be a token passed in the wrong place. Every string argument is taken as `unknown` and
//! converted here; a wrong type throws an `invalid_argument` `IdjagError` naming the argument.

use crate::errors;
use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::{Env, JsValue, Result, ValueType};

pub(crate) fn is_absent(v: &Unknown<'_>) -> Result<bool> {
    Ok(matches!(
        v.get_type()?,
        ValueType::Undefined | ValueType::Null
    ))
}

/// A required string.
pub(crate) fn string(env: &Env, v: Unknown<'_>, name: &str) -> Result<String> {
    match v.get_type()? {
        ValueType::String => v.coerce_to_string()?.into_utf8()?.into_owned(),
        _ => Err(errors::invalid_argument(
            env,
            &format!("`{name}` must be a string"),
        )),
    }
}

/// An optional string (`undefined` and `null` are absent).
pub(crate) fn opt_string(env: &Env, v: Option<Unknown<'_>>, name: &str) -> Result<Option<String>> {
    match v {
        None => Ok(None),
        Some(v) if is_absent(&v)? => Ok(None),
        Some(v) => string(env, v, name).map(Some),
    }
}

/// A string or a URL object (`String(url)`).
pub(crate) fn url(env: &Env, v: Unknown<'_>, name: &str) -> Result<String> {
    match v.get_type()? {
        ValueType::String => string(env, v, name),
        ValueType::Object => {
            let o = v.coerce_to_object()?;
            match o.get_named_property::<Unknown>("href")?.get_type()? {
                ValueType::String => o
                    .get_named_property::<Unknown>("href")
                    .and_then(|h| string(env, h, name)),
                _ => Err(errors::invalid_argument(
                    env,
                    &format!("`{name}` must be a URL string"),
                )),
            }
        }
        _ => Err(errors::invalid_argument(
            env,
            &format!("`{name}` must be a URL string"),
        )),
    }
}

/// An array of strings (`undefined`/`null`: `None`).
pub(crate) fn strings(env: &Env, v: Unknown<'_>, key: &str) -> Result<Option<Vec<String>>> {
    if is_absent(&v)? {
        return Ok(None);
    }
    let bad = || errors::invalid_argument(env, &format!("`{key}` must be an array of strings"));
    if !v.is_array()? {
        return Err(bad());
    }
    let arr = v.coerce_to_object()?;
    let len: u32 = arr.get_named_property("length")?;
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        let item: Unknown = arr.get_element(i)?;
        if item.get_type()? != ValueType::String {
            return Err(bad());
        }
        out.push(string(env, item, key)?);
    }
    Ok(Some(out))
}

/// An input object (not `null`, not an array).
pub(crate) fn object<'e>(env: &Env, v: Unknown<'e>, name: &str) -> Result<Object<'e>> {
    if v.get_type()? == ValueType::Object && !v.is_array()? {
        return v.coerce_to_object();
    }
    Err(errors::invalid_argument(
        env,
        &format!("`{name}` must be an object"),
    ))
}

/// An optional options object.
pub(crate) fn opt_object<'e>(
    env: &Env,
    v: Option<Unknown<'e>>,
    name: &str,
) -> Result<Option<Object<'e>>> {
    match v {
        None => Ok(None),
        Some(v) if is_absent(&v)? => Ok(None),
        Some(v) => object(env, v, name).map(Some),
    }
}

/// An optional number member (`undefined`/`null` absent), as an integer within `[min, max]`.
pub(crate) fn opt_int(
    env: &Env,
    o: Option<&Object<'_>>,
    key: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>> {
    let Some(o) = o else { return Ok(None) };
    let v: Unknown = o.get_named_property(key)?;
    if is_absent(&v)? {
        return Ok(None);
    }
    let bad = || {
        errors::invalid_argument(
            env,
            &format!("`{key}` must be an integer in [{min}, {max}]"),
        )
    };
    if v.get_type()? != ValueType::Number {
        return Err(bad());
    }
    let n = v.coerce_to_number()?.get_double()?;
    if n.fract() != 0.0 || n < min as f64 || n > max as f64 {
        return Err(bad());
    }
    Ok(Some(n as i64))
}

/// An HTTP status code (100–599).
pub(crate) fn status(env: &Env, v: Unknown<'_>) -> Result<u16> {
    let bad = || errors::invalid_argument(env, "`status` must be an HTTP status code");
    if v.get_type()? != ValueType::Number {
        return Err(bad());
    }
    let n = v.coerce_to_number()?.get_double()?;
    if n.fract() != 0.0 || !(100.0..=599.0).contains(&n) {
        return Err(bad());
    }
    Ok(n as u16)
}

/// Refuses members of an options object other than `known` (a misspelt option would
/// otherwise be ignored silently). The message names the member when it looks like an
/// identifier, and never shows a value.
pub(crate) fn known_keys(env: &Env, o: Option<&Object<'_>>, known: &[&str]) -> Result<()> {
    let Some(o) = o else { return Ok(()) };
    let names = o.get_property_names()?;
    let len: u32 = names.get_named_property("length")?;
    for i in 0..len {
        let name: Unknown = names.get_element(i)?;
        if name.get_type()? != ValueType::String {
            continue;
        }
        let name = name.coerce_to_string()?.into_utf8()?.into_owned()?;
        if known.contains(&name.as_str()) {
            continue;
        }
        let shown = name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let which = if shown {
            format!("unknown option `{name}`")
        } else {
            "an unknown option".to_string()
        };
        return Err(errors::invalid_argument(
            env,
            &format!("{which}: expected {}", known.join(", ")),
        ));
    }
    Ok(())
}
