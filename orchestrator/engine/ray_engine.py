"""The Ray engine: each shard runs as one Ray task that streams batches back.

Embedded by default: ``start`` launches a single-node Ray on 127.0.0.1 with
no dashboard and no usage reporting, in a temp dir of its own, and ``close``
stops it and removes the directory. A start that fails is cleaned up and
tried once more; the error names the process that did not come up, with its
logs (``ray_start``). With an address it joins an existing cluster, after
checking that a Ray GCS answers there (so nothing waits on an address where
no cluster is), and ``close`` only disconnects.

Why one task per shard, not per probe: a task costs ~0.5 ms of scheduling
and a round trip; a shard task runs hundreds of probes concurrently under
asyncio with the per-host limit kept locally. The task is a streaming
generator (``num_returns="streaming"``): a batch leaves the worker every
~0.5 s or 32 results, so the driver stores results while the sweep runs and
a lost worker costs only its in-flight probes. ``max_retries=0``: Ray must
not replay a whole shard; the driver re-submits only what has no result.

Vantage routing: a shard of vantage X asks for a sliver of the custom
resource ``vantage:X`` (``VANTAGE_REQUEST``), so it can only be placed on a
node started with ``--resources '{"vantage:X": 1}'``.

The worker runs the shard coroutine in a thread with its own event loop and
hands batches to the generator through a queue, so probing never pauses
while a batch is serialised. A batch travels as ``pickle`` bytes made in the
worker: Ray would serialise it with cloudpickle, whose per-object Python
hook costs ~0.5 ms per endpoint against ~0.1 ms for the C pickler (measured
on batches of 32 real reports, py-spy put it at 3.5 % of a shard worker);
every class in a batch is importable by name, which is all pickle needs.
"""

from __future__ import annotations

import contextlib
import os

# Before Ray is imported: nothing may leave the machine, and a single node
# must stay on loopback.
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
# Start-up waits, lengthened for a busy 2-core machine (an operator's own
# setting wins). Ray reads both from the environment (verified on 2.60).
RAY_WAITS = {
    # How long Ray waits for a new GCS to publish its port (default 30 s).
    "RAY_gcs_server_port_wait_time_s": "120",
    # How long the driver waits for a new raylet to register with the GCS
    # (C++ GlobalStateAccessor::GetNode, default 10 s; node.py adds a
    # hard-coded 30 s only between such waits, so this sets the bound). The
    # raylet registers after its Python agents have imported Ray: 5 s here
    # idle, 16 s beside 16 busy processes.
    "RAY_raylet_start_wait_time_s": "90",
}
for _name, _value in RAY_WAITS.items():
    os.environ.setdefault(_name, _value)
# Ray runs workers at nice 15. Our workers are the sweep itself: on a shared
# machine (a CI runner) at nice 15 they starve behind any busy process, and a
# re-submitted shard could wait minutes for its worker to start.
os.environ.setdefault("RAY_worker_niceness", "0")

import asyncio
import logging
import pickle
import queue
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TypedDict

import ray
import ray.exceptions

from orchestrator.engine import Engine, EngineError, ShardLost
from orchestrator.engine.plan import Shard
from orchestrator.engine.ray_start import check_gcs, describe_failed_start, gcs_wait, kill_processes
from orchestrator.engine.shard import Batch, ProbeJob, batches
from orchestrator.processes import descendants

VANTAGE_PREFIX = "vantage:"
VANTAGE_REQUEST = 0.001  # of a node's vantage:X (any amount > 0 pins the task there)
SHARD_CPUS = 1
RECHECK_S = 1.0  # how often a waiting stream re-checks its vantage / its worker's silence
# A running shard sends a batch or a heartbeat every few seconds
# (shard.HEARTBEAT_S); this much silence means its worker hangs.
STALL_TIMEOUT_S = 120.0
LOOPBACK = "127.0.0.1"
# Batches are small: the object store only needs room for a few in flight.
EMBEDDED_OBJECT_STORE_BYTES = 128 * 1024 * 1024
EMBEDDED_START_ATTEMPTS = 2  # one clean retry: a start can lose a race for a port on a shared machine
JOIN_GCS_ATTEMPTS = 5


class _InitOptions(TypedDict):
    include_dashboard: bool
    log_to_driver: bool
    logging_level: int
    configure_logging: bool


class _Running(TypedDict, total=False):
    loop: asyncio.AbstractEventLoop
    task: asyncio.Task[Any] | None


_INIT_COMMON: _InitOptions = {
    "include_dashboard": False,
    "log_to_driver": False,
    "logging_level": logging.WARNING,
    "configure_logging": True,
}
_AUTH_SETUP_LOGGER = "ray._private.authentication.authentication_token_setup"
_DONE = object()
log = logging.getLogger(__name__)


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


@ray.remote(num_returns="streaming", max_retries=0)
def probe_shard(shard: Shard, job: ProbeJob, max_items: int, interval_s: float) -> Iterator[bytes]:
    """Ray task: run one shard, yield its batches (pickled, see the module doc) as they fill up."""
    node_id = ray.get_runtime_context().get_node_id()
    pid = os.getpid()
    worker = f"{node_id}:{pid}"
    results: queue.SimpleQueue = queue.SimpleQueue()
    running: _Running = {}
    started = threading.Event()

    async def pump() -> None:
        running["loop"] = asyncio.get_running_loop()
        running["task"] = asyncio.current_task()
        started.set()
        async for batch in batches(
            shard, job, worker, pid, node_id, max_items=max_items, interval_s=interval_s
        ):
            results.put(batch)

    def run() -> None:
        try:
            asyncio.run(pump())
        except BaseException as exc:  # noqa: BLE001 - handed to the generator, raised there
            results.put(_Failed(exc))
        finally:
            started.set()
            results.put(_DONE)

    thread = threading.Thread(target=run, name=f"shard-{shard.key}", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = results.get(timeout=0.5)  # a timeout keeps Ray's cancellation responsive
            except queue.Empty:
                continue
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise RuntimeError(
                    f"shard {shard.key} failed: {type(item.exc).__name__}: {item.exc}"
                ) from item.exc
            yield pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        # Cancelled or closed early: stop the probes, let asyncio.run clean up.
        started.wait(timeout=5)
        loop, task = running.get("loop"), running.get("task")
        if thread.is_alive() and loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=10)


class RayEngine(Engine):
    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        *,
        max_items: int = 32,
        interval_s: float = 0.5,
    ):
        self.address = address
        self.num_cpus = num_cpus or os.cpu_count() or 1
        self._max_items = max_items
        self._interval_s = interval_s
        self._job_refs: dict[int, tuple[ProbeJob, ray.ObjectRef]] = {}
        self._temp_dir: Path | None = None

    # -- lifecycle -----------------------------------------------------------

    @property
    def start_message(self) -> str:
        if self.address:
            return f"joining Ray at {self.address}"
        return "starting an embedded Ray node on 127.0.0.1"

    def start(self) -> None:
        if ray.is_initialized():
            raise EngineError(
                "Ray is already initialised in this process; cannot start or join another cluster"
            )
        if self.address:
            self._join(self.address)
        else:
            self._start_embedded()

    def _join(self, address: str) -> None:
        # Ask the address first: ray.init alone retries for minutes when no GCS answers.
        check_gcs(address)
        # Ray makes RAY_gcs_server_port_wait_time_s connect attempts when joining
        # too (each ~40 s if the GCS vanished since the check): a few will do.
        try:
            with gcs_wait(JOIN_GCS_ATTEMPTS):
                ray.init(address=address, **_INIT_COMMON)
        except Exception as exc:  # Ray raises many types for "cannot connect"
            self.close()
            raise EngineError(f"cannot join the Ray cluster at {address}: {exc}") from exc

    def _start_embedded(self) -> None:
        """A single node on loopback in a temp dir of its own; one clean retry if it does not come up."""
        # Token auth stays on (Ray's default for a new node); only Ray's
        # warning that it is on is silenced.
        logging.getLogger(_AUTH_SETUP_LOGGER).setLevel(logging.ERROR)
        failures: list[str] = []
        for attempt in range(1, EMBEDDED_START_ATTEMPTS + 1):
            before = descendants(os.getpid())
            # Its own directory: no other Ray on the machine shares its session,
            # and a failed start's logs are where we look for them.
            temp_dir = self._temp_dir = Path(tempfile.mkdtemp(prefix="interop-ray-"))
            try:
                ray.init(
                    address="local",  # never pick up RAY_ADDRESS: embedded means our own node
                    num_cpus=self.num_cpus,
                    object_store_memory=EMBEDDED_OBJECT_STORE_BYTES,
                    _node_ip_address=LOOPBACK,
                    _temp_dir=str(temp_dir),
                    **_INIT_COMMON,
                )
                return
            except Exception as exc:  # noqa: BLE001 - Ray raises many types for "cannot start"
                failures.append(f"attempt {attempt}: {describe_failed_start(temp_dir, exc)}")
                with contextlib.suppress(Exception):  # best effort: its processes are killed next
                    ray.shutdown()
                kill_processes(descendants(os.getpid()) - before)
                self._temp_dir = None  # the last attempt's files stay for the error message
                if attempt < EMBEDDED_START_ATTEMPTS:
                    shutil.rmtree(temp_dir, ignore_errors=True)
                    log.warning("embedded Ray node did not start; trying once more:\n%s", failures[-1])
        raise EngineError(
            f"cannot start an embedded Ray node ({EMBEDDED_START_ATTEMPTS} attempts):\n"
            + "\n".join(failures)
            + f"\nRay's files of the last attempt are kept in {temp_dir}"
        )

    def close(self) -> None:
        """Disconnect; an embedded node (started by ``start``) is stopped with it."""
        self._job_refs.clear()
        if ray.is_initialized():
            ray.shutdown()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def describe(self) -> str:
        return f"ray@{self.address}" if self.address else "ray"

    # -- cluster shape -------------------------------------------------------

    @staticmethod
    def _alive_nodes() -> list[dict]:
        return [node for node in ray.nodes() if node.get("Alive")]

    def _cpus_for(self, vantage: str | None) -> float:
        cpus = 0.0
        for node in self._alive_nodes():
            resources = node.get("Resources", {})
            if vantage is None or resources.get(VANTAGE_PREFIX + vantage, 0) >= VANTAGE_REQUEST:
                cpus += resources.get("CPU", 0.0)
        return cpus

    def slots(self, vantage: str | None) -> int:
        return max(1, int(self._cpus_for(vantage) // SHARD_CPUS))

    def missing_vantages(self, vantages: set[str]) -> list[str]:
        return sorted(v for v in vantages if self._cpus_for(v) < SHARD_CPUS)

    def node_vantages(self) -> dict[str, list[str]]:
        """Alive node id -> the vantages it carries (for messages and tests)."""
        return {
            node["NodeID"]: sorted(
                key[len(VANTAGE_PREFIX) :]
                for key in node.get("Resources", {})
                if key.startswith(VANTAGE_PREFIX)
            )
            for node in self._alive_nodes()
        }

    # -- running shards ----------------------------------------------------------

    def _job_ref(self, job: ProbeJob) -> ray.ObjectRef:
        # One copy of the selection and options in the object store per sweep.
        cached = self._job_refs.get(id(job))
        if cached is None or cached[0] is not job:
            cached = self._job_refs[id(job)] = (job, ray.put(job))
        return cached[1]

    async def stream(self, shard: Shard, job: ProbeJob) -> AsyncIterator[Batch]:
        options: dict = {"num_cpus": SHARD_CPUS}
        if shard.vantage is not None:
            options["resources"] = {VANTAGE_PREFIX + shard.vantage: VANTAGE_REQUEST}
        generator = probe_shard.options(**options).remote(
            shard, self._job_ref(job), self._max_items, self._interval_s
        )
        finished = stalled = False
        try:
            started = False
            while (ref := await self._next(generator, shard, started)) is not None:
                started = True
                yield pickle.loads(await ref)  # noqa: S301 - our own worker's batch (module doc)
            finished = True
        except ray.exceptions.RayError as exc:
            finished = True  # nothing left to cancel
            raise ShardLost(_describe_loss(exc)) from exc
        except _Stalled as exc:
            stalled = True
            raise ShardLost(str(exc)) from None
        finally:
            if not finished:  # the driver stopped listening (Ctrl-C, lost vantage, stalled worker)
                with contextlib.suppress(Exception):  # best effort: Ray is shut down right after
                    ray.cancel(generator, force=stalled)

    async def _next(
        self, generator: ray.ObjectRefGenerator, shard: Shard, started: bool
    ) -> ray.ObjectRef[bytes] | None:
        """The next batch's ref, or None at the end.

        Before the task starts, re-check its vantage: Ray keeps a task no node
        can take pending forever. Once it runs, a worker that sends nothing
        for ``STALL_TIMEOUT_S`` (not even its heartbeat) is given up.
        """
        pending = asyncio.ensure_future(generator.__anext__())
        waited = 0.0
        try:
            while True:
                done, _ = await asyncio.wait({pending}, timeout=RECHECK_S)
                if done:
                    try:
                        return pending.result()
                    except StopAsyncIteration:
                        return None
                waited += RECHECK_S
                if not started and shard.vantage is not None and not self.can_run(shard.vantage):
                    raise ShardLost(f"no alive node carries vantage {shard.vantage}")
                if started and waited >= STALL_TIMEOUT_S:
                    raise _Stalled(f"worker silent for {waited:.0f} s")
        finally:
            if not pending.done():
                pending.cancel()


class _Stalled(Exception):
    pass


def _describe_loss(exc: BaseException) -> str:
    kinds = {
        ray.exceptions.WorkerCrashedError: "worker process died",
        ray.exceptions.NodeDiedError: "node died",
        ray.exceptions.ObjectLostError: "batch lost with its node",
    }
    for kind, text in kinds.items():
        if isinstance(exc, kind):
            return text
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {first_line[:300]}"
