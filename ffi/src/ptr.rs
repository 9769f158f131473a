//! Handles and arguments: the only place raw pointers from C are turned into Rust values.
//!
//! Every handle type is an opaque C struct tied by [`Handle`] to the Rust value it points to;
//! the value lives in a `Box` made by [`into_raw`] and destroyed by [`free`]. Casting goes
//! through these helpers only, so a handle cannot be read as another type.

use crate::boundary::Failure;
use std::ffi::{c_char, CStr};

/// An opaque C handle type and the Rust value behind it.
pub(crate) trait Handle {
    /// The value a pointer to this handle type points to.
    type Rust;
}

/// Moves `value` to the heap and hands it out as a handle.
pub(crate) fn into_raw<C: Handle>(value: C::Rust) -> *mut C {
    Box::into_raw(Box::new(value)).cast()
}

/// Borrows the value behind a handle, `None` for NULL.
///
/// # Safety
/// `p` is NULL or was made by [`into_raw::<C>`] and not freed, and stays alive for `'a`.
pub(crate) unsafe fn borrow<'a, C: Handle>(p: *const C) -> Option<&'a C::Rust> {
    // SAFETY: per the contract above, a non-NULL `p` points to a live `C::Rust`.
    unsafe { p.cast::<C::Rust>().as_ref() }
}

/// Destroys the value behind a handle; NULL is a no-op.
///
/// # Safety
/// `p` is NULL or was made by [`into_raw::<C>`] and is not used afterwards.
pub(crate) unsafe fn free<C: Handle>(p: *mut C) {
    if !p.is_null() {
        // SAFETY: per the contract above, `p` came from `Box::into_raw` and is freed once.
        drop(unsafe { Box::from_raw(p.cast::<C::Rust>()) });
    }
}

/// A required handle argument.
///
/// # Safety
/// As [`borrow`].
pub(crate) unsafe fn arg<'a, C: Handle>(p: *const C, name: &str) -> Result<&'a C::Rust, Failure> {
    // SAFETY: forwarded.
    unsafe { borrow(p) }.ok_or_else(|| Failure::null(name))
}

/// A required string argument (NUL-terminated UTF-8).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays unchanged for `'a`.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded.
    unsafe { opt_str(p, name) }?.ok_or_else(|| Failure::null(name))
}

/// An optional string argument: `None` for NULL.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn opt_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: `p` is not NULL and, per the contract, NUL-terminated and alive for `'a`.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map(Some).map_err(|_| Failure::utf8(name))
}

/// An output argument, checked for NULL before any work is done and written only on success.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Writes the output (once the call has succeeded).
    pub(crate) fn put(self, value: T) {
        // SAFETY: `Out::new` checked that the pointer is not NULL, and its caller guaranteed
        // that it is valid for a write.
        unsafe { self.0.write(value) }
    }
}

/// A required output argument.
///
/// # Safety
/// `p` is NULL or valid for writing one `T`.
pub(crate) unsafe fn out<T>(p: *mut T, name: &str) -> Result<Out<T>, Failure> {
    if p.is_null() {
        Err(Failure::null(name))
    } else {
        Ok(Out(p))
    }
}
