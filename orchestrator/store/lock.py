"""The store's writer lock: one sweep driver or compaction at a time per results store.

``<store>.lock`` beside the database, held with ``flock`` by ``interop sweep
run``/``resume`` for their whole run and by ``interop store compact``; the
scheduler of ``interop serve`` looks at it before starting a sweep. The kernel
releases it when the holder dies, so a killed driver never leaves the store
locked. The file holds the holder's process id, for the message; it is never
deleted (deleting a flock'ed file lets a second process lock a new file of the
same name while the first still holds the old one).

A lock is per open file: two ``StoreLock`` objects in one process exclude each
other as two processes do.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from orchestrator.store.records import StoreError


class StoreBusy(StoreError):
    """Another process drives a sweep on this store or compacts it; ``holder`` is its process id."""

    def __init__(self, store_path: Path, holder: str):
        self.holder = holder
        super().__init__(
            f"results store {store_path} is busy: process {holder} is running a sweep or compacting it "
            f"(lock {lock_path(store_path)}); try again when it has finished"
        )


def lock_path(store_path: str | os.PathLike[str]) -> Path:
    return Path(f"{store_path}.lock")


class LockHeld(Exception):
    """``flock_with_pid`` found the file locked; ``holder`` is what the holder wrote (its process id)."""

    def __init__(self, holder: str):
        super().__init__(holder)
        self.holder = holder


def flock_with_pid(path: Path) -> int:
    """Lock ``path`` exclusively now (never waits) and write this process id into it; the open descriptor.

    ``LockHeld`` when another open file holds it. Closing the descriptor releases the lock.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        raise LockHeld(holder) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


class StoreLock:
    """``<store>.lock``, held exclusively while a sweep is driven or the store compacted."""

    def __init__(self, store_path: str | os.PathLike[str]):
        self.store_path = Path(store_path)
        self.path = lock_path(store_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock now or raise ``StoreBusy`` naming the holder; never waits."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fd = flock_with_pid(self.path)
        except LockHeld as held:
            raise StoreBusy(self.store_path, held.holder or "(unknown)") from None

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            os.close(fd)

    def holder(self) -> str | None:
        """The process id holding the lock, or None when it is free (a look, not a reservation)."""
        try:
            self.acquire()
        except StoreBusy as busy:
            return busy.holder
        except OSError:
            return None  # cannot even create the lock file: the sweep itself will say why
        self.release()
        return None

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
