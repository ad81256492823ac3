"""The gRPC interop conformance cases, run against grpc.testing.TestService.

Each case of grpc/grpc doc/interop-test-descriptions.md that a client can
run against a server it does not control is one row of ``CASES``: what to
send (a coroutine), what must come back (``expected``, compared key by key
with what was observed), its own timeout and its check metadata. The
gatherer runs the wanted rows over one channel; the checks are the rows'
comparisons.

Whether the endpoint serves the TestService at all is decided by EmptyCall:
UNIMPLEMENTED means it does not, and every interop check is then ``skip`` -
or ``fail`` when the profile sets the check parameter ``required: true``.

A status the server (or a proxy in front of it) sent is its answer, judged
like any other: UNAVAILABLE from nginx whose backend is down fails the cases,
as does a DEADLINE_EXCEEDED the server sent before our deadline. A case is
``error`` only when no answer came: our deadline passed, the connection was
lost or never made (grpcio's own wording, ``probes.grpc.channel.answered``).

Severity: ``medium`` for the cases that exercise what every gRPC service
relies on (message sizes, streaming in each direction, metadata, status
propagation, UNIMPLEMENTED for unknown methods and services); ``info`` for
cancel_after_begin, cancel_after_first_response and
timeout_on_sleeping_server, which mostly exercise the client: a server can
only fail them by ending a stream the client still holds open, which
matters for full conformance only.

``cases`` holds the table and what each case sends, ``gather`` runs the
wanted rows, ``checks`` registers one check per row.
"""
