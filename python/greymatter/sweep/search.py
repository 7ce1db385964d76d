"""Search strategies: which configuration to try next. `GridSearch` tries every point of the grid in
order; `OptunaSearch` lets an Optuna study (TPE sampler) pick `n_trials` configurations: list values
with suggest_categorical, ranges ("log"/"float"/"int", grid.py) with suggest_float/suggest_int. Its
configurations carry a link to their trial, through which their training reports each epoch's metric
and, with a pruner, stops early (study.py). Both answer `ask()` (the next Config, or None when
done), `tell(config, row)` and `cancel(configs)` (configurations that will never report); they
neither run nor store configurations. """
import collections
import dataclasses
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence

from .._core import ConfigError
from . import study as studies
from .grid import Config, parse_ranges

__all__ = ["GridSearch", "OptunaSearch", "PRUNERS", "make_pruner"]

_PRIMITIVE = (type(None), bool, int, float, str)
PRUNERS = ("median", "halving")


def make_pruner(prune):
    """An Optuna pruner from sweep's `prune`: False/None (none), True or "median" (MedianPruner),
    "halving" (SuccessiveHalvingPruner), or an optuna.pruners object."""
    import optuna

    if prune is None or prune is False:
        return None
    if prune is True or prune == "median":
        return optuna.pruners.MedianPruner()
    if prune == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if isinstance(prune, optuna.pruners.BasePruner):
        return prune
    raise ConfigError(
        f"prune takes True, 'median', 'halving' or an optuna.pruners object, got {prune!r}"
    )


class GridSearch:
    def __init__(self, configs: Sequence[Config]) -> None:
        self.configs = list(configs)
        self._queue = collections.deque(configs)

    def ask(self) -> Optional[Config]:
        return self._queue.popleft() if self._queue else None

    def tell(self, config: Config, row: Dict[str, Any]) -> None:
        pass

    def cancel(self, configs: Sequence[Config]) -> None:
        pass

    def close(self) -> None:
        pass


class OptunaSearch:
    """`make_config(index, params)` turns the sampled values into a Config; a trial's value is the
    row's val_acc (maximized) or, without validation data, its train_loss (minimized). A "pruned"
    row prunes its trial, a failed row fails it.

    `n_trials` counts the study's trials that finished, run or wait to be run, whichever sweep
    asked them, except failed trials that were queued again (their retry stands for them): a sweep
    started again after a kill asks only what is missing, and several sweeps sharing the storage
    stop together."""

    def __init__(
        self,
        grid: Dict[str, Any],
        make_config: Callable[[int, Dict[str, Any]], Config],
        n_trials: int,
        storage: Optional[str],
        study_name: str,
        seed: int,
        maximize: bool,
        pruner=None,
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
        if storage is not None and not isinstance(storage, str):
            raise ConfigError(
                f"storage is an RDB URL such as 'sqlite:///study.db', got {storage!r}"
            )
        self._optuna = optuna
        self._states = optuna.trial.TrialState
        self.ranges = parse_ranges(grid)
        self.grid = {k: list(v) for k, v in grid.items() if k not in self.ranges}
        # Optuna's categorical choices must be None/bool/int/float/str; other values go by their
        # repr.
        self._choices = {
            k: (v if all(isinstance(x, _PRIMITIVE) for x in v) else [repr(x) for x in v])
            for k, v in self.grid.items()
        }
        self.keys = list(grid)
        self.make_config = make_config
        self.n_trials = n_trials
        self.metric = "val_acc" if maximize else "train_loss"
        self.storage_url = storage
        self.pruner = pruner
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            self.study = optuna.create_study(
                study_name=study_name,
                storage=studies.open_storage(storage, heartbeat=True),
                load_if_exists=True,
                direction="maximize" if maximize else "minimize",
                sampler=optuna.samplers.TPESampler(seed=seed),
                pruner=pruner or optuna.pruners.NopPruner(),
            )
        except (ValueError, ImportError, optuna.exceptions.OptunaError) as e:
            raise ConfigError(f"optuna storage {storage!r}: {e}") from None
        if storage is None:
            studies.register_local(self.study)
        self._heartbeat = studies.Heartbeat(studies.open_storage(storage, heartbeat=True))
        studies.close_abandoned(self.study)
        self._asked: Dict[str, List[Any]] = collections.defaultdict(list)  # key -> its trials

    def _planned(self) -> int:
        trials = self.study.get_trials(deepcopy=False)
        retried = studies.retried_numbers(trials)
        return sum(t.state != self._states.FAIL or t.number not in retried for t in trials)

    def _waiting(self) -> bool:
        return bool(self.study.get_trials(deepcopy=False, states=(self._states.WAITING,)))

    def ask(self) -> Optional[Config]:
        studies.close_abandoned(self.study)
        if self._planned() >= self.n_trials and not self._waiting():
            return None
        trial = self._new_trial()
        params = {}
        for k in self.keys:
            if k in self.ranges:
                params[k] = self.ranges[k].suggest(trial, k)
            else:
                choice = trial.suggest_categorical(k, self._choices[k])
                params[k] = self.grid[k][self._choices[k].index(choice)]
        config = self.make_config(trial.number, params)
        link = studies.TrialLink(
            self.storage_url, self.study.study_name, trial.number, self.metric, self.pruner
        )
        config = dataclasses.replace(config, trial=link)
        storage = self.study._storage
        storage.set_trial_system_attr(trial._trial_id, studies.DRIVER_ATTR, studies.this_driver())
        trial.set_user_attr(studies.KEY_ATTR, config.key)
        self._heartbeat.add(trial._trial_id)
        self._asked[config.key].append(trial)
        return config

    def _new_trial(self):
        """The next trial, carrying this sweep's host:pid from the moment it exists. A trial that
        study.ask() creates is marked only after it is stored, and a sweep killed in between
        would leave it RUNNING with nothing telling a restart that its sweep is gone. A retried
        trial popped from the queue still carries the dead sweep's mark until ``ask`` marks it
        again, so it stays recognisable in between."""
        if self._waiting():
            with warnings.catch_warnings():
                # Optuna warns that heartbeats are meant for study.optimize; this sweep records
                # them itself (study.Heartbeat).
                warnings.simplefilter("ignore")
                return self.study.ask()
        storage = self.study._storage  # Optuna's ask() takes no attributes for the new trial
        study_id = storage.get_study_id_from_name(self.study.study_name)
        if hasattr(storage, "read_trials_from_remote_storage"):
            storage.read_trials_from_remote_storage(study_id)
        template = self._optuna.trial.create_trial(
            state=self._states.RUNNING,
            system_attrs={studies.DRIVER_ATTR: studies.this_driver()},
        )
        trial_id = storage.create_new_trial(study_id, template_trial=template)
        return self._optuna.trial.Trial(self.study, trial_id)

    def tell(self, config: Config, row: Dict[str, Any]) -> None:
        for trial in self._asked.pop(config.key, []):
            self._heartbeat.discard(trial._trial_id)
            value = row.get(self.metric)
            try:
                if row.get("status") == "ok" and value is not None:
                    self.study.tell(trial, float(value))
                elif row.get("status") == "pruned":
                    self.study.tell(trial, state=self._states.PRUNED)
                else:
                    self.study.tell(trial, state=self._states.FAIL)
            except RuntimeError:
                pass  # closed meanwhile as abandoned (this sweep looked dead); its retry runs

    def cancel(self, configs: Sequence[Config]) -> None:
        """Trials of configurations stopped before they finished: failed and queued again."""
        for config in configs:
            for trial in self._asked.pop(config.key, []):
                self._heartbeat.discard(trial._trial_id)
                studies.abandon(self.study, trial.number)

    def close(self) -> None:
        self._heartbeat.close()

    def best(self) -> Optional[Dict[str, Any]]:
        """The study's best trial (any sweep's): number, value and parameters; None before one
        completed."""
        try:
            best = self.study.best_trial
        except ValueError:
            return None
        params = {
            k: (
                self.grid[k][self._choices[k].index(v)]
                if k in self.grid and v in self._choices[k]
                else v
            )
            for k, v in best.params.items()
        }
        return {"trial": best.number, "value": best.value, "params": params}
