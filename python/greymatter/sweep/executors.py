"""Where sweep configurations run: this thread, a pool of spawned processes, a concurrent.futures
executor the user gives, or a Dask cluster through its Client.

Every runner has the same small interface for the sweep loop in driver.py: `capacity` (how many
configurations to keep in flight), `submit(config)`, `wait(handles)` (those done; blocks until one
is), `row(handle, config)` (its results row; an exception, a dead worker included, becomes a
"failed" row for that configuration only), `cancel(handles)` and `close()`. Runners neither plan nor
store anything. """
import concurrent.futures as cf
import multiprocessing
import os
import pickle
import uuid
import warnings
from concurrent.futures.process import BrokenProcessPool
from typing import Dict, List, Optional

from .. import _core
from .._core import ConfigError
from .._threads import available_cores
from ._process import die_with_parent
from .grid import Config
from .run import Plan, failed_row, run_config

__all__ = ["make_runner", "run_pickled"]


def make_runner(executor, n_jobs: int, plan: Plan, fallback: Optional[Plan] = None):
    """`fallback`: the plan to run in this process should worker processes fail to start (n_jobs was
    automatic)."""
    if executor is None:
        return ProcessRunner(plan, n_jobs, fallback) if n_jobs > 1 else SerialRunner(plan)
    if _is_dask_client(executor):
        return DaskRunner(executor, plan)
    if isinstance(executor, cf.Executor):
        return FuturesRunner(executor, plan)
    raise ConfigError(
        f"executor must be None (this machine), a dask.distributed.Client or a "
        f"concurrent.futures.Executor; got {type(executor).__name__}"
    )


def _is_dask_client(obj) -> bool:
    return type(obj).__name__ == "Client" and type(obj).__module__.startswith("distributed")


def _done_future(fn, *args) -> cf.Future:
    fut: cf.Future = cf.Future()
    try:
        fut.set_result(fn(*args))
    except Exception as e:  # noqa: BLE001 - reported by row()
        fut.set_exception(e)
    return fut


class SerialRunner:
    """One configuration at a time in the calling thread: Ctrl-C stops it within a batch."""

    capacity = 1

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def submit(self, config: Config):
        return _done_future(run_config, self.plan, config)

    def wait(self, handles) -> List:
        return list(handles)

    def row(self, handle, config: Config) -> Dict:
        return _row_of(handle, config)

    def cancel(self, handles) -> None:
        pass

    def close(self) -> None:
        pass


class ProcessRunner:
    """`n_jobs` spawned worker processes, one configuration each at a time. Processes share nothing
    a configuration draws on (torch's global random generator, OpenBLAS's pool), so results match a
    serial run exactly. The plan goes by cloudpickle where installed, so functions defined in a
    notebook reach the workers. A worker that dies breaks the whole pool; each configuration that
    was in flight then runs again alone in a fresh process, so only the one that kills its process
    is reported failed."""

    def __init__(self, plan: Plan, n_jobs: int, fallback: Optional[Plan] = None) -> None:
        self._fallback = (
            fallback  # with n_jobs chosen automatically: run this plan here if workers cannot start
        )
        self._dumps = best_dumps()
        check_picklable(plan, self._dumps, "worker processes (n_jobs > 1)")
        self.plan = plan
        self.capacity = n_jobs
        self._payload = self._dumps(plan)
        self._pool = self._new_pool(n_jobs)
        self._started = False

    @staticmethod
    def _new_pool(n: int) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=n,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(os.getpid(), _core.max_image_pixels()),
        )

    def submit(self, config: Config):
        if not self._started:
            self._check_workers_start()
        if self._fallback is not None and self.capacity == 1:
            return _done_future(run_config, self._fallback, config)
        try:
            return self._pool.submit(run_pickled, self._payload, config)
        except BrokenProcessPool:
            self._pool.shutdown(wait=False)
            self._pool = self._new_pool(self.capacity)
            return self._pool.submit(run_pickled, self._payload, config)

    def _check_workers_start(self) -> None:
        """A worker that cannot even start is not any configuration's fault: the usual cause is a
        script that calls gm.sweep at top level, which each spawned worker imports and runs
        again."""
        self._started = True
        try:
            self._pool.submit(_worker_ready).result()
        except BrokenProcessPool:
            if self._fallback is not None:
                warnings.warn(
                    "sweep's worker processes died on start-up (a script calling gm.sweep outside "
                    '`if __name__ == "__main__":`?); running one configuration at a time here',
                    stacklevel=4,
                )
                self.capacity = 1
                return
            raise ConfigError(
                "sweep's worker processes died on start-up. A script that calls gm.sweep with "
                'n_jobs > 1 must do it under `if __name__ == "__main__":` (each worker process '
                "imports the script), or pass n_jobs=1"
            ) from None

    def wait(self, handles) -> List:
        return list(cf.wait(handles, return_when=cf.FIRST_COMPLETED).done)

    def row(self, handle, config: Config) -> Dict:
        try:
            return handle.result()
        except BrokenProcessPool:
            return self._run_alone(config)
        except Exception as e:  # noqa: BLE001 - e.g. the plan failed to load in the worker
            return failed_row(config, f"worker failed: {type(e).__name__}: {e}")

    def _run_alone(self, config: Config) -> Dict:
        pool = self._new_pool(1)
        try:
            return pool.submit(run_pickled, self._payload, config).result()
        except BrokenProcessPool as e:
            return failed_row(
                config, f"worker process died while training this configuration ({e})"
            )
        except Exception as e:  # noqa: BLE001
            return failed_row(config, f"worker failed: {type(e).__name__}: {e}")
        finally:
            pool.shutdown(wait=True)

    def cancel(self, handles) -> None:
        for h in handles:
            h.cancel()
        # Running configurations would otherwise finish first (Ctrl-C in Jupyter reaches this
        # process only).
        for proc in list(getattr(self._pool, "_processes", {}).values()):
            proc.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _worker_ready() -> bool:
    return True


def _init_worker(parent_pid: int, max_image_pixels: int) -> None:
    """First thing in each worker process. It dies with the sweep (a sweep killed with SIGKILL
    would otherwise leave it training, and multiprocessing's resource tracker, which exits when the
    last process holding its pipe has gone, waiting for it), and reads images under the sweep's
    pixel limit."""
    die_with_parent(parent_pid)
    _core.set_max_image_pixels(max_image_pixels)


def run_pickled(payload: bytes, config: Config) -> Dict:
    """run_config on a plan sent as bytes (loaded once per worker process and plan)."""
    global _loaded
    if _loaded is None or _loaded[0] != payload:
        _loaded = (payload, pickle.loads(payload))
    return run_config(_loaded[1], config)


_loaded = None


def best_dumps():
    """cloudpickle (functions from a notebook or a test go by value) when installed, else pickle."""
    try:
        import cloudpickle

        return cloudpickle.dumps
    except ImportError:
        return pickle.dumps


class FuturesRunner:
    """A concurrent.futures.Executor the caller owns (and closes). With a ProcessPoolExecutor the
    plan must pickle, and a worker process that dies fails every configuration in flight (n_jobs and
    Dask isolate such a crash). With a ThreadPoolExecutor configurations share torch's global random
    generator (model init, the Trainer's reseeding, dropout), so results can change from run to run
    (docs/sweep.md)."""

    def __init__(self, executor: cf.Executor, plan: Plan) -> None:
        if isinstance(executor, cf.ProcessPoolExecutor):
            check_picklable(plan, pickle.dumps, "a ProcessPoolExecutor's worker processes")
        self.executor = executor
        self.plan = plan
        self.capacity = getattr(executor, "_max_workers", None) or available_cores()

    def submit(self, config: Config):
        return self.executor.submit(run_config, self.plan, config)

    def wait(self, handles) -> List:
        return list(cf.wait(handles, return_when=cf.FIRST_COMPLETED).done)

    def row(self, handle, config: Config) -> Dict:
        return _row_of(handle, config)

    def cancel(self, handles) -> None:
        for h in handles:
            h.cancel()

    def close(self) -> None:
        pass


class DaskRunner:
    """One Dask task per configuration. The plan is scattered once to every worker; data that the
    plan holds as factories is built once per worker process (run.py's cache). A worker that dies
    mid-configuration makes Dask retry that task elsewhere, and after its retries it becomes that
    configuration's failed row."""

    def __init__(self, client, plan: Plan) -> None:
        import distributed

        self._distributed = distributed
        cluster = getattr(client, "cluster", None)
        if getattr(
            cluster, "processes", True
        ):  # anything but an in-process LocalCluster serializes tasks
            from distributed.protocol.pickle import dumps

            check_picklable(plan, dumps, "Dask workers")
        self.client = client
        self.plan = plan
        self._plan_future = client.scatter(plan, broadcast=True, hash=False)
        workers = client.scheduler_info().get("workers", {})
        self.capacity = max(1, sum(w.get("nthreads", 1) for w in workers.values()))
        if any(w.get("nthreads", 1) > 1 for w in workers.values()):
            warnings.warn(
                "Dask workers with several threads train configurations side by side in one "
                "process, "
                "where model init and dropout share torch's one random generator: results can "
                "change "
                "from run to run. Start workers with one thread each (threads_per_worker=1, "
                "--nthreads 1) for reproducible sweeps.",
                stacklevel=3,
            )
        self._tag = uuid.uuid4().hex[:8]

    def submit(self, config: Config):
        return self.client.submit(
            run_config,
            self._plan_future,
            config,
            pure=False,
            key=f"greymatter-sweep-{config.index}-{config.key}-{self._tag}",
        )

    def wait(self, handles) -> List:
        return list(self._distributed.wait(list(handles), return_when="FIRST_COMPLETED").done)

    def row(self, handle, config: Config) -> Dict:
        try:
            return handle.result()
        except Exception as e:  # noqa: BLE001 - KilledWorker, a worker's exception, lost data
            return failed_row(config, f"worker failed: {type(e).__name__}: {e}")
        finally:
            handle.release()

    def cancel(self, handles) -> None:
        if handles:
            self.client.cancel(list(handles))

    def close(self) -> None:
        self.client.cancel([self._plan_future])


def _row_of(fut: cf.Future, config: Config) -> Dict:
    try:
        return fut.result()
    except cf.CancelledError:
        raise
    except Exception as e:  # noqa: BLE001 - e.g. BrokenProcessPool: reported in the table
        return failed_row(config, f"worker failed: {type(e).__name__}: {e}")


def check_picklable(plan: Plan, dumps, where: str) -> None:
    """A ConfigError naming the part of the plan that cannot be sent to `where`."""
    try:
        dumps(plan)
        return
    except Exception:  # noqa: BLE001 - find the culprit below
        pass
    for name in ("train", "val", "make_model", "model_kwargs", "trainer_kwargs", "loader_kwargs"):
        part = getattr(plan, name)
        try:
            dumps(part)
        except Exception as e:  # noqa: BLE001
            hint = ""
            if name in ("train", "val"):
                hint = (
                    f"; greymatter datasets hold C++ data that does not pickle: pass {name}= as a "
                    f"zero-argument function that builds the dataset (it runs once per worker)"
                )
            raise ConfigError(
                f"sweep {name}= cannot be sent to {where}: {type(e).__name__}: {e}{hint}"
            ) from None
    raise ConfigError(f"the sweep's settings cannot be sent to {where}")
