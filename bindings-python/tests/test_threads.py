"""The GIL is released around every network call: threads really overlap."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import idjag
from conftest import Kit

DELAY_MS = 400
THREADS = 3  # the testkit serves each endpoint with 4 workers; keep one spare


def run_parallel(n: int, fn: Callable[[int], object]) -> list[tuple[float, float]]:
    """Runs fn(0..n) on n threads, started 25 ms apart, and returns each call's (start, end).

    The stagger (n * 25 ms, well below the injected delay) works around the testkit's HTTP
    server (tiny_http 0.12), whose connection task pool can lose a burst of simultaneous new
    connections until an older one closes."""
    barrier = threading.Barrier(n)

    def run(i: int) -> tuple[float, float]:
        barrier.wait()
        time.sleep(0.025 * i)
        start = time.perf_counter()
        fn(i)
        return start, time.perf_counter()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def assert_overlapped(spans: list[tuple[float, float]]) -> None:
    """Every call had started before the first one returned. With the GIL held across the
    native call, no other thread could even take its start time until that call was done, so
    this holds only if the GIL is released; unlike a wall-time bound it does not depend on
    how loaded the machine is or how fast the server answers."""
    last_start = max(s for s, _ in spans)
    first_end = min(e for _, e in spans)
    assert last_start < first_end, spans


def test_low_level_calls_overlap(kit: Kit) -> None:
    kit.fault("idp_token", {"type": "delay", "ms": DELAY_MS})
    client = idjag.Client()
    tokens = [kit.id_token() for _ in range(THREADS)]
    spans = run_parallel(
        THREADS,
        lambda i: client.request_id_jag(
            kit.idp_token_endpoint, kit.as_issuer, tokens[i], kit.idp_client, resource=kit.mcp_url
        ),
    )
    assert_overlapped(spans)
    assert kit.counters()["idp_token"] == THREADS


def test_sessions_overlap_and_python_keeps_running(kit: Kit) -> None:
    kit.fault("as_token", {"type": "delay", "ms": DELAY_MS})
    sessions = [idjag.Session(kit.config()) for _ in range(THREADS)]
    ticks = 0
    stop = threading.Event()

    def spin() -> None:  # pure-Python work that needs the GIL meanwhile
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        spans = run_parallel(THREADS, lambda i: sessions[i].access_token(kit.mcp_url))
    finally:
        stop.set()
        spinner.join()
    assert_overlapped(spans)
    # The spinner ran while the calls waited (≥ 400 ms of 1 ms naps); with the GIL held it
    # would have counted only in the gaps between calls.
    assert ticks > 50, ticks


def test_one_session_many_threads_single_flight(kit: Kit) -> None:
    kit.fault("idp_token", {"type": "delay", "ms": 200})
    s = idjag.Session(kit.config())
    s.discover(kit.mcp_url)
    results: list[str] = []
    lock = threading.Lock()

    def get(_: int) -> None:
        t = s.access_token(kit.mcp_url).access_token
        with lock:
            results.append(t)

    run_parallel(16, get)
    assert len(set(results)) == 1
    c = kit.counters()
    assert (c["idp_token"], c["as_token"]) == (1, 1)
