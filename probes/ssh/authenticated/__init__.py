"""Optional authenticated SSH checks: read the effective sshd configuration and the clock.

Runs only when the inventory gives credentials (a key-file path and/or the
*names* of environment variables holding a password or key passphrase) and
pins the host key. The server's host key is checked against the pins before
any credential is loaded or sent; nothing is ever auto-accepted. Once logged
in, only the commands in ``session.ALLOWED_COMMANDS`` can run, each with an
output cap and a time limit. Secrets never reach facts, reasons, evidence or
logs.

``session`` logs in and runs the allowlisted commands, ``parsers`` reads
their output, ``gather`` turns it into facts and ``checks`` judges them
(the sshd settings as the table ``CONFIG_RULES``).
"""
