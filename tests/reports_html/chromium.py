"""A minimal DevTools-protocol client for Debian's headless Chromium, over ``--remote-debugging-pipe``.

No websocket and no extra package: Chromium reads commands from fd 3 and
writes replies and events to fd 4, each message JSON ending in a NUL byte.
One browser serves a whole test session; each page is a fresh tab whose
console messages, exceptions, log entries (CSP violations among them) and
network requests are recorded. ``print_to_pdf`` runs Chromium's own
``--print-to-pdf`` in a browser of its own.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import itertools
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The flags this machine needs: no sandbox as root, no GPU, and nothing that
# phones home (the network is closed; background requests would only fail).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
)
TIMEOUT_S = 20.0


class DevToolsError(RuntimeError):
    pass


@dataclass
class Page:
    """One tab: its session id and what it logged since it was opened."""

    browser: Browser
    session_id: str
    target_id: str
    console: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (url, reason) stopped before leaving
    _request_urls: dict[str, str] = field(default_factory=dict)
    loaded: threading.Event = field(default_factory=threading.Event)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.send(method, params, session_id=self.session_id)

    def navigate(self, url: str) -> None:
        self.loaded.clear()
        reply = self.send("Page.navigate", url=url)
        if reply.get("errorText"):
            raise DevToolsError(f"navigation to {url} failed: {reply['errorText']}")
        if not self.loaded.wait(TIMEOUT_S):
            raise DevToolsError(f"{url} did not finish loading in {TIMEOUT_S} s")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (JSON-serialisable), raising on a script error."""
        reply = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in reply:
            raise DevToolsError(f"evaluation failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def screenshot(self, path: Path, *, selector: str | None = None, width: int = 1280) -> Path:
        """A PNG of the page's top (at most 4000 px) or of one element."""
        height = int(self.evaluate("document.documentElement.scrollHeight"))
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=min(height, 4000),
            deviceScaleFactor=1,
            mobile=False,
        )
        params: dict[str, Any] = {"format": "png"}
        if selector is not None:
            box = self.evaluate(
                f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
                " return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}; })()"
            )
            params.update(clip={**box, "scale": 1}, captureBeyondViewport=True)
        data = self.send("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and error/warning log entries."""
        found = [
            f"console.{m['type']}: {[a.get('value', a.get('description')) for a in m.get('args', [])]}"
            for m in self.console
            if m["type"] in ("error", "warning", "assert")
        ]
        found += [
            f"exception: {e['exceptionDetails'].get('text')} {e['exceptionDetails'].get('exception', {})}"
            for e in self.exceptions
        ]
        found += [
            f"log.{e['level']} ({e.get('source')}): {e.get('text')}"
            for e in self.log
            if e["level"] in ("error", "warning")
        ]
        return found

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target_id})
        self.browser.pages.pop(self.session_id, None)


class Browser:
    """A headless Chromium process driven through its DevTools pipe."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="spbe-chromium-")
        to_child_read, self._to_child = os.pipe()
        self._from_child, from_child_write = os.pipe()
        # Chromium wants the pipe on fds 3 and 4 exactly. Park both ends above
        # any fd the child could already use, then move them into place.
        parked_read = fcntl.fcntl(to_child_read, fcntl.F_DUPFD, 64)
        parked_write = fcntl.fcntl(from_child_write, fcntl.F_DUPFD, 64)
        os.close(to_child_read)
        os.close(from_child_write)

        def place_pipe() -> None:
            os.dup2(parked_read, 3)
            os.dup2(parked_write, 4)

        self.stderr_path = Path(self.profile) / "stderr.log"
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [
                    CHROMIUM,
                    *FLAGS,
                    f"--user-data-dir={self.profile}",
                    "--remote-debugging-pipe",
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                preexec_fn=place_pipe,
                close_fds=False,
                start_new_session=True,  # its own process group: renderers and zygote included
            )
        os.close(parked_read)
        os.close(parked_write)
        self.pages: dict[str, Page] = {}
        self._ids = itertools.count(1)
        self._waiting: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_loop, name="devtools-reader", daemon=True)
        self._reader.start()
        self.version = self.send("Browser.getVersion")["product"]

    # -- transport -----------------------------------------------------------

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, session_id: str | None = None
    ) -> dict:
        message_id = next(self._ids)
        reply: queue.Queue = queue.Queue(maxsize=1)
        with self._lock:
            self._waiting[message_id] = reply
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        try:
            answer = reply.get(timeout=TIMEOUT_S)
        except queue.Empty:
            raise DevToolsError(f"no reply to {method} in {TIMEOUT_S} s") from None
        if "error" in answer:
            raise DevToolsError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def _read_loop(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_child, 1 << 16)
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                self._dispatch(json.loads(raw))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            with self._lock:
                waiter = self._waiting.pop(message["id"], None)
            if waiter is not None:
                waiter.put(message)
            return
        page = self.pages.get(message.get("sessionId", ""))
        if page is None:
            return
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled":
            page.console.append(params)
        elif method == "Runtime.exceptionThrown":
            page.exceptions.append(params)
        elif method == "Log.entryAdded":
            page.log.append(params["entry"])
        elif method == "Network.requestWillBeSent":
            page.requests.append(params["request"]["url"])
            page._request_urls[params["requestId"]] = params["request"]["url"]
        elif method == "Network.loadingFailed" and params.get("blockedReason"):
            page.blocked.append((page._request_urls.get(params["requestId"], "?"), params["blockedReason"]))
        elif method == "Page.loadEventFired":
            page.loaded.set()

    # -- pages ---------------------------------------------------------------

    def new_page(self) -> Page:
        target_id = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session_id = self.send("Target.attachToTarget", {"targetId": target_id, "flatten": True})["sessionId"]
        page = Page(self, session_id, target_id)
        self.pages[session_id] = page
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        return page

    def open(self, url: str) -> Page:
        page = self.new_page()
        page.navigate(url)
        return page

    def close(self) -> None:
        """Ask the browser to quit, then make sure its process (by pid) is gone."""
        with contextlib.suppress(DevToolsError, OSError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            # Any helper process it left behind is in the group it leads.
            os.killpg(self.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while self._reader.is_alive() and time.monotonic() < deadline:
            self._reader.join(0.1)
        os.close(self._to_child)
        os.close(self._from_child)
        shutil.rmtree(self.profile, ignore_errors=True)


PRINT_TIMEOUT_S = 90.0


def print_to_pdf(page: Path, pdf: Path) -> Path:
    """Chromium's own ``--headless --print-to-pdf`` of a local file, as a user's "Save as PDF" would print it.

    A separate short-lived browser with its own profile, in its own process
    group, killed by that group's id if it outlives its deadline.
    """
    profile = tempfile.mkdtemp(prefix="spbe-chromium-pdf-")
    stderr_path = Path(profile) / "stderr.log"
    try:
        with open(stderr_path, "wb") as stderr:
            process = subprocess.Popen(
                [
                    CHROMIUM,
                    *FLAGS,
                    f"--user-data-dir={profile}",
                    "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}",
                    page.as_uri(),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
            try:
                process.wait(timeout=PRINT_TIMEOUT_S)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # the process and whatever it left behind
                process.wait(timeout=10)
        if process.returncode != 0 or not pdf.exists():
            log = stderr_path.read_text(errors="replace")[-2000:]
            raise DevToolsError(f"--print-to-pdf exited {process.returncode}: {log}")
        return pdf
    finally:
        shutil.rmtree(profile, ignore_errors=True)
