"""``interop serve`` as a service: reports, metrics and status over HTTP, with tokens, and scheduled sweeps.

* ``app``: the Starlette application (its routes and who may call each);
* ``access``: the tokens file (hashes only), roles, bearer-token checks;
* ``reports``: reports rendered from the store on request, cached;
* ``pages``: the HTML index of sweeps; ``language``: ``?lang=`` and ``Accept-Language``;
* ``server``: uvicorn on a socket bound beforehand, stopped from the main thread;
* ``scheduler``: sweeps on a schedule, each in a child process (``schedule``:
  ``--every``/``--cron`` parsed; ``scheduler_metrics``: its Prometheus series),
  and the store compacted to ``--keep`` sweeps after each.

It reads the store read-only; only the scheduler's children (sweeps, compaction) write it.
docs/metrics.md ("The service") describes the routes, the tokens and what an
agency token sees.
"""
