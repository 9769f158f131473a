//! Strings handed out to C: NUL-terminated copies owned by their handle.

use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// A NUL-terminated copy of `s`. A NUL byte inside `s` (never in idjag's own text; possible
/// only in a server-supplied value) is dropped, so C sees the whole rest of the string.
pub(crate) fn lossy(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| {
        let clean: Vec<u8> = s.bytes().filter(|b| *b != 0).collect();
        CString::new(clean).unwrap_or_default()
    })
}

/// The pointer of an optional string, NULL for `None`.
pub(crate) fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_deref().map_or(std::ptr::null(), CStr::as_ptr)
}

/// A string computed on first use and kept by its handle: `get` always returns the same
/// pointer, valid as long as the handle.
#[derive(Default)]
pub(crate) struct Lazy(OnceLock<CString>);

impl Lazy {
    pub(crate) fn get(&self, make: impl FnOnce() -> CString) -> *const c_char {
        self.0.get_or_init(make).as_ptr()
    }
}

/// A NUL-terminated copy of a secret, zeroized when dropped.
pub(crate) struct SecretCString(Zeroizing<Vec<u8>>);

impl SecretCString {
    /// A copy of `s`, or `None` when `s` contains a NUL byte (C would see a truncated secret).
    pub(crate) fn new(s: &str) -> Option<SecretCString> {
        if s.as_bytes().contains(&0) {
            return None;
        }
        let mut v = Zeroizing::new(Vec::with_capacity(s.len() + 1));
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        Some(SecretCString(v))
    }

    /// `prefix` followed by `s` (`prefix` is a literal without NUL).
    pub(crate) fn prefixed(prefix: &'static str, s: &SecretCString) -> SecretCString {
        debug_assert!(!prefix.as_bytes().contains(&0));
        let mut v = Zeroizing::new(Vec::with_capacity(prefix.len() + s.0.len()));
        v.extend_from_slice(prefix.as_bytes());
        v.extend_from_slice(&s.0);
        SecretCString(v)
    }

    /// The bytes, without the terminating NUL.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0[..self.0.len() - 1]
    }

    pub(crate) fn as_ptr(&self) -> *const c_char {
        self.0.as_ptr().cast()
    }
}

/// A [`SecretCString`] computed on first use.
#[derive(Default)]
pub(crate) struct LazySecret(OnceLock<SecretCString>);

impl LazySecret {
    pub(crate) fn get(&self, make: impl FnOnce() -> SecretCString) -> *const c_char {
        self.0.get_or_init(make).as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_drops_nul_bytes() {
        assert_eq!(lossy("a\0b").as_bytes(), b"ab");
        assert_eq!(lossy("plain").as_bytes(), b"plain");
    }

    #[test]
    fn secrets_with_nul_are_refused() {
        assert!(SecretCString::new("a\0b").is_none());
        let s = SecretCString::new("tok").expect("no NUL");
        assert_eq!(s.bytes(), b"tok");
        // SAFETY: NUL-terminated by construction.
        assert_eq!(unsafe { CStr::from_ptr(s.as_ptr()) }, c"tok");
    }
}
