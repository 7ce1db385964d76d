"""Checkpoints: written atomically (temp file in the same folder, then rename), with a metadata JSON
beside them, so an interrupted save never leaves a half-written file where a good one was."""
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any, Dict

import torch

from .._version import __version__

__all__ = ["atomic_save", "save_checkpoint", "metadata_path"]


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_save(obj: Any, path) -> None:
    """torch.save, but the file at `path` is either the old one or the complete new one."""
    _atomic_write(Path(path), lambda f: torch.save(obj, f))


def metadata_path(path) -> Path:
    return Path(path).with_suffix(".json")


def save_checkpoint(path, state_dict, metadata: Dict) -> None:
    """Saves `state_dict` to `path` (loadable with plain torch.load) and `metadata` to path.json."""
    meta = dict(metadata)
    meta["versions"] = {
        "greymatter": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    atomic_save(state_dict, path)
    text = json.dumps(meta, indent=2, default=str).encode()
    _atomic_write(metadata_path(path), lambda f: f.write(text))
