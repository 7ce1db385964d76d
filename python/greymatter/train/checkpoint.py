"""Checkpoints: written atomically (temp file in the same folder, then rename), with a metadata JSON
beside them, so an interrupted save never leaves a half-written file where a good one was.

A writer killed mid-write (kill -9, a crash, a power cut) leaves its temp file behind. Temp names
carry the writer's PID, ``.<name>.<pid>.<random>.tmp``, so the next write of the same file (and
``Trainer.resume``) removes those whose writer no longer runs, and never one being written now.
Files get the permissions of the user's umask, as a plain ``open`` would give them.
"""
import json
import os
import platform
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import torch

from .._core import ConfigError
from .._version import __version__

__all__ = [
    "atomic_save",
    "save_checkpoint",
    "metadata_path",
    "remove_stale_temp_files",
    "check_checkpoint_path",
    "prepare_checkpoint_folder",
]

# mkstemp's random part: letters, digits and '_'.
_RANDOM = re.compile(r"[A-Za-z0-9_]+")
# Temp files named before they carried a PID: removed once surely abandoned.
_NAMELESS_AGE_S = 3600


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), 0o666 & ~_umask())  # mkstemp made it 0600
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_stale_temp_files(path) -> List[Path]:
    """Removes the temp files that killed writers of `path` left in its folder; returns them."""
    path = Path(path)
    prefix = f".{path.name}."
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:  # no folder yet: nothing left behind
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid, dot, rest = name[len(prefix) : -len(".tmp")].partition(".")
        if dot and pid.isdigit() and _RANDOM.fullmatch(rest):
            stale = not _running(int(pid))
        elif not dot and _RANDOM.fullmatch(pid):  # no PID in the name: judge by age
            stale = _age_s(entry) > _NAMELESS_AGE_S
        else:  # another file's temp (".best.pth.1.<pid>.<random>.tmp" is best.pth.1's)
            continue
        if stale:
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except FileNotFoundError:  # another process cleaned it first
                pass
    return removed


def _running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (a killed writer not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _age_s(entry: os.DirEntry) -> float:
    try:
        return time.time() - entry.stat().st_mtime
    except OSError:
        return 0.0


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask, read without changing it where Linux says it (/proc/self/status)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:  # elsewhere the only way to read it is to set it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def check_checkpoint_path(path) -> None:
    """A ConfigError now for a checkpoint= that cannot work: a folder, or a place under a file or
    in a folder this user cannot write. Creates nothing (prepare_checkpoint_folder does, in fit)."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(
            f"checkpoint={str(path)!r} is a folder; give a file, e.g. {path / 'best.pth'}"
        )
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(
            f"checkpoint={str(path)!r} cannot be written: {existing} is a file, not a folder"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"checkpoint={str(path)!r} cannot be written: no permission to write in {existing}"
        )


def prepare_checkpoint_folder(path) -> None:
    """Creates the checkpoint's folder and proves it writable (a read-only file system, /proc, a
    full disk's quota), so that a bad checkpoint= fails before training rather than after the first
    epoch; a ConfigError naming it."""
    path = Path(path)
    check_checkpoint_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as e:
        raise ConfigError(
            f"checkpoint={str(path)!r} cannot be written: {e.strerror or e} ({path.parent})"
        ) from None


def atomic_save(obj: Any, path) -> None:
    """torch.save, but the file at `path` is either the old one or the complete new one."""
    _atomic_write(Path(path), lambda f: torch.save(obj, f))


def metadata_path(path) -> Path:
    return Path(path).with_suffix(".json")


def save_checkpoint(path, state_dict, metadata: Dict) -> None:
    """Saves `state_dict` to `path` (loadable with torch.load(path, weights_only=True)) and
    `metadata` to path.json."""
    meta = dict(metadata)
    meta["versions"] = {
        "greymatter": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    atomic_save(state_dict, path)
    text = json.dumps(meta, indent=2, default=str).encode()
    _atomic_write(metadata_path(path), lambda f: f.write(text))
