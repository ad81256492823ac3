"""Readers alongside the single writer: WAL lets them read consistent snapshots without blocking it."""

from __future__ import annotations

import sqlite3
import threading
import tracemalloc
from collections.abc import Iterator

import pytest

from orchestrator.store import Store
from probes.model import Status

from .conftest import CHECKS, endpoint, new_sweep, report


def _new_sweep(store: Store, count: int) -> tuple[str, list]:
    endpoints = [endpoint(i) for i in range(count)]
    return new_sweep(store, endpoints), endpoints


# Readers as the history commands and `interop serve` open the store (read-only), and as a writer would.
READERS = {"read-only": {"read_only": True}, "writer's connection": {"create": False}}


@pytest.mark.parametrize("reader_options", list(READERS.values()), ids=list(READERS))
def test_a_second_connection_reads_consistent_snapshots_while_the_writer_records(store_path, reader_options):
    writer = Store(store_path)
    sweep_id, endpoints = _new_sweep(writer, 400)
    batches = [endpoints[i : i + 20] for i in range(0, len(endpoints), 20)]
    observed: list[tuple[int, int]] = []
    reader_saw_new_data = threading.Event()
    writer_done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for batch in batches:
                reader_saw_new_data.clear()
                writer.record_many(sweep_id, [(e.endpoint_id, report(e.url)) for e in batch])
                # Let the reader see this batch before the next one so it sees every stage.
                reader_saw_new_data.wait(timeout=10)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the main thread
            errors.append(exc)
        finally:
            writer_done.set()

    def read() -> None:
        try:
            with Store(store_path, **reader_options) as reader:
                while True:
                    finished = writer_done.is_set()
                    progress = reader.progress(sweep_id)  # one snapshot
                    last_done = observed[-1][0] if observed else 0
                    observed.append((progress.done, sum(progress.by_status.values())))
                    if progress.done > last_done:
                        reader_saw_new_data.set()
                    if finished:
                        return
        except BaseException as exc:  # noqa: BLE001 - surfaced by the main thread
            errors.append(exc)
            reader_saw_new_data.set()

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    writer.close()

    assert errors == []
    # Never a half-recorded endpoint: results always match finished endpoints.
    assert all(results == done * len(CHECKS) for done, results in observed)
    # Progress only grows, and the reader saw the sweep at every batch boundary.
    dones = [done for done, _ in observed]
    assert dones == sorted(dones)
    assert set(range(20, 401, 20)) <= set(dones)
    assert dones[-1] == 400


@pytest.mark.parametrize("reader_options", list(READERS.values()), ids=list(READERS))
def test_an_open_reader_does_not_block_the_writer_and_keeps_its_snapshot(store_path, reader_options):
    writer = Store(store_path, busy_timeout_s=0.5)
    sweep_id, endpoints = _new_sweep(writer, 3)
    first, second, third = endpoints
    writer.record_many(sweep_id, [(e.endpoint_id, report(e.url)) for e in (first, second)])

    with Store(store_path, **reader_options) as reader:
        rows = reader.results(sweep_id)
        head = next(rows)  # the cursor now holds a read snapshot
        writer.record_many(
            sweep_id,
            [
                (third.endpoint_id, report(third.url)),
                (second.endpoint_id, report(second.url, {"SSH-KEX-001": Status.FAIL})),
            ],
        )
        rest = list(rows)
        # The open cursor still reads the snapshot it started with.
        assert [(r.endpoint_id, r.status.value) for r in [head, *rest]] == [
            (e.endpoint_id, "pass") for e in (first, second) for _ in CHECKS
        ]
        # A new read sees the commit.
        assert reader.pending(sweep_id) == []
        assert [r.status.value for r in reader.results(sweep_id) if r.endpoint_id == second.endpoint_id] == [
            "fail"
        ]
    writer.close()


def test_without_wal_the_same_open_reader_blocks_the_writer(tmp_path):
    # The control for the test above: it is WAL that makes it work.
    path = tmp_path / "journal.db"
    writer = Store(path, wal=False, busy_timeout_s=0.2)
    sweep_id, endpoints = _new_sweep(writer, 2)
    writer.record(sweep_id, endpoints[0].endpoint_id, report(endpoints[0].url))
    with Store(path, wal=False, create=False) as reader:
        rows = reader.results(sweep_id)
        next(rows)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            writer.record(sweep_id, endpoints[1].endpoint_id, report(endpoints[1].url))
        rows.close()
    # The failed batch was rolled back and the writer is usable again.
    assert writer.pending(sweep_id) == [endpoints[1].endpoint_id]
    writer.record(sweep_id, endpoints[1].endpoint_id, report(endpoints[1].url))
    assert writer.pending(sweep_id) == []
    writer.close()


def test_one_store_gives_each_thread_its_own_connection(store):
    sweep_id, _endpoints = _new_sweep(store, 1)
    seen: dict[str, int] = {}

    def use() -> None:
        seen[threading.current_thread().name] = id(store._conn())
        store.pending(sweep_id)

    threads = [threading.Thread(target=use, name=f"t{i}") for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen["main"] = id(store._conn())
    assert len(set(seen.values())) == 4


def _peak_python_memory(consume: Iterator) -> int:
    tracemalloc.start()
    try:
        consume()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_iterating_results_does_not_hold_the_whole_sweep_in_memory(store):
    sweep_id, endpoints = _new_sweep(store, 1500)
    for i in range(0, len(endpoints), 300):
        store.record_many(sweep_id, [(e.endpoint_id, report(e.url)) for e in endpoints[i : i + 300]])

    streamed = _peak_python_memory(lambda: sum(1 for _ in store.results(sweep_id)))
    materialised = _peak_python_memory(lambda: len(list(store.results(sweep_id))))
    assert streamed * 10 < materialised
