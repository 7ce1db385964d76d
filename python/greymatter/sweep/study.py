"""The Optuna study behind strategy="optuna": opening its storage, knowing which of its trials are
still alive, and reporting a configuration's epochs to its trial from wherever it trains.

- Storage: an RDB URL ("sqlite:///runs/sweep.csv.optuna.db" by default, beside the results; any URL
  SQLAlchemy takes) or None (in memory: this process only). Every process opens it by URL itself,
  so several sweeps (processes, machines) and their Dask workers can share one study.
- Liveness: the sweep that asked a trial records a heartbeat for it while it trains (Optuna's
  heartbeat table) and its host and pid in the trial. A trial left RUNNING by a sweep that died is
  failed and its parameters queued again (Optuna's RetryFailedTrialCallback): at once when that
  sweep ran on this host and its process is gone, else once its heartbeat is older than GRACE_S.
  A sweep stopped by an exception or Ctrl-C does the same for its own trials on the way out.
- Reporting: inside the configuration's training, `TrialReporter` (the Trainer's on_epoch) reports
  the epoch's metric to the trial by number and, when the sweep prunes, stops training when the
  study's pruner says so.

Nothing here decides which configuration comes next (search.py) or trains (run.py)."""
import contextlib
import os
import socket
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Dict, Optional

__all__ = [
    "TrialLink",
    "TrialReporter",
    "Heartbeat",
    "open_storage",
    "default_storage",
    "close_abandoned",
    "abandon",
    "DRIVER_ATTR",
    "KEY_ATTR",
]

HEARTBEAT_S = 20  # how often a sweep marks its trials alive
GRACE_S = 120  # a trial whose heartbeat is older than this is taken as abandoned
DRIVER_ATTR = "greymatter:driver"  # "host:pid" of the sweep that asked the trial
KEY_ATTR = "greymatter:key"  # the configuration's results-store key
SQLITE_TIMEOUT_S = 60  # how long a writer waits for SQLite's lock (several processes write)

_LOCAL_STUDIES: Dict[str, Any] = {}  # in-memory studies of this process, by name
_STORAGES: Dict[str, Any] = {}  # RDB storages opened by this process, by URL
_LOCK = threading.Lock()


def default_storage(results) -> Optional[str]:
    """sqlite:///<results>.optuna.db (absolute, so workers with another working directory find
    it), or None without a results file."""
    if results is None:
        return None
    return f"sqlite:///{os.path.abspath(os.fspath(results))}.optuna.db"


def open_storage(url: Optional[str], heartbeat: bool):
    """An RDBStorage for `url` (None: None, Optuna's in-memory storage). With `heartbeat`, the
    storage the sweep itself uses: heartbeats enabled and failed trials queued again."""
    import optuna

    if url is None:
        return None
    key = f"{url}|{heartbeat}"
    with _LOCK:
        if key not in _STORAGES:
            # The heartbeat thread and the sweep's thread share the storage's connection pool, so a
            # pooled SQLite connection may be returned (and rolled back) by the other thread.
            sqlite = {"timeout": SQLITE_TIMEOUT_S, "check_same_thread": False}
            engine_kwargs = {"connect_args": sqlite} if url.startswith("sqlite") else {}
            options = {}
            if heartbeat:
                options = dict(heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S)
            with _quiet_experimental(optuna):
                if heartbeat:
                    options["failed_trial_callback"] = optuna.storages.RetryFailedTrialCallback()
                _STORAGES[key] = optuna.storages.RDBStorage(
                    url, engine_kwargs=engine_kwargs, **options
                )
        return _STORAGES[key]


def register_local(study) -> None:
    """An in-memory study, for configurations that train in this process."""
    _LOCAL_STUDIES[study.study_name] = study


def this_driver() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _driver_gone(driver: Optional[str]) -> bool:
    """True when `driver` ran on this host and its process no longer exists."""
    if not driver or ":" not in driver:
        return False
    host, pid = driver.rsplit(":", 1)
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's live process
        return False
    return False


def close_abandoned(study) -> None:
    """Fails (and queues again) the trials of sweeps that died: heartbeats too old (any host), or
    a sweep process on this host that no longer exists."""
    import optuna

    with _quiet_experimental(optuna):
        optuna.storages.fail_stale_trials(study)
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in running:
        if _driver_gone(trial.system_attrs.get(DRIVER_ATTR)):
            abandon(study, trial.number)


def abandon(study, number: int) -> None:
    """Fails a RUNNING trial that will never report and queues its parameters again."""
    import optuna

    storage = study._storage  # Optuna offers no public way to close a trial asked elsewhere
    trial_id = storage.get_trial_id_from_study_id_trial_number(
        storage.get_study_id_from_name(study.study_name), number
    )
    if storage.get_trial(trial_id).state != optuna.trial.TrialState.RUNNING:
        return
    try:
        storage.set_trial_state_values(trial_id, state=optuna.trial.TrialState.FAIL)
    except RuntimeError:  # finished by someone else meanwhile
        return
    with _quiet_experimental(optuna):
        optuna.storages.RetryFailedTrialCallback()(study, storage.get_trial(trial_id))


@contextlib.contextmanager
def _quiet_experimental(optuna):
    """Optuna marks heartbeats and retries experimental; users of a sweep need not hear it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def retried_numbers(trials) -> set:
    """Numbers of failed trials that were queued again (their retry stands for them)."""
    done = set()
    for t in trials:
        done.update(t.system_attrs.get("retry_history", ()))
    return done


class Heartbeat:
    """A thread recording a heartbeat for the trials in flight every HEARTBEAT_S seconds."""

    def __init__(self, storage) -> None:
        self.storage = storage
        self.trial_ids: set = set()
        self._stop = threading.Event()
        self._thread = None
        if storage is not None:
            self._thread = threading.Thread(target=self._run, name="optuna-heartbeat", daemon=True)
            self._thread.start()

    def add(self, trial_id: int) -> None:
        if self.storage is not None:
            self.storage.record_heartbeat(trial_id)
            self.trial_ids.add(trial_id)

    def discard(self, trial_id: int) -> None:
        self.trial_ids.discard(trial_id)

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            for trial_id in list(self.trial_ids):
                try:
                    self.storage.record_heartbeat(trial_id)
                except Exception:  # noqa: BLE001 - a lost heartbeat only risks a retry
                    pass

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@dataclass(frozen=True)
class TrialLink:
    """What a configuration needs to report to its trial, wherever it trains: the storage URL
    (None: an in-memory study of the sweep's own process), the study's name, the trial's number,
    the metric reported ("val_acc" or "train_loss") and the pruner (None: report only)."""

    storage: Optional[str]
    study_name: str
    number: int
    metric: str
    pruner: Any = None


class TrialReporter:
    """The Trainer's on_epoch for a sweep configuration: reports the epoch's metric to the trial
    (step = epoch - 1, as Optuna's pruners count from 0) and returns False when the pruner says to
    stop; `pruned` then tells the configuration's row. A study that cannot be reached (an in-memory
    study from another process) makes it report nothing."""

    def __init__(self, link: TrialLink) -> None:
        self.link = link
        self.pruned = False
        self._trial = None
        self._unreachable = False

    def __call__(self, row: Dict) -> Optional[bool]:
        value = row.get(self.link.metric)
        trial = self._open() if value is not None else None
        if trial is None:
            return None
        import optuna

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a step reported before (a retried trial)
                trial.report(float(value), step=int(row["epoch"]) - 1)
            if self.link.pruner is not None and trial.should_prune():
                self.pruned = True
                return False
        except (RuntimeError, optuna.exceptions.OptunaError):
            # The trial was closed meanwhile (its sweep died and it was failed and queued again):
            # nothing to report to; the configuration's row still reaches the results store.
            self._unreachable = True
        return None

    def _open(self):
        if self._trial is None and not self._unreachable:
            self._trial = _open_trial(self.link)
            self._unreachable = self._trial is None
        return self._trial


def _open_trial(link: TrialLink):
    import optuna

    if link.storage is None:
        study = _LOCAL_STUDIES.get(link.study_name)
        if study is None:
            return None
        storage = study._storage
    else:
        storage = open_storage(link.storage, heartbeat=False)
    study_id = storage.get_study_id_from_name(link.study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, link.number)
    # A sampler that costs nothing: this study object only reports, it never samples.
    study = optuna.load_study(
        study_name=link.study_name,
        storage=storage,
        sampler=optuna.samplers.RandomSampler(),
        pruner=link.pruner or optuna.pruners.NopPruner(),
    )
    return optuna.trial.Trial(study, trial_id)
