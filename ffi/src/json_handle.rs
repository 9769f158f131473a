//! `idjag_json`: a JSON document handed out by the library.

use crate::boundary::infallible;
use crate::ptr::{self, Handle};
use serde::Serialize;
use std::ffi::c_char;
use std::io;
use zeroize::Zeroizing;

/// A JSON document made by the library (a discovery result, a verified grant, an inspected
/// token, a parsed challenge, the result of a leg). Read it with `idjag_json_str`, free it
/// with `idjag_json_free`. Immutable: safe to read from any thread. It may hold personal data
/// (claims such as `sub` or `email`), and holds a secret only where the function that made it
/// says so (the results of `idjag_client_request_id_jag` and `idjag_client_redeem_id_jag`);
/// its memory is zeroized when freed.
pub struct idjag_json {
    _private: [u8; 0],
}

/// The NUL-terminated JSON text.
pub(crate) struct JsonBox(Zeroizing<Vec<u8>>);

impl Handle for idjag_json {
    type Rust = JsonBox;
}

impl JsonBox {
    /// The document for `value`, written into a buffer of exactly its size (measured first),
    /// so that no reallocation leaves a copy of a secret member behind in freed memory.
    /// serde_json escapes every control character, so the text has no NUL byte.
    pub(crate) fn of<T: Serialize + ?Sized>(value: &T) -> JsonBox {
        let mut counter = Counter(0);
        let len = match serde_json::to_writer(&mut counter, value) {
            Ok(()) => counter.0,
            Err(_) => return JsonBox::null(),
        };
        let mut v = Zeroizing::new(Vec::with_capacity(len + 1));
        if serde_json::to_writer(&mut *v, value).is_err() || v.len() != len {
            return JsonBox::null();
        }
        v.push(0);
        JsonBox(v)
    }

    /// `null` (only for a value that cannot be serialized, which idjag's views never are).
    fn null() -> JsonBox {
        JsonBox(Zeroizing::new(b"null\0".to_vec()))
    }

    /// A new handle for `value`.
    pub(crate) fn into_handle<T: Serialize + ?Sized>(value: &T) -> *mut idjag_json {
        ptr::into_raw::<idjag_json>(JsonBox::of(value))
    }
}

/// Counts the bytes written to it.
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The JSON text of a document (UTF-8, NUL-terminated, compact).
///
/// # Ownership
/// Borrowed from `j`, valid until `idjag_json_free(j)`.
///
/// # NULL
/// Returns NULL for a NULL `j`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `j` is NULL or a live document.
#[no_mangle]
pub unsafe extern "C" fn idjag_json_str(j: *const idjag_json) -> *const c_char {
    infallible(std::ptr::null(), || {
        // SAFETY: forwarded from the caller.
        unsafe { ptr::borrow(j) }.map_or(std::ptr::null(), |b| b.0.as_ptr().cast())
    })
}

/// Frees a document (its memory is zeroized).
///
/// # Ownership
/// The string returned by `idjag_json_str(j)` becomes invalid.
///
/// # NULL
/// NULL is a no-op. Must not be called twice on the same document.
///
/// # Thread safety
/// No other thread may use `j` during or after the call.
///
/// # Safety
/// `j` is NULL or a live document, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn idjag_json_free(j: *mut idjag_json) {
    // SAFETY: forwarded.
    infallible((), || unsafe { ptr::free(j) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_fill_their_buffer_exactly() {
        let doc = JsonBox::of(&serde_json::json!({"a": "x\u{0}y", "b": [1, 2], "c": "é"}));
        assert_eq!(doc.0.len(), doc.0.capacity());
        assert_eq!(doc.0.last(), Some(&0));
        assert_eq!(doc.0.iter().filter(|b| **b == 0).count(), 1);
        let text = std::str::from_utf8(&doc.0[..doc.0.len() - 1]).expect("utf-8");
        assert_eq!(text, r#"{"a":"x\u0000y","b":[1,2],"c":"é"}"#);
    }
}
