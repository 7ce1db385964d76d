"""A sweep killed with SIGKILL takes its worker processes (and multiprocessing's resource tracker)
with it: nothing of it is left running a few seconds later."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

SCRIPT = """
import os
import greymatter as gm

def make(size_inner):
    # In a worker: say which process trains, so the test kills the sweep only once both do.
    open(f"{os.getpid()}.training", "w").close()
    return gm.models.MNISTNet(hidden=(size_inner,))

if __name__ == "__main__":
    full = gm.datasets.FashionMNIST(train=True)
    gm.sweep(make, grid={"size_inner": [64, 96, 128, 160]}, train=full, val=None, epochs=50,
             n_jobs=2, results=None, progress=False)
"""


def _children(pid: int):
    """{pid: command line} of the processes whose parent is `pid`."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                out[int(entry.name)] = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                )
        except (OSError, ValueError, IndexError):
            continue  # it ended while we looked
    return out


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie runs nothing; only its parent can reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_killed_sweep_leaves_no_worker_or_resource_tracker(tmp_path):
    script = tmp_path / "sweep_job.py"
    script.write_text(textwrap.dedent(SCRIPT))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        workers, trackers, kids, training = {}, {}, {}, set()
        while time.monotonic() < deadline and proc.poll() is None:
            kids = _children(proc.pid)
            workers = {p: c for p, c in kids.items() if "spawn_main" in c}
            trackers = {p: c for p, c in kids.items() if "resource_tracker" in c}
            training = {int(f.name.split(".")[0]) for f in tmp_path.glob("*.training")}
            if len(training & set(workers)) >= 2 and trackers:
                break
            time.sleep(0.1)
        assert len(training & set(workers)) >= 2 and trackers, f"no 2 workers training: {kids}"
        time.sleep(1)  # both are well into a configuration
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(5)
        left = {p: c for p, c in {**workers, **trackers}.items() if _running(p)}
        assert not left, f"still running 5 s after the sweep was killed: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in list(workers) + list(trackers):  # never leave them behind, even when failing
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
