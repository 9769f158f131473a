//! The library version.

use crate::boundary::infallible;
use std::ffi::{c_char, CStr};

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("the version has no NUL byte"),
    };

/// The version of the library actually loaded, e.g. `"0.1.0"`: compare it with
/// `IDJAG_VERSION`, the version of the header the program was compiled with.
///
/// # Ownership
/// The string is static: never free it.
///
/// # Thread safety
/// Safe from any thread.
#[no_mangle]
pub extern "C" fn idjag_version() -> *const c_char {
    infallible(std::ptr::null(), || VERSION.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(idjag_version()) };
        assert_eq!(v.to_str().expect("ascii"), env!("CARGO_PKG_VERSION"));
    }
}
