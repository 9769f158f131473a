//! The kit's one locking helper, below every other module (no imports of the kit's own).

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, ignoring poisoning (a panicking test thread must not wedge the kit).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
