"""Real servers on this machine for the demo, the tests and the benchmarks.

Everything started here is stopped by process id by its owner; nothing is
ever killed by name.
"""
