"""breakerlab.sim.traces: what the dependency does over time.

``trace`` (conditions, segments, the built ``Trace``), ``base`` (declaring a trace family and
validating its fields), ``families`` (the built-in families: hard down, hangs, brownouts,
flapping, ...) and ``files`` (replaying a recorded incident from CSV or JSON).
"""

__all__: list[str] = []  # the submodules are the API
