"""Keep gRPC C-core's own log lines off the user's terminal.

grpcio logs through abseil straight to standard error, past everything we
print: ``I1204 17:48:19.510286 26662 ssl_transport_security.cc:2563]
Handshake failed ... CERTIFICATE_VERIFY_FAILED`` for every probe of a server
whose certificate does not verify. What such a line says about the target is
already in the check's reason (the gRPC status carries the same TLS error),
so importing this module switches them off. gRPC reads ``GRPC_VERBOSITY``
when it initialises (at its first channel), so an entry point imports this
first, before anything imports grpc; the embedded Ray node, started later by
the same process, inherits it. A ``GRPC_VERBOSITY`` the user set (to debug)
wins.
"""

from __future__ import annotations

import os

VERBOSITY_VARIABLE = "GRPC_VERBOSITY"
SILENT = "NONE"  # gRPC's level above ERROR: nothing is logged

os.environ.setdefault(VERBOSITY_VARIABLE, SILENT)
