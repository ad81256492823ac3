"""Real OpenSSH and Dropbear servers on loopback, configured from data.

``SSHD_PROFILES`` are sshd_config fragments: each names a situation an
agency server is found in (hardened, legacy, password logins on …). Host
keys are generated with ``ssh-keygen``/``dropbearkey`` once per directory
and reused, since RSA key generation is the slow part of starting a server.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from orchestrator.testbed.process import ServerProcess, free_port, spawn

SSHD = "/usr/sbin/sshd"
DROPBEAR = "/usr/sbin/dropbear"
DROPBEARKEY = "/usr/bin/dropbearkey"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
TINYSSHD = "/usr/sbin/tinysshd"
TINYSSHD_MAKEKEY = "/usr/sbin/tinysshd-makekey"
# TinySSH is inetd-style; systemd's socket activator (package systemd) plays inetd.
SOCKET_ACTIVATE = "/usr/bin/systemd-socket-activate"

_COMMON = {
    "ListenAddress": "127.0.0.1",
    "StrictModes": "no",  # our files live under a temporary directory
    "UsePAM": "no",
    "PidFile": "none",
    "LogLevel": "ERROR",
    "MaxStartups": "200:30:400",
    "PubkeyAuthentication": "yes",
    "AuthorizedKeysFile": ".ssh/authorized_keys",
}

SSHD_PROFILES: dict[str, dict[str, str]] = {
    "hardened": {
        "KexAlgorithms": "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org",
        "Ciphers": "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr",
        "MACs": "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
        "HostKeyAlgorithms": "ssh-ed25519,rsa-sha2-512,rsa-sha2-256",
        "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no",
        "PermitRootLogin": "no",
        "MaxAuthTries": "3",
        "LoginGraceTime": "30",
        "X11Forwarding": "no",
    },
    # As weak as this OpenSSH build still allows when asked explicitly.
    "legacy": {
        "KexAlgorithms": "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,"
        "diffie-hellman-group-exchange-sha1,ecdh-sha2-nistp256,curve25519-sha256",
        "Ciphers": "aes128-cbc,3des-cbc,aes256-cbc,aes128-ctr,chacha20-poly1305@openssh.com",
        "MACs": "hmac-sha1,hmac-sha1-96,hmac-md5,hmac-md5-96,hmac-sha2-256,hmac-sha1-etm@openssh.com",
        "HostKeyAlgorithms": "ssh-rsa,rsa-sha2-256,ssh-dss,ssh-ed25519",
        "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no",
        "PermitRootLogin": "yes",
        "MaxAuthTries": "6",
        "LoginGraceTime": "120",
        "X11Forwarding": "yes",
    },
    "password": {
        "PasswordAuthentication": "yes",
        "KbdInteractiveAuthentication": "yes",
        "PermitRootLogin": "prohibit-password",
    },
    # Debian's defaults: what most servers run unchanged.
    "default": {},
}


def host_key(keys_dir: Path, key_type: str, bits: int | None = None) -> Path:
    """An OpenSSH host key of ``key_type`` (rsa, ecdsa, ed25519, dsa), made once."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    path = keys_dir / (f"ssh_host_{key_type}{bits or ''}_key")
    if not path.exists():
        argv = [SSH_KEYGEN, "-q", "-N", "", "-t", key_type, "-f", str(path)]
        if bits:
            argv += ["-b", str(bits)]
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return path


def dropbear_key(keys_dir: Path, key_type: str, bits: int | None = None) -> Path:
    keys_dir.mkdir(parents=True, exist_ok=True)
    path = keys_dir / f"dropbear_{key_type}{bits or ''}_host_key"
    if not path.exists():
        argv = [DROPBEARKEY, "-t", key_type, "-f", str(path)]
        if bits:
            argv += ["-s", str(bits)]
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return path


def tinyssh_keydir(keys_dir: Path) -> Path:
    """A TinySSH key directory (Ed25519 and sntrup/x25519 keys), made once."""
    path = keys_dir / "tinyssh"
    if not path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([TINYSSHD_MAKEKEY, str(path)], check=True, capture_output=True, timeout=60)
    return path


# Listen sockets one server process can hold (both measured on this machine).
OPENSSH_MAX_LISTEN = 16  # MAX_LISTEN_SOCKS of sshd.c: a 17th ListenAddress is fatal
DROPBEAR_MAX_PORTS = 10  # DROPBEAR_MAX_PORTS: dropbear ignores every -p after the 10th, silently


def openssh_config(
    profile: str,
    host_keys: list[Path],
    listen: list[tuple[str, int]],
    options: dict[str, str] | None = None,
) -> str:
    """An sshd_config for ``SSHD_PROFILES[profile]`` listening on every ``(host, port)``."""
    if not 1 <= len(listen) <= OPENSSH_MAX_LISTEN:
        raise ValueError(f"one sshd listens on 1 to {OPENSSH_MAX_LISTEN} addresses, not {len(listen)}")
    settings = {**_COMMON, **SSHD_PROFILES[profile], **(options or {})}
    settings.pop("ListenAddress")
    lines = [f"HostKey {path}" for path in host_keys]
    lines += [f"ListenAddress {host}:{port}" for host, port in listen]
    lines += [f"{key} {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def dropbear_argv(
    host_keys: list[Path], listen: list[tuple[str, int]], allow_passwords: bool = False
) -> list[str]:
    """``dropbear -F`` listening on every ``(host, port)``."""
    if not 1 <= len(listen) <= DROPBEAR_MAX_PORTS:
        raise ValueError(f"one dropbear listens on 1 to {DROPBEAR_MAX_PORTS} addresses, not {len(listen)}")
    argv = [DROPBEAR, "-F", "-E"]
    for key in host_keys:
        argv += ["-r", str(key)]
    for host, port in listen:
        argv += ["-p", f"{host}:{port}"]
    return argv + ([] if allow_passwords else ["-s"])


@functools.cache
def no_reexec_flags() -> tuple[str, ...]:
    """``-r`` where this sshd knows it: no fresh sshd exec'd per connection.

    Re-exec (fresh address-space randomisation per connection) is for
    production; in a testbed sharing the sweep's CPU it tripled the server's
    cost of a probe (39 -> 9 ms on Debian's defaults, ``bench/probe_cost.py``)
    and changes nothing a client sees.
    """
    probe = subprocess.run([SSHD, "-r", "-t", "-f", os.devnull], capture_output=True, timeout=30)
    return () if b"unknown option" in probe.stderr else ("-r",)


def ensure_privsep_dir() -> None:
    # OpenSSH refuses to start without its privilege-separation directory.
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)


def start_openssh(
    workdir: Path,
    profile: str = "hardened",
    host_keys: list[Path] | None = None,
    options: dict[str, str] | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
    name: str | None = None,
    extra_lines: list[str] | None = None,
) -> ServerProcess:
    """Start ``sshd -D`` with ``SSHD_PROFILES[profile]`` plus ``options``.

    ``host_keys`` default to one Ed25519 key under ``workdir/keys``.
    ``extra_lines`` are appended verbatim after the settings: a ``Match``
    block has to come last and cannot be expressed as ``key value`` pairs.
    """
    ensure_privsep_dir()
    port = port or free_port(host)
    name = name or f"sshd-{profile}-{port}"
    keys = host_keys or [host_key(workdir / "keys", "ed25519")]
    settings = {**_COMMON, "ListenAddress": host, **SSHD_PROFILES[profile], **(options or {})}
    lines = [f"Port {port}"] + [f"HostKey {path}" for path in keys]
    lines += [f"{key} {value}" for key, value in settings.items()]
    lines += list(extra_lines or [])
    config = workdir / f"{name}.conf"
    workdir.mkdir(parents=True, exist_ok=True)
    config.write_text("\n".join(lines) + "\n")
    server = spawn(name, [SSHD, "-D", "-e", "-f", str(config)], host, port, workdir)
    server.info.update(kind="openssh", profile=profile, config=str(config), host_keys=[str(k) for k in keys])
    return server


def start_dropbear(
    workdir: Path,
    host_keys: list[Path] | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
    allow_passwords: bool = False,
    name: str | None = None,
) -> ServerProcess:
    """Start ``dropbear -F`` on loopback with the given host keys."""
    port = port or free_port(host)
    name = name or f"dropbear-{port}"
    keys = host_keys or [dropbear_key(workdir / "keys", "ed25519")]
    argv = [DROPBEAR, "-F", "-E", "-p", f"{host}:{port}"]
    for key in keys:
        argv += ["-r", str(key)]
    if not allow_passwords:
        argv += ["-s"]
    server = spawn(name, argv, host, port, workdir)
    server.info.update(kind="dropbear", host_keys=[str(k) for k in keys])
    return server


def start_tinyssh(
    workdir: Path,
    key_dir: Path | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
    name: str | None = None,
) -> ServerProcess:
    """Start TinySSH behind ``systemd-socket-activate --inetd -a`` (one tinysshd per connection)."""
    port = port or free_port(host)
    name = name or f"tinyssh-{port}"
    keys = key_dir or tinyssh_keydir(workdir / "keys")
    argv = [SOCKET_ACTIVATE, "-l", f"{host}:{port}", "--inetd", "-a", TINYSSHD, str(keys)]
    server = spawn(name, argv, host, port, workdir)
    server.info.update(kind="tinyssh", key_dir=str(keys))
    return server
