#!/usr/bin/env python3
"""The interop matrix, generated from test results (issue 14 §4).

Every interop test that passes appends one JSON line to the file named by `IDJAG_MATRIX`
(scripts/test.sh sets it; Rust: `idjag_testkit::record_matrix`, Python:
`conftest.record_matrix`, Node: `recordMatrix` in bindings-node/__test__/kit.mjs, shell: a
one-line `echo`):

    {"client": ROW, "server": COLUMN, "test": "<path>::<test name>"}

This script turns that file into the table between the `<!-- interop-matrix -->` markers in
README.md and into docs/MATRIX.md (every cell with the tests that back it). A cell is filled
only by a passing test of this run; a cell no test can fill carries its reason from
`UNFILLABLE` below. It is an error for a cell to have neither (a promised test did not run or
failed to record) or both (the reason is stale).

usage:
    scripts/matrix.py --write RESULTS   rewrite README.md and docs/MATRIX.md
    scripts/matrix.py --check RESULTS   fail (exit 1, with a diff) unless they already match
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MATRIX_DOC = ROOT / "docs" / "MATRIX.md"
BEGIN, END = "<!-- interop-matrix:begin -->", "<!-- interop-matrix:end -->"

ROWS = {
    "rust": "idjag Rust crate",
    "c": "libidjag (C ABI)",
    "python": "idjag Python",
    "node": "idjag Node",
    "cli": "`idjag` CLI",
    "ts-sdk": "TS SDK `CrossAppAccessProvider`",
    "python-sdk": "Python SDK `IdentityAssertionOAuthProvider`",
    "rmcp": "rmcp enterprise client",
}
COLUMNS = {
    "testkit": "testkit AS",
    "keycloak": "Keycloak 26.7",
    "oidc-provider": "oidc-provider + idjag",
    "authlib": "Authlib + idjag",
    "conformance-0.1.16": "conformance 0.1.16",
    "conformance-0.2.0-alpha.12": "conformance 0.2.0-alpha.12",
}

# Cells no test in this repository can fill, with the reason (shown in the table as a
# numbered note). Keep it short and true; remove an entry when a test starts filling it.
UNFILLABLE: dict[tuple[str, str], str] = {}
for peer in ("ts-sdk", "python-sdk", "rmcp"):
    for version in ("0.1.16", "0.2.0-alpha.12"):
        UNFILLABLE[(peer, f"conformance-{version}")] = (
            "the conformance suite tests MCP clients; each peer SDK runs it from its own "
            "repository with its own conformance client, which is not run here (our four "
            "clients are, above)"
        )
for server, peer in (("oidc-provider", "ts-sdk"), ("authlib", "python-sdk")):
    for other in ("ts-sdk", "python-sdk", "rmcp"):
        if other != peer:
            UNFILLABLE[(other, server)] = (
                "each example AS is tested with one peer client, the SDK of its own language "
                "(TS SDK against oidc-provider, Python SDK against Authlib)"
            )
for version in ("0.1.16", "0.2.0-alpha.12"):
    UNFILLABLE[("cli", f"conformance-{version}")] = (
        "the conformance suite drives an MCP client through an MCP conversation; the CLI "
        "gets tokens and speaks no MCP"
    )

def load(results: Path) -> dict[tuple[str, str], list[str]]:
    cells: dict[tuple[str, str], list[str]] = {}
    for n, line in enumerate(results.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            client, server, test = r["client"], r["server"], r["test"]
        except (ValueError, KeyError, TypeError) as e:
            sys.exit(f"{results}:{n}: not a results line ({e}): {line[:200]!r}")
        if client not in ROWS or server not in COLUMNS:
            sys.exit(f"{results}:{n}: unknown row {client!r} or column {server!r}")
        tests = cells.setdefault((client, server), [])
        if test not in tests:
            tests.append(test)
    return cells


def render(cells: dict[tuple[str, str], list[str]]) -> tuple[str, str, list[str]]:
    problems: list[str] = []
    notes: list[str] = []
    header = "| client \\ server | " + " | ".join(COLUMNS.values()) + " |"
    lines = [header, "|---" * (len(COLUMNS) + 1) + "|"]
    for row, row_label in ROWS.items():
        out = []
        for col in COLUMNS:
            tests, why = cells.get((row, col)), UNFILLABLE.get((row, col))
            if tests and why:
                problems.append(f"({row}, {col}) passed {tests} but UNFILLABLE says: {why}")
            if tests:
                out.append(f"✅ {len(tests)}")
            elif why:
                if why not in notes:
                    notes.append(why)
                out.append(f"— [{notes.index(why) + 1}]")
            else:
                problems.append(f"({row}, {col}): no passing test recorded and no reason given")
                out.append("❌")
        lines.append(f"| {row_label} | " + " | ".join(out) + " |")
    table = "\n".join(lines)
    legend = (
        "✅ n: n distinct tests passed in the run that generated this table "
        "(`scripts/test.sh`; they are listed in [docs/MATRIX.md](docs/MATRIX.md))."
    )
    parts = [BEGIN, table, "", legend]
    if notes:
        parts += [""] + [f"- [{i}] {n}." for i, n in enumerate(notes, 1)]
    block = "\n".join(parts + [END])

    doc = [
        "# Interop matrix: the tests behind each cell",
        "",
        "Generated by `scripts/matrix.py` from the results of `scripts/test.sh` (do not edit by",
        "hand; the README's table is generated from the same results). Each line is a test",
        "that passed, against a real server on loopback.",
        "",
    ]
    for row, row_label in ROWS.items():
        doc.append(f"## {row_label}")
        doc.append("")
        for col, col_label in COLUMNS.items():
            tests = cells.get((row, col))
            if tests:
                doc.append(f"- **{col_label}**: " + "; ".join(f"`{t}`" for t in sorted(tests)))
            elif (row, col) in UNFILLABLE:
                doc.append(f"- **{col_label}**: not filled: {UNFILLABLE[(row, col)]}.")
            else:
                doc.append(f"- **{col_label}**: ❌ no passing test recorded.")
        doc.append("")
    return block, "\n".join(doc), problems


def spliced_readme(block: str) -> str:
    text = README.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"README.md lacks the {BEGIN} … {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + block + tail


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    ap.add_argument("results", type=Path)
    a = ap.parse_args()
    block, doc, problems = render(load(a.results))
    want = {README: spliced_readme(block), MATRIX_DOC: doc + "\n"}
    if a.write:
        for path, text in want.items():
            path.write_text(text)
        print(f"wrote {README.relative_to(ROOT)} and {MATRIX_DOC.relative_to(ROOT)}")
    else:
        stale = False
        for path, text in want.items():
            have = path.read_text() if path.exists() else ""
            if have != text:
                stale = True
                sys.stdout.writelines(
                    difflib.unified_diff(
                        have.splitlines(True), text.splitlines(True), str(path), "generated"
                    )
                )
        if stale:
            print(f"the interop matrix is stale: run scripts/matrix.py --write {a.results}", file=sys.stderr)
            return 1
        print("interop matrix: README.md and docs/MATRIX.md match this run")
    for p in problems:
        print(f"matrix: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
