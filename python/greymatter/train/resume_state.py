"""The file behind ``Trainer.save_state`` / ``Trainer.resume``: written so that weights-only loading
reads it (state_codec), read back with every part checked before the Trainer takes any of it.

A resume file may come from anywhere (a shared run folder, a download), so reading it runs nothing
(``load_tensors``) and a file that is not a whole greymatter training state is a DataError naming
it, not a KeyError from deep inside ``resume``.
"""
import numbers
from pathlib import Path
from typing import Any, Dict

import torch

from .._core import ConfigError, DataError
from .._untrusted import load_tensors
from . import state_codec
from .checkpoint import atomic_save, remove_stale_temp_files

__all__ = ["FORMAT", "write_state", "read_state"]

# 2: weights-only loadable (state_codec). 1 was a full pickle, which is not read any more.
FORMAT = 2

_NUMBER = (numbers.Real, type(None))
# key -> the types its value may have.
_PARTS = {
    "model": dict,
    "optimizer": dict,
    "lr": numbers.Real,
    "scheduler": dict,
    "trainer": dict,
    "epoch": int,
    "planned_epochs": int,
    "best_value": _NUMBER,
    "best_state": (dict, type(None)),
    "epochs_without_improvement": int,
    "history": dict,
    "classes": list,
}


def write_state(state: Dict[str, Any], path) -> None:
    atomic_save({"format": FORMAT, **state_codec.encode(state)}, path)


def read_state(path) -> Dict[str, Any]:
    """The state `write_state` wrote to `path`, checked part by part."""
    remove_stale_temp_files(path)  # of writers killed while saving it
    try:
        saved = load_tensors(path, "training state")
    except FileNotFoundError:
        raise ConfigError(
            f"no training state at {path}: it is written next to checkpoint= after each epoch"
        ) from None
    if not isinstance(saved, dict) or "format" not in saved:
        raise DataError(
            f"{path} is not a greymatter training state (Trainer.save_state writes those, as "
            f"<checkpoint>.resume.pth; best.pth holds the weights only)"
        )
    if saved["format"] != FORMAT:
        raise DataError(
            f"{path} is a training state of format {saved['format']!r}; this greymatter reads "
            f"format {FORMAT} (older states were full pickles, which are not loaded: files from "
            f"elsewhere could run code)"
        )
    try:
        state = state_codec.decode(saved)
    except state_codec.StateFormatError as e:
        raise DataError(f"{path} is not a readable greymatter training state: {e}") from None
    _check_parts(state, Path(path))
    return state


def _check_parts(state: Any, path: Path) -> None:
    if not isinstance(state, dict):
        raise DataError(f"{path} is not a greymatter training state (no dict of parts)")
    for key, kinds in _PARTS.items():
        if key not in state:
            raise DataError(f"{path} is not a whole greymatter training state: no '{key}' part")
        value = state[key]
        if not isinstance(value, kinds) or isinstance(value, bool):
            raise DataError(f"{path}: the training state's '{key}' is a {type(value).__name__}")
    for key in ("model", "best_state"):
        if state[key] is not None and not all(
            isinstance(v, torch.Tensor) for v in state[key].values()
        ):
            raise DataError(f"{path}: the training state's '{key}' holds more than tensors")
    scheduler, history = state["scheduler"], state["history"]
    if not {"name", "options", "state"} <= scheduler.keys():
        raise DataError(f"{path}: the training state's 'scheduler' lacks name, options or state")
    if not isinstance(history.get("rows"), list) or "best_epoch" not in history:
        raise DataError(f"{path}: the training state's 'history' lacks rows or best_epoch")
    if not all(isinstance(row, dict) for row in history["rows"]):
        raise DataError(f"{path}: the training state's history rows are not all dicts")
