"""Search strategies: which configuration to try next. `GridSearch` tries every point of the grid in
order; `OptunaSearch` lets an Optuna study pick points of the same grid (suggest_categorical per
key), `n_trials` in all, and keeps its trials in Optuna's storage (an RDB URL such as
"sqlite:///study.db") so a re-run continues the study. Both answer `ask()` (the next Config, or None
when done) and `tell(config, row)`; they neither run nor store configurations. """
import collections
from typing import Any, Callable, Dict, List, Optional, Sequence

from .._core import ConfigError
from .grid import Config

__all__ = ["GridSearch", "OptunaSearch"]

_PRIMITIVE = (type(None), bool, int, float, str)


class GridSearch:
    def __init__(self, configs: Sequence[Config]) -> None:
        self.configs = list(configs)
        self._queue = collections.deque(configs)

    def ask(self) -> Optional[Config]:
        return self._queue.popleft() if self._queue else None

    def tell(self, config: Config, row: Dict[str, Any]) -> None:
        pass


class OptunaSearch:
    """`make_config(index, params)` turns the sampled values into a Config; a trial's value is the
    row's val_acc (maximized) or, without validation data, its train_loss (minimized); a failed row
    fails its trial."""

    def __init__(
        self,
        grid: Dict[str, List[Any]],
        make_config: Callable[[int, Dict[str, Any]], Config],
        n_trials: int,
        storage: Optional[str],
        study_name: str,
        seed: int,
        maximize: bool,
    ) -> None:
        try:
            import optuna
        except ImportError:
            raise ConfigError(
                "strategy='optuna' needs the optuna package (Debian: python3-optuna)"
            ) from None
        if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
            raise ConfigError(
                f"strategy='optuna' needs n_trials, a positive integer; got {n_trials!r}"
            )
        self._optuna = optuna
        self._states = optuna.trial.TrialState
        self.grid = {k: list(v) for k, v in grid.items()}
        # Optuna's categorical choices must be None/bool/int/float/str; other values go by their
        # repr.
        self._choices = {
            k: (v if all(isinstance(x, _PRIMITIVE) for x in v) else [repr(x) for x in v])
            for k, v in self.grid.items()
        }
        self.make_config = make_config
        self.n_trials = n_trials
        self.metric = "val_acc" if maximize else "train_loss"
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            self.study = optuna.create_study(
                study_name=study_name,
                storage=storage,
                load_if_exists=True,
                direction="maximize" if maximize else "minimize",
                sampler=optuna.samplers.TPESampler(seed=seed),
            )
        except (ValueError, ImportError, optuna.exceptions.OptunaError) as e:
            raise ConfigError(f"optuna storage {storage!r}: {e}") from None
        # Trials left running by a killed sweep will never report: close them so they do not linger.
        for t in self.study.get_trials(deepcopy=False, states=(self._states.RUNNING,)):
            self.study.tell(t.number, state=self._states.FAIL)
        self._asked: Dict[str, List[Any]] = collections.defaultdict(
            list
        )  # key -> trials awaiting its row

    def _finished(self) -> int:
        done = (self._states.COMPLETE, self._states.FAIL, self._states.PRUNED)
        return len(self.study.get_trials(deepcopy=False, states=done))

    def ask(self) -> Optional[Config]:
        in_flight = sum(len(v) for v in self._asked.values())
        if self._finished() + in_flight >= self.n_trials:
            return None
        trial = self.study.ask()
        params = {}
        for k, values in self.grid.items():
            choice = trial.suggest_categorical(k, self._choices[k])
            params[k] = values[self._choices[k].index(choice)]
        config = self.make_config(trial.number, params)
        self._asked[config.key].append(trial)
        return config

    def tell(self, config: Config, row: Dict[str, Any]) -> None:
        for trial in self._asked.pop(config.key, []):
            value = row.get(self.metric)
            if row.get("status") == "ok" and value is not None:
                self.study.tell(trial, float(value))
            else:
                self.study.tell(trial, state=self._states.FAIL)
