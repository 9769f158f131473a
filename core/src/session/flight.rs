//! Single-flight cells: a cached value plus at most one fetch in flight, with no lock held
//! while the fetch runs (network I/O, thread spawns and user callbacks all happen outside).
//!
//! Waiters wait on the cell's condition variable for the flight they saw, then share its
//! value or its error. A thread that asks a cell for a value while it is itself the leader of
//! that cell's flight (an event callback calling back into the session) is never made to
//! wait for itself: the caller decides what it gets instead ([`Cell::get_or_fetch`]'s
//! `reentered`). A flight that unwinds (a panicking HTTP client or clock) is ended by an RAII
//! guard, so the cell never stays "in flight" forever.

use crate::error::{Error, Result, Step};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};

/// Locks a mutex, ignoring poisoning (no invariant of ours spans a panic: every critical
/// section is a few assignments).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct State<V> {
    value: Option<V>,
    /// The thread running the current flight, if any.
    leader: Option<ThreadId>,
    /// Number of the most recent flight (incremented when one starts).
    seq: u64,
    /// The error of flight `seq`, shared with the callers that waited for it.
    last_error: Option<(u64, Error)>,
}

/// A value cache with single-flight refresh. See the module documentation.
pub(crate) struct Cell<V> {
    state: Mutex<State<V>>,
    cond: Condvar,
}

impl<V> Default for Cell<V> {
    fn default() -> Self {
        Cell {
            state: Mutex::new(State {
                value: None,
                leader: None,
                seq: 0,
                last_error: None,
            }),
            cond: Condvar::new(),
        }
    }
}

/// What a flight's fetch produced and what the cell should keep.
impl<V: Clone> Cell<V> {
    /// The cached value, if any (no waiting).
    pub(crate) fn peek(&self) -> Option<V> {
        lock(&self.state).value.clone()
    }

    /// Runs `f` on the cached value under the cell's lock. `f` must be short: no I/O, no
    /// callbacks, no other session lock.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut Option<V>) -> R) -> R {
        f(&mut lock(&self.state).value)
    }

    /// Whether a flight is running now.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> bool {
        lock(&self.state).leader.is_some()
    }

    /// A cached value for which `usable` holds, else the result of `fetch`, run by exactly
    /// one caller at a time with no lock held; concurrent callers wait for that flight and
    /// share its value or error. When the calling thread is itself running this cell's
    /// flight (re-entry from a callback), `reentered` answers instead of waiting.
    pub(crate) fn get_or_fetch(
        &self,
        usable: impl Fn(&V) -> bool,
        fetch: impl FnOnce() -> Result<V>,
        reentered: impl FnOnce(Option<&V>) -> Result<V>,
    ) -> Result<V> {
        let me = thread::current().id();
        let mut g = lock(&self.state);
        loop {
            if let Some(v) = g.value.as_ref().filter(|v| usable(v)) {
                return Ok(v.clone());
            }
            match g.leader {
                Some(leader) if leader == me => return reentered(g.value.as_ref()),
                Some(_) => {
                    let seen = g.seq;
                    while g.leader.is_some() && g.seq == seen {
                        g = self.cond.wait(g).unwrap_or_else(|p| p.into_inner());
                    }
                    if let Some((flight, e)) = &g.last_error {
                        if *flight == seen {
                            return Err(e.clone());
                        }
                    }
                    if g.seq == seen {
                        // That flight published a value: it is the newest there is.
                        if let Some(v) = &g.value {
                            return Ok(v.clone());
                        }
                    }
                    continue;
                }
                None => {}
            }
            g.seq += 1;
            g.leader = Some(me);
            let flight = g.seq;
            drop(g);
            let guard = FlightGuard {
                cell: self,
                flight,
                armed: true,
            };
            let result = fetch();
            return guard.land(result);
        }
    }
}

/// Ends a flight: publishes the result, or (when dropped while armed, i.e. the fetch
/// unwound) an `internal` error, and wakes the waiters.
struct FlightGuard<'a, V> {
    cell: &'a Cell<V>,
    flight: u64,
    armed: bool,
}

impl<V: Clone> FlightGuard<'_, V> {
    fn land(mut self, result: Result<V>) -> Result<V> {
        self.armed = false;
        let mut g = lock(&self.cell.state);
        if g.seq == self.flight {
            g.leader = None;
            match &result {
                Ok(v) => {
                    g.value = Some(v.clone());
                    g.last_error = None;
                }
                Err(e) => g.last_error = Some((self.flight, e.clone())),
            }
        }
        drop(g);
        self.cell.cond.notify_all();
        result
    }
}

impl<V> Drop for FlightGuard<'_, V> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut g = lock(&self.cell.state);
        if g.seq == self.flight {
            g.leader = None;
            g.last_error = Some((
                self.flight,
                Error::internal(
                    Step::Transport,
                    "the request that other callers were waiting for panicked",
                ),
            ));
        }
        drop(g);
        self.cell.cond.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    #[test]
    fn one_fetch_for_many_waiters() {
        let cell = Arc::new(Cell::<u32>::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (cell, fetches, barrier) = (cell.clone(), fetches.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    cell.get_or_fetch(
                        |_| true,
                        || {
                            fetches.fetch_add(1, Ordering::SeqCst);
                            thread::sleep(std::time::Duration::from_millis(50));
                            Ok(7)
                        },
                        |_| unreachable!(),
                    )
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().expect("thread").expect("value"), 7);
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn reentry_from_the_leader_does_not_wait_for_itself() {
        let cell = Cell::<u32>::default();
        let inner = cell.get_or_fetch(
            |_| true,
            || {
                // A callback running inside the flight asks the same cell again.
                let again = cell.get_or_fetch(|_| true, || Ok(1), |v| Ok(v.copied().unwrap_or(99)));
                Ok(again.expect("re-entered") + 1)
            },
            |_| unreachable!(),
        );
        assert_eq!(inner.expect("value"), 100);
        assert!(!cell.in_flight());
    }

    #[test]
    fn a_panicking_fetch_does_not_wedge_the_cell() {
        let cell = Cell::<u32>::default();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = cell.get_or_fetch(|_| true, || panic!("boom"), |_| unreachable!());
        }));
        assert!(r.is_err());
        assert!(!cell.in_flight());
        assert_eq!(
            cell.get_or_fetch(|_| true, || Ok(5), |_| unreachable!())
                .expect("next flight"),
            5
        );
    }

    #[test]
    fn errors_are_shared_with_waiters_and_not_cached() {
        let cell = Cell::<u32>::default();
        let e = cell
            .get_or_fetch(
                |_| true,
                || Err(Error::invalid_argument("x")),
                |_| unreachable!(),
            )
            .expect_err("error");
        assert_eq!(e.message(), "x");
        assert_eq!(
            cell.get_or_fetch(|_| true, || Ok(3), |_| unreachable!())
                .expect("retry"),
            3
        );
    }
}
