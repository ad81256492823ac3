"""The fact names of the SSH family: the contract between its gatherers and its checks."""

from __future__ import annotations

# Unauthenticated (probes.ssh.gather).
BANNER = "ssh.banner"
KEXINIT = "ssh.kexinit"
HOST_KEYS = "ssh.host_keys"
AUTH_METHODS = "ssh.auth_methods"
PINS = "ssh.pins"  # the inventory's expected host-key fingerprints

# Authenticated (probes.ssh.authenticated.gather).
SSHD_CONFIG = "ssh_auth.sshd_config"  # dict: sshd -T keyword -> list of values
CLOCK = "ssh_auth.clock"  # dict: offset_s, uncertainty_s, synchronized, samples
