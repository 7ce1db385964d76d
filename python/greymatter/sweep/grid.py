"""Sweep grids: which setting each grid key changes, the configurations a grid expands to, and the
stable key that names a configuration in the results store.

A grid value is a list of values, or (for strategy="optuna") a range that Optuna samples:
``("log", lo, hi)`` (log-uniform), ``("float", lo, hi)`` (uniform), ``("int", lo, hi)`` (integers,
both ends included).

A grid key goes to the first of these that takes it: a parameter of the model factory
(``size_inner``), of the run itself (``seed``, ``epochs``), of the Trainer (``lr``,
``weight_decay``, ``optimizer``, ...) or of the training DataLoader (``batch_size``, ...); a factory
with ``**kwargs`` takes the rest. Anything else is a ConfigError raised before any configuration
runs. This file runs nothing and knows no executor. """
import hashlib
import inspect
import itertools
import json
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Sequence

from .._core import ConfigError
from ..loader import DataLoader
from ..train import Trainer

__all__ = [
    "Config",
    "Range",
    "expand",
    "first_point",
    "parse_ranges",
    "check_values",
    "route_keys",
    "stable_hash",
    "check_kwargs",
    "TRAINER_KEYS",
    "LOADER_KEYS",
    "RUN_KEYS",
]

# Settings the sweep owns: the model, the progress bar (one per configuration would be noise) and
# the checkpoint path (configurations running together would overwrite each other's file).
_TRAINER_RESERVED = {"self", "model", "progress", "progress_every", "checkpoint"}
# The loader's seed follows the configuration's seed, so that it can be a grid key of its own.
_LOADER_RESERVED = {"self", "dataset", "seed"}

TRAINER_KEYS = tuple(
    p for p in inspect.signature(Trainer.__init__).parameters if p not in _TRAINER_RESERVED
)
LOADER_KEYS = tuple(
    p for p in inspect.signature(DataLoader.__init__).parameters if p not in _LOADER_RESERVED
)
RUN_KEYS = (
    "seed",
    "epochs",
)  # seed: model init, shuffle, dropout; epochs: how long each configuration trains


RANGE_KINDS = ("log", "float", "int")


@dataclass(frozen=True)
class Config:
    """One point of a sweep: its position in the grid (Optuna: its trial number), its parameters,
    its store key and, for Optuna, the link its training reports epochs through (study.TrialLink).
    """

    index: int
    params: Dict[str, Any]
    key: str
    trial: Any = None


@dataclass(frozen=True)
class Range:
    """A grid value Optuna samples: kind "log", "float" or "int", from lo to hi."""

    kind: str
    lo: float
    hi: float

    def suggest(self, trial, name: str):
        if self.kind == "int":
            return trial.suggest_int(name, int(self.lo), int(self.hi))
        return trial.suggest_float(name, self.lo, self.hi, log=self.kind == "log")


def is_range(values: Any) -> bool:
    return isinstance(values, tuple) and len(values) > 0 and values[0] in RANGE_KINDS


def parse_ranges(grid: Mapping[str, Any]) -> Dict[str, Range]:
    """The grid's ranges by key, checked: ("log", lo, hi) with 0 < lo < hi, ("float", lo, hi) with
    lo < hi, ("int", lo, hi) with integers lo < hi."""
    ranges = {}
    for k, values in grid.items():
        if not is_range(values):
            continue
        kind, *ends = values
        if len(ends) != 2 or not all(
            isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e)
            for e in ends
        ):
            raise ConfigError(
                f"grid[{k!r}] = {values!r}: a range is ({kind!r}, low, high) with two finite "
                "numbers"
            )
        lo, hi = ends
        if kind == "int" and not all(float(e).is_integer() for e in ends):
            raise ConfigError(f"grid[{k!r}] = {values!r}: an 'int' range takes integers")
        if not lo < hi or (kind == "log" and lo <= 0):
            need = "0 < low < high" if kind == "log" else "low < high"
            raise ConfigError(f"grid[{k!r}] = {values!r}: a {kind!r} range needs {need}")
        ranges[k] = Range(kind, lo, hi)
    return ranges


def first_point(grid: Mapping[str, Any]) -> Dict[str, Any]:
    """One configuration of the grid: each list's first value, each range's low end."""
    ranges = parse_ranges(grid)
    return {k: (ranges[k].lo if k in ranges else list(v)[0]) for k, v in _checked(grid).items()}


def stable_hash(obj: Any) -> str:
    """A short hash of `obj` as canonical JSON: the same in every process and Python version."""
    text = json.dumps(obj, sort_keys=True, default=_jsonable, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(value: Any):
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return value.item()
    return repr(value)


def factory_parameters(make_model: Callable):
    """(named parameters, accepts **kwargs) of a model factory; classes are inspected through
    __init__."""
    try:
        sig = inspect.signature(make_model)
    except (TypeError, ValueError):  # a builtin or C++ constructor: nothing to route by name
        return set(), True
    named = {
        n for n, p in sig.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    var_kw = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
    return named, var_kw


def route_keys(keys: Sequence[str], make_model: Callable) -> Dict[str, str]:
    """Maps each grid key to "model", "trainer", "loader" or "run"; an unknown key is a
    ConfigError."""
    model_params, model_var_kw = factory_parameters(make_model)
    routes, unknown = {}, []
    for k in keys:
        if k in model_params:
            routes[k] = "model"
        elif k in RUN_KEYS:  # before the Trainer's: a seed also seeds the model and the loader
            routes[k] = "run"
        elif k in TRAINER_KEYS:
            routes[k] = "trainer"
        elif k in LOADER_KEYS:
            routes[k] = "loader"
        elif model_var_kw:
            routes[k] = "model"
        else:
            unknown.append(k)
    if unknown:
        known = sorted(model_params) + list(TRAINER_KEYS) + list(LOADER_KEYS) + list(RUN_KEYS)
        raise ConfigError(
            f"unknown grid key(s) {', '.join(map(repr, unknown))}: not a parameter of the model "
            f"factory {_name(make_model)}, the Trainer, the DataLoader or the run; "
            f"known keys: {', '.join(known)}"
        )
    return routes


def check_kwargs(kwargs: Mapping[str, Any], allowed: Sequence[str], what: str) -> Dict[str, Any]:
    """A copy of `kwargs` (None: empty), or a ConfigError naming the keys `what` does not take."""
    kwargs = dict(kwargs or {})
    bad = [k for k in kwargs if k not in allowed]
    if bad:
        raise ConfigError(
            f"{what} does not take {', '.join(map(repr, bad))}; it takes: {', '.join(allowed)}"
        )
    return kwargs


def expand(grid: Mapping[str, Sequence[Any]]) -> List[Dict[str, Any]]:
    """The cartesian product of the grid's value lists, the first key varying slowest. A range is
    a ConfigError: only Optuna samples ranges."""
    grid = _checked(grid)
    ranged = [k for k, v in grid.items() if is_range(v)]
    if ranged:
        raise ConfigError(
            f"grid[{ranged[0]!r}] = {grid[ranged[0]]!r} is a range, which strategy='grid' cannot "
            "visit; give a list of values, or use strategy='optuna' (with n_trials) to sample it"
        )
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(list(grid[k]) for k in keys))]


def _checked(grid: Mapping[str, Sequence[Any]]) -> Mapping[str, Any]:
    """The grid, its keys strings and each value a non-empty list or a range."""
    if not isinstance(grid, Mapping) or not grid:
        raise ConfigError(f"grid must be a non-empty dict of key -> list of values, got {grid!r}")
    for k, values in grid.items():
        if not isinstance(k, str):
            raise ConfigError(f"grid keys are parameter names (strings), got {k!r}")
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
            raise ConfigError(f"grid[{k!r}] must be a list of values, got {values!r}")
        if len(list(values)) == 0:
            raise ConfigError(f"grid[{k!r}] is empty: give at least one value")
    parse_ranges(grid)
    return grid


def check_values(grid: Mapping[str, Sequence[Any]], trainer_kwargs: Mapping[str, Any]) -> None:
    """A ConfigError now, naming the value, for learning rates and inner layer sizes that could
    only fail or train nothing (nan, inf, 0, negative): otherwise every such configuration becomes
    a "failed" row and the sweep itself reports success. A range is checked by its two ends."""
    lrs = [("grid['lr']", v) for v in _values_or_ends(grid.get("lr", ()))]
    if "lr" in (trainer_kwargs or {}):
        lrs.append(("trainer_kwargs['lr']", trainer_kwargs["lr"]))
    for where, lr in lrs:
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not 0 < lr < math.inf:
            raise ConfigError(
                f"{where}: the learning rate must be a positive finite number, got {lr!r}"
            )
    for size in _values_or_ends(grid.get("size_inner", ())):
        if size is not None and (
            isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1
        ):
            raise ConfigError(
                f"grid['size_inner']: an inner layer size is an integer >= 1 (or None for no "
                f"inner layer), got {size!r}"
            )


def _values_or_ends(values) -> Sequence[Any]:
    """A list's values, or a range's two ends."""
    return values[1:] if is_range(values) else values


def _name(obj: Any) -> str:
    return (
        getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    )
