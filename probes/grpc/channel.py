"""One grpc.aio channel per target, never shared with another probe.

grpcio shares one TCP connection between channels to the same address
unless ``grpc.use_local_subchannel_pool`` is set; a probe must own its
connection so per-host limits and timings mean what they say.
"""

from __future__ import annotations

import grpc

from probes.model import Target

MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # a response larger than this is a broken server


def channel_options(target: Target) -> list[tuple[str, object]]:
    options: list[tuple[str, object]] = [
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.enable_retries", 0),  # a probe observes the server; it does not paper over failures
        ("grpc.max_metadata_size", 64 * 1024),
    ]
    if target.uses_tls and target.server_name:
        options += [
            ("grpc.ssl_target_name_override", target.server_name),
            ("grpc.default_authority", target.server_name),
        ]
    return options


def open_channel(target: Target) -> grpc.aio.Channel:
    """A fresh channel to ``target``; the caller closes it (``await channel.close()``).

    For ``grpcs`` the CA bundle is ``target.ca_file`` (the system store when
    unset).
    """
    address = f"[{target.host}]:{target.port}" if ":" in target.host else f"{target.host}:{target.port}"
    if not target.uses_tls:
        return grpc.aio.insecure_channel(address, options=channel_options(target))
    root = None
    if target.ca_file:
        with open(target.ca_file, "rb") as bundle:
            root = bundle.read(1024 * 1024)
    credentials = grpc.ssl_channel_credentials(root_certificates=root)
    return grpc.aio.secure_channel(address, credentials, options=channel_options(target))
