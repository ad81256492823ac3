"""Run and resume sweeps: inventory × profile → plan → engine → store.

``run_sweep`` validates everything first (inventory, profile, engine,
vantages) and only then creates the sweep in the store: a configuration
mistake exits with nothing probed and no sweep recorded. ``resume_sweep``
re-reads the same inventory and profile (refusing if either changed) and
probes only the endpoints without a result.

Interruptions: SIGINT or SIGTERM cancels outstanding work, keeps every
result already received and marks the sweep ``interrupted`` (exit 130). A
driver killed outright leaves its sweep ``running`` with partial results;
``resume`` finishes it. A per-sweep lock file (``flock``, released by the
kernel when the process dies) stops two drivers working on one sweep, and
the store's lock (``orchestrator.store.lock``) two drivers, or a driver and a
compaction, working on one store: a busy store raises ``SweepStoreBusy``
(exit 75, ``EXIT_BUSY``) with nothing probed.

Progress goes to the ``SweepObserver`` the caller passes (the terminal's is
``orchestrator.cli.progress.SweepProgress``); by default nothing is reported.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.engine import (
    DEFAULT_ENGINE,
    ENGINES,
    Engine,
    EngineError,
    engine_names,
    make_engine,
)
from orchestrator.engine.driver import DriveStats, Observer, QuietObserver, Sink, SweepObserver, drive
from orchestrator.engine.limits import Limits
from orchestrator.engine.plan import Plan, PlannedEndpoint, make_plan, planned_endpoint
from orchestrator.engine.shard import Finished, ProbeJob
from orchestrator.inventory import EndpointRef, EndpointSet, InventoryError, load_endpoint_set
from orchestrator.inventory.yaml_nodes import ConfigError
from orchestrator.metrics.live import LiveObserver
from orchestrator.profiles import BUILTIN_DIR, DEFAULT_PROFILE, Profile, load_profile
from orchestrator.store import Recording, Store, StoreError, SweepState
from orchestrator.store.lock import LockHeld, StoreLock, flock_with_pid

DEFAULT_STORE = Path(".interop/results.db")
EXIT_OK, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 1, 130
EXIT_BUSY = 75  # sysexits EX_TEMPFAIL: the store is busy (SweepStoreBusy), nothing probed; try again later


class SweepConfigError(Exception):
    """Nothing was probed: the inventory, profile, options or cluster do not allow this sweep."""


class SweepStoreBusy(SweepConfigError):
    """Nothing was probed: another sweep driver or a compaction holds the store's lock."""


@dataclass
class SweepOutcome:
    sweep_id: str
    state: SweepState
    total: int  # endpoints in the sweep
    done: int  # endpoints with a result, overall
    probed: int  # endpoints finished by this run
    elapsed_s: float
    store_path: Path
    resume_command: str | None
    stats: DriveStats = field(default_factory=DriveStats)
    counts: dict[str, int] = field(default_factory=dict)  # results by status, overall
    unreachable: int = 0

    @property
    def exit_code(self) -> int:
        return {
            SweepState.COMPLETE: EXIT_OK,
            SweepState.INTERRUPTED: EXIT_INTERRUPTED,
        }.get(self.state, EXIT_INCOMPLETE)

    def summary_line(self) -> str:
        rate = self.probed / self.elapsed_s if self.elapsed_s > 0 else 0.0
        counts = (
            ", ".join(f"{status} {count}" for status, count in sorted(self.counts.items())) or "no results"
        )
        return (
            f"sweep {self.sweep_id} {self.state.value}: {self.done}/{self.total} endpoints done "
            f"({self.probed} probed in {self.elapsed_s:.1f} s, {rate:.1f}/s); {counts}; "
            f"unreachable {self.unreachable}"
        )


# --------------------------------------------------------------------------
# Pieces.
# --------------------------------------------------------------------------


class StoreSink:
    """Writes each batch in one transaction and keeps nothing but the count."""

    def __init__(self, store: Store, sweep_id: str):
        self.store = store
        self.sweep_id = sweep_id
        self.written = 0  # endpoints finished by this run

    def write(self, items: Sequence[Finished]) -> None:
        self.store.record_many(
            self.sweep_id,
            [Recording(i.endpoint_id, i.report, i.attempts, i.error_class, i.worker) for i in items],
        )
        self.written += len(items)


class SweepLock:
    """``<store>.<sweep id>.lock``, held with ``flock`` while a driver works on the sweep."""

    def __init__(self, store_path: Path, sweep_id: str):
        self.path = Path(f"{store_path}.{sweep_id}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self._fd = flock_with_pid(self.path)
        except LockHeld as held:
            holder = held.holder or "another process"
            raise SweepConfigError(
                f"sweep {self.path.name.split('.')[-2]} is being run by process {holder}"
            ) from None

    def release(self) -> None:
        if self._fd is not None:
            try:
                self.path.unlink(missing_ok=True)
            finally:
                os.close(self._fd)
                self._fd = None


def _lock_store(store_path: Path) -> StoreLock:
    """The store's lock; ``SweepStoreBusy`` when another driver or a compaction holds it."""
    lock = StoreLock(store_path)
    try:
        lock.acquire()
    except StoreError as exc:  # StoreBusy
        raise SweepStoreBusy(str(exc)) from None
    except OSError as exc:
        raise SweepConfigError(f"cannot lock results store {store_path}: {exc}") from None
    return lock


def profile_reference(profile: Profile) -> str:
    """How to load this profile again on resume: a built-in name, else an absolute path."""
    source = Path(profile.source).resolve()
    if source.parent == BUILTIN_DIR and source.stem == profile.name:
        return profile.name
    return str(source)


def resume_command(sweep_id: str, store_path: Path) -> str:
    """The exact command that finishes a sweep; engine, address and limits default to the recorded ones."""
    return f"interop sweep resume {sweep_id} --store {shlex.quote(str(store_path))}"


def _load_profile(profile: str | Path | Profile) -> Profile:
    if isinstance(profile, Profile):
        return profile
    try:
        return load_profile(profile)
    except ConfigError as exc:
        raise SweepConfigError(str(exc)) from None


def _load_inventory(path: Path) -> EndpointSet:
    try:
        return load_endpoint_set(path)
    except InventoryError as exc:
        raise SweepConfigError(str(exc)) from None


def _plan_endpoints(
    refs: Iterable[EndpointRef], engine_name: str, ignore_vantage: bool
) -> list[PlannedEndpoint]:
    refs = list(refs)
    if not ENGINES[engine_name].cluster and not ignore_vantage:
        vantages = sorted({ref.vantage for ref in refs if ref.vantage})
        if vantages:
            raise SweepConfigError(
                f"the {engine_name} engine probes from this machine only, but endpoints need vantage(s) "
                f"{', '.join(vantages)}: use --engine {engine_names(cluster=True)} with a cluster that has "
                "them, or --ignore-vantage"
            )
    return [planned_endpoint(ref, ignore_vantage=ignore_vantage) for ref in refs]


def _check_engine_choice(engine_name: str, ray_address: str | None) -> None:
    if engine_name not in ENGINES:
        raise SweepConfigError(f"unknown engine {engine_name!r}: choose {engine_names()}")
    if ray_address and not ENGINES[engine_name].cluster:
        raise SweepConfigError(f"--ray-address needs --engine {engine_names(cluster=True)}")


def _start_engine(
    engine_name: str,
    ray_address: str | None,
    num_cpus: int | None,
    endpoints: list[PlannedEndpoint],
    observer: SweepObserver,
) -> Engine:
    engine = make_engine(engine_name, ray_address=ray_address, num_cpus=num_cpus)
    try:
        if engine.start_message:
            observer.status(f"{engine.start_message} …")
        try:
            engine.start()
        finally:
            if engine.start_message:
                observer.status(None)
        wanted = {e.vantage for e in endpoints if e.vantage is not None}
        missing = engine.missing_vantages(wanted)
        if missing:
            where = f"the Ray cluster at {ray_address}" if ray_address else "the embedded Ray node"
            raise SweepConfigError(
                f"no node of {where} carries vantage(s) {', '.join(missing)} "
                f"(start a node there with --resources '{{\"vantage:{missing[0]}\": 1}}', "
                f"or use --ignore-vantage)"
            )
    except EngineError as exc:
        engine.close()
        raise SweepConfigError(str(exc)) from None
    except BaseException:
        engine.close()
        raise
    return engine


async def _drive_until_signal(
    engine: Engine, plan: Plan, job: ProbeJob, sink: Sink, progress: Observer | None, max_resubmits: int
) -> tuple[DriveStats | None, bool]:
    """Run the drive; SIGINT/SIGTERM cancel it. Returns (stats or None, interrupted)."""
    loop = asyncio.get_running_loop()
    work = asyncio.ensure_future(drive(engine, plan, job, sink, progress, max_resubmits=max_resubmits))
    interrupted = False
    signals = (signal.SIGINT, signal.SIGTERM) if threading.current_thread() is threading.main_thread() else ()

    def on_signal() -> None:
        nonlocal interrupted
        interrupted = True
        work.cancel()
        for sig in signals:  # a second Ctrl-C is not intercepted: it stops at once
            loop.remove_signal_handler(sig)

    for sig in signals:
        loop.add_signal_handler(sig, on_signal)
    try:
        return await work, False
    except asyncio.CancelledError:
        if interrupted:
            return None, True
        raise
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def _execute(
    store: Store,
    sweep_id: str,
    engine: Engine,
    endpoints: list[PlannedEndpoint],
    job: ProbeJob,
    observer: SweepObserver,
    max_resubmits: int,
) -> SweepOutcome:
    plan = make_plan(endpoints, job.limits, engine.slots)
    before = store.progress(sweep_id)
    sink = StoreSink(store, sweep_id)
    state = SweepState.FAILED
    stats: DriveStats | None = None
    started = time.monotonic()
    try:
        observer.sweep_started(before.total, before.done)
        try:
            # The live row lets `interop serve` report in-flight work of this sweep.
            with LiveObserver(store, sweep_id, plan, inner=observer) as live:
                stats, interrupted = asyncio.run(
                    _drive_until_signal(engine, plan, job, sink, live, max_resubmits)
                )
        finally:
            observer.sweep_ended()
        if interrupted:
            state = SweepState.INTERRUPTED
        elif stats is not None and stats.complete and not store.pending(sweep_id):
            state = SweepState.COMPLETE
    except KeyboardInterrupt:
        state = SweepState.INTERRUPTED
    finally:
        engine.close()
        store.set_state(sweep_id, state)
    after = store.progress(sweep_id)
    return SweepOutcome(
        sweep_id=sweep_id,
        state=state,
        total=after.total,
        done=after.done,
        probed=sink.written,
        elapsed_s=time.monotonic() - started,
        store_path=store.path,
        resume_command=None if state is SweepState.COMPLETE else resume_command(sweep_id, store.path),
        stats=stats or DriveStats(),
        counts=after.by_status,
        unreachable=after.unreachable,
    )


# --------------------------------------------------------------------------
# The two entry points.
# --------------------------------------------------------------------------


def run_sweep(
    inventory_path: str | os.PathLike[str],
    profile: str | Path | Profile = DEFAULT_PROFILE,
    store_path: str | os.PathLike[str] = DEFAULT_STORE,
    engine: str = DEFAULT_ENGINE,
    ray_address: str | None = None,
    *,
    limits: Limits | None = None,
    ignore_vantage: bool = False,
    num_cpus: int | None = None,
    max_resubmits: int = 3,
    observer: SweepObserver | None = None,
) -> SweepOutcome:
    """Sweep every endpoint of the inventory with the profile; see the module doc.

    Raises ``SweepConfigError`` (nothing probed, no sweep recorded) for a bad
    inventory, profile, engine choice or a vantage no node carries.
    """
    observer = observer or QuietObserver()
    limits = limits or Limits()
    _check_engine_choice(engine, ray_address)
    inventory_path = Path(inventory_path).resolve()
    store_path = Path(store_path)
    selected = _load_profile(profile)
    inventory = _load_inventory(inventory_path)
    if len(inventory) == 0:
        raise SweepConfigError(f"{inventory_path}: the inventory lists no endpoints")
    endpoints = _plan_endpoints(inventory.refs, engine, ignore_vantage)
    store_lock = _lock_store(store_path)
    try:
        eng = _start_engine(engine, ray_address, num_cpus, endpoints, observer)
    except BaseException:
        store_lock.release()
        raise
    store = lock = None
    try:
        store = Store(store_path)
        options: dict[str, Any] = {
            "limits": limits.to_dict(),
            "ignore_vantage": ignore_vantage,
            "num_cpus": num_cpus,
            "max_resubmits": max_resubmits,
            "profile_ref": profile_reference(selected),
        }
        sweep_id = store.create_sweep(
            inventory_path=str(inventory_path),
            inventory_hash=inventory.content_hash,
            inventory_name=inventory_path.stem,
            profile=selected.name,
            profile_hash=selected.digest,
            engine=eng.describe(),
            endpoints=[e.meta for e in endpoints],
            options=options,
        )
        lock = SweepLock(store_path, sweep_id)
        lock.acquire()
        job = ProbeJob(selected.selection, selected.options, limits, inventory.scope.allows)
        return _execute(store, sweep_id, eng, endpoints, job, observer, max_resubmits)
    finally:
        eng.close()
        if lock is not None:
            lock.release()
        if store is not None:
            store.close()
        store_lock.release()


def resume_sweep(
    sweep_id: str,
    store_path: str | os.PathLike[str] = DEFAULT_STORE,
    engine: str | None = None,
    ray_address: str | None = None,
    *,
    limits: Limits | None = None,
    retry_errors: bool = False,
    ignore_vantage: bool | None = None,
    num_cpus: int | None = None,
    max_resubmits: int | None = None,
    observer: SweepObserver | None = None,
) -> SweepOutcome:
    """Probe what sweep ``sweep_id`` has no result for (and, with ``retry_errors``,
    what failed with an error class), then complete it.

    The engine, limits and vantage handling default to what the sweep ran with.
    """
    observer = observer or QuietObserver()
    store_path = Path(store_path)
    try:
        store = Store(store_path, create=False)
    except StoreError as exc:
        raise SweepConfigError(str(exc)) from None
    lock = eng = store_lock = None
    try:
        try:
            sweep = store.get_sweep(sweep_id)
        except StoreError as exc:
            raise SweepConfigError(str(exc)) from None
        store_lock = _lock_store(store_path)
        lock = SweepLock(store_path, sweep.id)
        lock.acquire()
        recorded_engine, _, recorded_address = sweep.engine.partition("@")
        engine = engine or (recorded_engine if recorded_engine in ENGINES else DEFAULT_ENGINE)
        same_cluster = engine == recorded_engine and engine in ENGINES and ENGINES[engine].cluster
        if ray_address is None and same_cluster:
            ray_address = recorded_address or None
        _check_engine_choice(engine, ray_address)
        options = sweep.options
        limits = limits or Limits(**options.get("limits", {}))
        ignore_vantage = options.get("ignore_vantage", False) if ignore_vantage is None else ignore_vantage
        num_cpus = num_cpus if num_cpus is not None else options.get("num_cpus")
        max_resubmits = max_resubmits if max_resubmits is not None else options.get("max_resubmits", 3)

        inventory = _load_inventory(Path(sweep.inventory_path))
        if inventory.content_hash != sweep.inventory_hash:
            raise SweepConfigError(
                f"{sweep.inventory_path} changed since sweep {sweep.id} started: "
                "resuming would mix two inventories; start a new sweep instead"
            )
        selected = _load_profile(options.get("profile_ref", sweep.profile))
        if selected.digest != sweep.profile_hash:
            raise SweepConfigError(
                f"profile {sweep.profile} changed since sweep {sweep.id} started: "
                "resuming would mix two profiles; start a new sweep instead"
            )
        pending = store.pending(sweep.id, retry_errors=retry_errors)
        if not pending:
            if sweep.state is not SweepState.COMPLETE:
                store.set_state(sweep.id, SweepState.COMPLETE)
            progress = store.progress(sweep.id)
            return SweepOutcome(
                sweep_id=sweep.id,
                state=SweepState.COMPLETE,
                total=progress.total,
                done=progress.done,
                probed=0,
                elapsed_s=0.0,
                store_path=store_path,
                resume_command=None,
                counts=progress.by_status,
                unreachable=progress.unreachable,
            )
        endpoints = _plan_endpoints((inventory.endpoint(eid) for eid in pending), engine, ignore_vantage)
        eng = _start_engine(engine, ray_address, num_cpus, endpoints, observer)
        store.set_state(sweep.id, SweepState.RUNNING, finished=False)
        job = ProbeJob(selected.selection, selected.options, limits, inventory.scope.allows)
        return _execute(store, sweep.id, eng, endpoints, job, observer, max_resubmits)
    finally:
        if eng is not None:
            eng.close()
        if lock is not None:
            lock.release()
        if store_lock is not None:
            store_lock.release()
        store.close()
