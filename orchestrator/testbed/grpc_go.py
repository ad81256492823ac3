"""grpc-go's official interop server and client, built offline from Debian, and run.

    python -m orchestrator.testbed.grpc_go build [--dir build/grpc-go]

    peers = build()
    with start_server(peers, workdir, tls=(cert, key)) as server:   # in its own network namespace
        subprocess.run(in_namespace(server, ["interop", "check", f"grpcs://127.0.0.1:{server.port}", ...]))
    run_client(peers, port, "large_unary", tls=(ca_path, "localhost"))

Idempotent: the binaries are cached under ``build/grpc-go/bin`` with a stamp
naming what they were built from, and rebuilt only when that changes. A build
that cannot complete raises ``BuildError`` (exit 1 from the command line): the
tests that use these peers never skip for want of them.

What goes in, all from Debian:

- the grpc-go library of ``golang-google-grpc-dev`` (installed, /usr/share/gocode);
- ``interop/`` of the source package ``golang-google-grpc`` of the same
  version (``apt-get source --download-only``, unpacked by ``dpkg-source``);
- ``golang-google-protobuf-dev`` and ``golang-github-golang-protobuf-1-5-dev``,
  downloaded and unpacked into the build directory, first on GOPATH (nothing
  is installed): ``interop/grpc_testing`` is generated for the protobuf APIv2,
  while ``golang-google-grpc-dev`` is satisfied by the installed
  ``golang-github-golang-protobuf-1-3-dev``, which predates it.

apt runs with a private configuration: its own sources list (a ``deb`` and a
``deb-src`` line for the Debian mirror the machine is configured with), lists
and cache under the build directory, so the system's apt state is untouched.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import platform
import pwd
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.testbed.process import ServerProcess, launch

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "build" / "grpc-go"
APT_SOURCES = Path("/etc/apt")
SYSTEM_GOPATH = Path("/usr/share/gocode")
LIBRARY_PACKAGE = "golang-google-grpc-dev"
SOURCE_PACKAGE = "golang-google-grpc"
PROTOBUF_PACKAGES = ("golang-google-protobuf-dev", "golang-github-golang-protobuf-1-5-dev")
PROGRAMS = {name: f"google.golang.org/grpc/interop/{name}" for name in ("server", "client")}
INTEROP_DIR = "src/google.golang.org/grpc/interop"
STAMP = "built-from"

# Bounds for each step; the whole build takes about half a minute here.
APT_TIMEOUT_S = 300
BUILD_TIMEOUT_S = 900


class BuildError(RuntimeError):
    """The peers could not be built; the message says which step and why."""


@dataclass(frozen=True)
class Peers:
    server: Path
    client: Path
    built_from: str


@dataclass(frozen=True)
class Mirror:
    uri: str
    suite: str
    signed_by: str | None

    def sources_list(self) -> str:
        options = f"[signed-by={self.signed_by}] " if self.signed_by else ""
        return "".join(f"{kind} {options}{self.uri} {self.suite} main\n" for kind in ("deb", "deb-src"))


# -- finding the machine's Debian mirror ------------------------------------------


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    """Stanzas of a deb822 .sources file (continuation lines are kept, comments dropped)."""
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0].isspace() and key:
                fields[key] += "\n" + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if fields:
            yield fields


def _entries(directory: Path) -> Iterator[tuple[list[str], str, list[str], list[str], str | None]]:
    """(types, uri, suites, components, signed-by) of every source entry apt is configured with."""
    for path in sorted(directory.glob("sources.list.d/*.sources")):
        for stanza in _deb822_stanzas(path.read_text(errors="replace")):
            if stanza.get("enabled", "yes").lower() == "no":
                continue
            for uri in stanza.get("uris", "").split():
                yield (
                    stanza.get("types", "").split(),
                    uri,
                    stanza.get("suites", "").split(),
                    stanza.get("components", "").split(),
                    stanza.get("signed-by"),
                )
    for path in [directory / "sources.list", *sorted(directory.glob("sources.list.d/*.list"))]:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            match = re.match(r"\s*(deb(?:-src)?)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)", line)
            if match:
                kind, options, uri, suite, components = match.groups()
                signed = re.search(r"signed-by=(\S+)", options or "")
                yield [kind], uri, [suite], components.split(), signed.group(1) if signed else None


def release_codename() -> str:
    try:
        codename = platform.freedesktop_os_release().get("VERSION_CODENAME")
    except OSError as exc:
        raise BuildError(f"cannot read os-release: {exc}") from exc
    if codename:
        return codename
    raise BuildError("os-release has no VERSION_CODENAME; cannot tell which Debian release to fetch from")


def debian_mirror(sources: Path = APT_SOURCES, codename: str | None = None) -> Mirror:
    """The mirror apt installs this release's main packages from."""
    codename = codename or release_codename()
    for types, uri, suites, components, signed_by in _entries(sources):
        if "deb" in types and codename in suites and "main" in components:
            keyring = signed_by if signed_by and "\n" not in signed_by else None  # inline keys: trust apt's
            return Mirror(uri, codename, keyring)
    raise BuildError(f"no 'deb … {codename} main' entry in {sources}/sources.list or sources.list.d/")


# -- steps --------------------------------------------------------------------------


def run_step(argv: list[str], step: str, timeout_s: float, **kwargs: Any) -> str:
    """One step of a build (also go_health's): its stdout, or ``BuildError`` naming the step."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL, **kwargs
        )
    except FileNotFoundError as exc:
        raise BuildError(f"{step}: {argv[0]} not found (make system installs it)") from exc
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"{step}: no result after {timeout_s:g} s: {' '.join(argv)}") from exc
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-3000:]
        raise BuildError(f"{step} failed (exit {done.returncode}): {' '.join(argv)}\n{output}")
    return done.stdout


def installed_version(package: str) -> str:
    try:
        return run_step(["dpkg-query", "-W", "-f=${Version}", package], f"{package} version", 30).strip()
    except BuildError as exc:
        raise BuildError(f"{package} is not installed (make system installs it)\n{exc}") from None


def go_version() -> str:
    return run_step(["go", "version"], "go version", 60).strip()


class PrivateApt:
    """apt-get with its own sources, lists and cache under ``root``."""

    def __init__(self, root: Path, mirror: Mirror) -> None:
        self.root = root
        for sub in ("sources.list.d", "lists/partial", "cache/archives/partial"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "sources.list").write_text(mirror.sources_list())

    def options(self) -> list[str]:
        settings = {
            "Dir::Etc::SourceList": self.root / "sources.list",
            "Dir::Etc::SourceParts": self.root / "sources.list.d",  # empty: the system's stay out
            "Dir::State::Lists": self.root / "lists",
            "Dir::Cache": self.root / "cache",
            "Acquire::Languages": "none",
            # Downloads land in our own directories, which apt's unprivileged _apt user cannot write.
            "APT::Sandbox::User": pwd.getpwuid(os.getuid()).pw_name,
        }
        return [arg for key, value in settings.items() for arg in ("-o", f"{key}={value}")]

    def run(self, *args: str, cwd: Path) -> str:
        argv = ["apt-get", "-q", *self.options(), *args]
        return run_step(
            argv,
            f"apt-get {args[0]}",
            APT_TIMEOUT_S,
            cwd=cwd,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"},
        )


def _fetch_interop_sources(apt: PrivateApt, version: str, work: Path, gopath: Path) -> None:
    downloads = work / "source"
    downloads.mkdir()
    apt.run("source", "--download-only", f"{SOURCE_PACKAGE}={version}", cwd=downloads)
    dsc = next(downloads.glob(f"{SOURCE_PACKAGE}_*.dsc"), None)
    if dsc is None:
        raise BuildError(f"apt-get source left no {SOURCE_PACKAGE} .dsc in {downloads}")
    tree = work / "tree"
    run_step(["dpkg-source", "-x", str(dsc), str(tree)], "dpkg-source -x", 300)
    if not (tree / "interop" / "server").is_dir():
        raise BuildError(f"{dsc.name} has no interop/server directory")
    target = gopath / INTEROP_DIR
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(tree / "interop", target)
    shutil.rmtree(tree)  # only interop/ is needed


def _fetch_protobuf(apt: PrivateApt, work: Path, root: Path) -> list[str]:
    downloads = work / "debs"
    downloads.mkdir()
    apt.run("download", *PROTOBUF_PACKAGES, cwd=downloads)
    debs = sorted(downloads.glob("*.deb"))
    if len(debs) != len(PROTOBUF_PACKAGES):
        raise BuildError(f"apt-get download left {[d.name for d in debs]} for {PROTOBUF_PACKAGES}")
    for deb in debs:
        run_step(["dpkg-deb", "-x", str(deb), str(root)], f"dpkg-deb -x {deb.name}", 120)
    return [deb.stem for deb in debs]


def _go_build(gopaths: Iterable[Path], work: Path, out: Path) -> None:
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": ":".join(str(path) for path in gopaths),
        "GOCACHE": str(work / "gocache"),
        "GOFLAGS": "",
        "CGO_ENABLED": "0",  # static binaries, no C compiler needed
    }
    out.mkdir(parents=True)
    run_step(
        ["go", "build", "-o", f"{out}/", *PROGRAMS.values()], "go build", BUILD_TIMEOUT_S, env=env, cwd=work
    )


def _stamp(library: str, go: str) -> str:
    return f"{SOURCE_PACKAGE} {library}; {go}"


def peers_in(directory: Path) -> Peers | None:
    """The built peers in ``directory``, if they are there and built from what is installed now."""
    binaries = directory / "bin"
    stamp = binaries / STAMP
    if not stamp.is_file() or not all(os.access(binaries / name, os.X_OK) for name in PROGRAMS):
        return None
    return Peers(binaries / "server", binaries / "client", stamp.read_text().strip())


@contextmanager
def build_lock(directory: Path) -> Iterator[None]:
    """One build at a time per directory (parallel test workers may all ask for it)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build(directory: Path = DEFAULT_DIR, log: Callable[[str], object] | None = None) -> Peers:
    """Build the peers into ``directory/bin`` unless they are there already; return them."""
    say = log or (lambda message: None)
    with build_lock(directory):
        library = installed_version(LIBRARY_PACKAGE)
        wanted = _stamp(library, go_version())
        ready = peers_in(directory)
        if ready is not None and ready.built_from.splitlines()[0] == wanted:
            return ready
        started = time.monotonic()
        work = directory / "work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        mirror = debian_mirror()
        say(f"grpc-go interop peers: fetching from {mirror.uri} {mirror.suite} (private apt state in {work})")
        apt = PrivateApt(work / "apt", mirror)
        apt.run("update", cwd=work)
        gopath = work / "gopath"
        _fetch_interop_sources(apt, library, work, gopath)
        protobuf_root = work / "protobuf"
        protobuf = _fetch_protobuf(apt, work, protobuf_root)
        say("grpc-go interop peers: go build …")
        staging = directory / "bin.new"
        shutil.rmtree(staging, ignore_errors=True)
        _go_build([protobuf_root / SYSTEM_GOPATH.relative_to("/"), SYSTEM_GOPATH, gopath], work, staging)
        (staging / STAMP).write_text(f"{wanted}\n{', '.join(protobuf)}\n")
        shutil.rmtree(directory / "bin", ignore_errors=True)
        staging.rename(directory / "bin")
        shutil.rmtree(work)
        say(f"grpc-go interop peers: built in {time.monotonic() - started:.1f} s into {directory / 'bin'}")
        peers = peers_in(directory)
        assert peers is not None
        return peers


# -- running them ---------------------------------------------------------------------

# grpc-go's interop server listens on every interface (":port"; it has no flag
# for the address), so it runs in a network namespace of its own whose only
# interface is its loopback: nothing outside the machine - nor outside that
# namespace - can reach it. Any port is free there.
SERVER_PORT = 10000
LISTEN_STATE = "0A"  # TCP_LISTEN in /proc/net/tcp


def listening_in_namespace(pid: int, port: int) -> bool:
    """Whether ``pid`` has a network namespace of its own (unshare has run) with a socket
    listening on ``port``."""
    try:
        if os.readlink(f"/proc/{pid}/ns/net") == os.readlink("/proc/self/ns/net"):
            return False
    except OSError:
        return False
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == LISTEN_STATE and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def start_server(
    peers: Peers, workdir: Path, tls: tuple[Path, Path] | None = None, timeout_s: float = 30.0
) -> ServerProcess:
    """grpc-go's interop server on 127.0.0.1:SERVER_PORT of a fresh network namespace.

    ``tls`` is (certificate, key) in PEM. Reach it with ``in_namespace``; stop
    it with ``stop()`` (by pid: the namespace goes with the process).
    """
    tls_flags = (
        [] if tls is None else ["-use_tls", "-tls_cert_file", str(tls[0]), "-tls_key_file", str(tls[1])]
    )
    argv = [
        "unshare",
        "--net",
        "--",
        "sh",
        "-c",
        'ip link set lo up && exec "$0" "$@"',
        str(peers.server),
        "-port",
        str(SERVER_PORT),
        *tls_flags,
    ]
    server = launch("grpc-go-server", argv, "127.0.0.1", SERVER_PORT, workdir)
    process = server.process
    deadline = time.monotonic() + timeout_s
    while not listening_in_namespace(process.pid, SERVER_PORT):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            exited = process.poll() is not None
            state = f"exited with {process.returncode}" if exited else f"silent for {timeout_s:g} s"
            raise RuntimeError(f"grpc-go interop server {state} before listening:\n{server.log()[-2000:]}")
        time.sleep(0.02)
    return server


def in_namespace(server: ServerProcess, argv: list[str]) -> list[str]:
    """``argv`` to run inside the server's network namespace."""
    return ["nsenter", f"--net=/proc/{server.pid}/ns/net", "--", *argv]


def client_argv(
    peers: Peers, port: int, case: str, host: str = "127.0.0.1", tls: tuple[Path, str] | None = None
) -> list[str]:
    """grpc-go's interop client running one ``case``; ``tls`` is (CA bundle, server name to verify)."""
    argv = [str(peers.client), "-server_host", host, "-server_port", str(port), "-test_case", case]
    if tls is not None:
        argv += ["-use_tls", "-use_test_ca", "-ca_file", str(tls[0]), "-server_host_override", tls[1]]
    return argv


def run_client(
    peers: Peers,
    port: int,
    case: str,
    host: str = "127.0.0.1",
    tls: tuple[Path, str] | None = None,
    timeout_s: float = 60.0,
) -> subprocess.CompletedProcess:
    """Run one case. grpc-go's pass is exit status 0 and an "… done" line on stderr (its log at
    info level); a failure exits non-zero with the reason."""
    return subprocess.run(
        client_argv(peers, port, case, host, tls),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout_s,
        env={**os.environ, "GRPC_GO_LOG_SEVERITY_LEVEL": "info"},
    )


Built = TypeVar("Built")


def build_command(
    argv: list[str] | None,
    description: str,
    default_dir: Path,
    build_into: Callable[[Path, Callable[[str], object]], Built],
    what: str,
    shown: Callable[[Built], str],
) -> int:
    """``python -m <module> build [--dir D]``: build into D with progress on stderr and print what was
    built; exit 1 with the reason when it cannot be built."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("command", choices=["build"])
    parser.add_argument(
        "--dir", type=Path, default=default_dir, help=f"build directory (default {default_dir})"
    )
    args = parser.parse_args(argv)
    try:
        built = build_into(args.dir, lambda message: print(message, file=sys.stderr, flush=True))
    except BuildError as exc:
        print(f"cannot build {what}: {exc}", file=sys.stderr)
        return 1
    print(shown(built))
    return 0


def main(argv: list[str] | None = None) -> int:
    return build_command(
        argv,
        __doc__.splitlines()[0],
        DEFAULT_DIR,
        build,
        "grpc-go's interop peers",
        lambda peers: f"{peers.server}\n{peers.client}\n({peers.built_from.splitlines()[0]})",
    )


if __name__ == "__main__":
    sys.exit(main())
