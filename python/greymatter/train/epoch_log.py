"""The per-epoch CSV log beside a checkpoint: ``runs/best.pth`` -> ``runs/best.log.csv``, one row
per epoch with History's columns (epoch, train_loss, train_acc, val_loss, val_acc, lr, gap,
seconds).

Each row is appended, flushed and fsynced as its epoch ends, so a run killed at any point keeps the
rows of every epoch it finished. Cells without a value (validation columns of a run without
validation data) are empty, never a made-up number. When a fit starts, the file is rewritten from
the Trainer's history (empty for a new Trainer), so a resumed run's log is the history it continues
and an epoch that was repeated after a kill appears once. This file trains nothing."""
import csv
import io
import os
from pathlib import Path
from typing import Dict, Iterable

from .checkpoint import _atomic_write
from .history import COLUMNS

__all__ = ["EpochLog", "log_path"]


def log_path(checkpoint) -> Path:
    """runs/best.pth -> runs/best.log.csv"""
    path = Path(checkpoint)
    return path.with_name((path.stem if path.suffix == ".pth" else path.name) + ".log.csv")


class EpochLog:
    def __init__(self, path) -> None:
        self.path = Path(path)

    def restart(self, rows: Iterable[Dict]) -> None:
        """The header and `rows`, replacing the file in one step."""
        text = _lines([COLUMNS] + [_cells(r) for r in rows]).encode()
        _atomic_write(self.path, lambda f: f.write(text))

    def append(self, row: Dict) -> None:
        with open(self.path, "a", encoding="utf-8", newline="") as f:
            f.write(_lines([_cells(row)]))  # one write per row
            f.flush()
            os.fsync(f.fileno())


def _cells(row: Dict) -> list:
    return [_text(row.get(c)) for c in COLUMNS]


def _text(value) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)  # repr: floats read back exactly


def _lines(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()
