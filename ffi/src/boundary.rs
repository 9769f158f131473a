//! The boundary every export runs inside: panics are caught (never unwind into C, never abort
//! the host), failures become an [`idjag_result`] plus an optional `idjag_error`.

use crate::error::{idjag_error, ErrorBox};
use crate::ptr;
use crate::result::idjag_result;
use idjag::{Error, ErrorKind, Step};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Why an export failed: the C result and the error object describing it.
pub(crate) struct Failure {
    pub(crate) result: idjag_result,
    pub(crate) error: Error,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            result: idjag_result::of_kind(error.kind()),
            error,
        }
    }
}

impl Failure {
    /// A required pointer argument was NULL.
    pub(crate) fn null(name: &str) -> Failure {
        Failure {
            result: idjag_result::IDJAG_NULL_PARAMETER,
            error: Error::invalid_argument(format!("argument `{name}` is NULL")),
        }
    }

    /// A string argument was not UTF-8.
    pub(crate) fn utf8(name: &str) -> Failure {
        Failure {
            result: idjag_result::IDJAG_INVALID_UTF8,
            error: Error::invalid_argument(format!("argument `{name}` is not valid UTF-8")),
        }
    }

    /// The caller's buffer cannot hold the answer.
    pub(crate) fn buffer_too_small(name: &str, needed: usize) -> Failure {
        Failure {
            result: idjag_result::IDJAG_BUFFER_TOO_SMALL,
            error: Error::invalid_argument(format!(
                "buffer `{name}` is too small: {needed} bytes are needed"
            )),
        }
    }

    /// idjag panicked (a bug): the panic was caught at the boundary.
    pub(crate) fn panic() -> Failure {
        Failure {
            result: idjag_result::IDJAG_PANIC,
            error: Error::new(
                ErrorKind::Internal,
                Step::Transport,
                "idjag panicked; the panic was caught at the C boundary (please report this bug)",
            ),
        }
    }
}

/// What the body of a fallible export returns.
pub(crate) type Outcome = Result<(), Failure>;

/// Runs the body of a fallible export: `IDJAG_OK`, or the failure's result with a new error
/// object written to `*err` when `err` is not NULL. A panic in `body` becomes `IDJAG_PANIC`.
///
/// # Safety
/// `err` must be NULL or valid for writing one pointer.
pub(crate) unsafe fn fallible(
    err: *mut *mut idjag_error,
    body: impl FnOnce() -> Outcome,
) -> idjag_result {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return idjag_result::IDJAG_OK,
        Ok(Err(f)) => f,
        Err(_) => Failure::panic(),
    };
    let result = failure.result;
    if !err.is_null() {
        if let Ok(e) = catch_unwind(AssertUnwindSafe(|| {
            ptr::into_raw::<idjag_error>(ErrorBox::new(failure))
        })) {
            // SAFETY: `err` is not NULL and the caller guarantees it is valid for a write.
            unsafe { err.write(e) };
        }
    }
    result
}

/// Runs the body of an export that cannot fail (accessors, `_free`): `on_panic` if it panics.
pub(crate) fn infallible<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{idjag_error_code, idjag_error_free, idjag_error_result};
    use std::ffi::CStr;

    /// A stand-in export whose body panics, as any export's body would if idjag had a bug.
    unsafe extern "C" fn panicking_export(err: *mut *mut idjag_error) -> idjag_result {
        // SAFETY: forwarded from the caller.
        unsafe {
            fallible(err, || {
                let v: Vec<u8> = Vec::new();
                let _ = v[std::hint::black_box(3)];
                Ok(())
            })
        }
    }

    #[test]
    fn a_panic_becomes_idjag_panic_and_the_host_lives_on() {
        let mut err: *mut idjag_error = std::ptr::null_mut();
        // SAFETY: `err` is a valid out-pointer.
        let r = unsafe { panicking_export(&mut err) };
        assert_eq!(r, idjag_result::IDJAG_PANIC);
        assert!(!err.is_null());
        // SAFETY: a live error handle.
        unsafe {
            assert_eq!(idjag_error_result(err), idjag_result::IDJAG_PANIC);
            assert_eq!(CStr::from_ptr(idjag_error_code(err)), c"internal");
            idjag_error_free(err);
        }
        // Without an error out-pointer too.
        // SAFETY: NULL is allowed.
        let r = unsafe { panicking_export(std::ptr::null_mut()) };
        assert_eq!(r, idjag_result::IDJAG_PANIC);
        // And the next call works.
        // SAFETY: NULL is allowed.
        let ok = unsafe { fallible(std::ptr::null_mut(), || Ok(())) };
        assert_eq!(ok, idjag_result::IDJAG_OK);
    }

    #[test]
    fn accessors_answer_their_default_on_panic() {
        let v: *const u8 = infallible(std::ptr::null(), || panic!("boom"));
        assert!(v.is_null());
        assert_eq!(infallible(0u16, || panic!("boom")), 0);
    }
}
