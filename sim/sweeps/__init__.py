"""breakerlab.sim.sweeps: parameter sweeps over scenarios, their results and recommendation.

``spec`` (the sweep's grid, from TOML or built in), ``run`` (running its cells on local
processes or Dask), ``store`` (run files, tables, resuming), ``report`` (summaries),
``recommend`` (choosing a setting), ``plots`` (heatmaps, trade-offs, timelines) and ``cli``
(``breakerlab sweep`` and ``breakerlab plot``).
"""

__all__: list[str] = []  # the submodules are the API
