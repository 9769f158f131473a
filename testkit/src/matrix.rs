//! The interop matrix's results file (`scripts/matrix.py` turns it into the README table).
//!
//! When `IDJAG_MATRIX` names a file, an interop test that passed appends one JSON line
//! `{"client": ROW, "server": COLUMN, "test": "<path>::<name>"}` to it. Rows and columns are
//! listed in `scripts/matrix.py`; Python, Node and shell tests write the same line.

use std::io::Write;

/// Appends a passed interop result to `$IDJAG_MATRIX` (nothing when it is unset). Call it
/// only after the test's assertions have passed. Panics when the file cannot be written, so a
/// run that asked for results cannot silently lose one.
pub fn record_matrix(client: &str, server: &str, test: &str) {
    let Some(path) = std::env::var_os("IDJAG_MATRIX").filter(|p| !p.is_empty()) else {
        return;
    };
    let line =
        serde_json::json!({"client": client, "server": server, "test": test}).to_string() + "\n";
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("IDJAG_MATRIX={}: {e}", path.to_string_lossy()));
    // One write of a short line on an O_APPEND file: concurrent tests do not interleave.
    f.write_all(line.as_bytes())
        .unwrap_or_else(|e| panic!("IDJAG_MATRIX={}: {e}", path.to_string_lossy()));
}
