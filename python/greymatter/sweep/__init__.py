"""Sweeps: one model per configuration of a grid (learning rate x inner layer size, ...), as a
table.

    df = gm.sweep(make_model, grid={"lr": [1e-4, 1e-3, 1e-2, 1e-1], "size_inner": [10, 100, 1000]},
                  train=train_ds, val=val_ds, epochs=5, results="runs/sweep.csv")

  driver.py     gm.sweep: checks and plans the sweep, runs its loop, returns the table
  grid.py       grid keys, the configurations a grid expands to, stable hashes
  run.py        one configuration, start to finish (what every executor calls)
  executors.py  where configurations run: here, worker processes, a futures executor, Dask
  search.py     which configuration next: the grid in order, or Optuna
  store.py      the results store (CSV / SQLite / memory), written as configurations finish
  features.py   whether configurations share a frozen backbone's cached features
  _process.py   per-process settings: one thread per configuration, malloc thresholds (Dask)
"""
from .driver import RESULT_COLUMNS, sweep
from .store import load_results

__all__ = ["RESULT_COLUMNS", "load_results", "sweep"]
