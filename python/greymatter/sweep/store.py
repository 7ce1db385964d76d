"""Sweep results stores: one row per finished configuration, written the moment it finishes, so a
sweep that is killed keeps everything it finished and a re-run skips it.

- CSV (any other path): one physical line per row, appended with a single write, flushed and
  fsynced. A process killed mid-write leaves at most one partial last line: readers ignore it,
  writers cut it off first.
- SQLite (path ending in .db, .sqlite or .sqlite3): one committed INSERT OR REPLACE per row.
- ``None``: kept in memory only (nothing to resume from).

Rows are keyed by the configuration's stable hash; the last row written for a key wins. Parameters
are kept as one JSON column so sweeps over different keys can share a file. Every row records the
store format; a file of an older format, whose keys this version cannot match, is refused with a
message saying so rather than silently trained again. This file does not run or plan anything. """
import csv
import io
import json
import math
import os
import sqlite3
from pathlib import Path
from typing import Any, Dict, List, Optional

from .._core import ConfigError, DataError

__all__ = [
    "COLUMNS",
    "STORE_FORMAT",
    "open_store",
    "CsvStore",
    "SqliteStore",
    "MemoryStore",
    "load_results",
]

# 2: configuration keys name a registered model, or hash a user function's source text (1 hashed its
# bytecode).
STORE_FORMAT = 2
COLUMNS = [
    "key",
    "index",
    "params",
    "status",
    "error",
    "val_acc",
    "val_loss",
    "train_acc",
    "train_loss",
    "gap",
    "best_epoch",
    "epochs",
    "seconds",
    "finished",
    "worker",
    "format",
]
_FORMAT_1_COLUMNS = COLUMNS[:-1]
_FLOATS = {"val_acc", "val_loss", "train_acc", "train_loss", "gap", "seconds"}
_INTS = {"index", "best_epoch", "epochs", "format"}
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def open_store(path):
    if path is None:
        return MemoryStore()
    path = Path(path)
    if path.suffix.lower() in SQLITE_SUFFIXES:
        return SqliteStore(path)
    return CsvStore(path)


def load_results(path) -> Dict[str, Dict[str, Any]]:
    """The rows a sweep wrote to its results file.

    Args:
        path: the ``results=`` file of ``gm.sweep`` (.csv, .db or .sqlite).

    Returns:
        ``{key: row}``, the last row of each configuration key.

    Raises:
        DataError: the file does not exist.
    """
    if not Path(path).exists():
        raise DataError(f"{path}: no such sweep results file")
    store = open_store(path)
    try:
        return store.load()
    finally:
        store.close()


class MemoryStore:
    def __init__(self) -> None:
        self.rows: Dict[str, Dict[str, Any]] = {}

    def load(self) -> Dict[str, Dict[str, Any]]:
        return dict(self.rows)

    def append(self, row: Dict[str, Any]) -> None:
        self.rows[row["key"]] = dict(row)

    def close(self) -> None:
        pass


class CsvStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = None

    def load(self) -> Dict[str, Dict[str, Any]]:
        if not self.path.exists():
            return {}
        text = self.path.read_text(encoding="utf-8", errors="replace")
        lines = text.split("\n")
        if not lines[0]:
            return {}
        self._check_header(lines[0])
        rows = {}
        # The piece after the last newline is empty, or a record cut short by a kill: never a row.
        for line in lines[1:-1]:
            row = _parse_line(line)
            if row is not None:
                rows[row["key"]] = row
        return rows

    def append(self, row: Dict[str, Any]) -> None:
        if self._file is None:
            self._open_for_append()
        buf = io.StringIO()
        row = {**row, "format": STORE_FORMAT}
        csv.writer(buf, lineterminator="\n").writerow([_to_text(row.get(c)) for c in COLUMNS])
        self._file.write(
            buf.getvalue()
        )  # one line, one write: a kill leaves whole lines plus at most a stub
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open_for_append(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, "rb+") as f:
                data = f.read()
                self._check_header(data.split(b"\n", 1)[0].decode("utf-8", "replace"))
                if not data.endswith(
                    b"\n"
                ):  # a record cut short by a kill: drop it before appending
                    f.truncate(data.rfind(b"\n") + 1)
            self._file = open(self.path, "a", encoding="utf-8", newline="")
        else:
            self._file = open(self.path, "w", encoding="utf-8", newline="")
            self._file.write(",".join(COLUMNS) + "\n")
            self._file.flush()

    def _check_header(self, line: str) -> None:
        if line.rstrip("\r") == ",".join(_FORMAT_1_COLUMNS):
            raise DataError(_older_format(self.path))
        if line.rstrip("\r") != ",".join(COLUMNS):
            raise DataError(
                f"{self.path}: not a greymatter sweep results file (its first line is "
                f"{line[:80]!r}); "
                f"give another results path"
            )


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(self.path))
            cols = ", ".join(
                f'"{c}" {_sql_type(c)}' + (" PRIMARY KEY" if c == "key" else "") for c in COLUMNS
            )
            self._db.execute(f"CREATE TABLE IF NOT EXISTS results ({cols})")
            have = [r[1] for r in self._db.execute("PRAGMA table_info(results)")]
        except sqlite3.DatabaseError as e:
            raise DataError(
                f"{self.path}: cannot be used as a sweep results database ({e})"
            ) from None
        if have == _FORMAT_1_COLUMNS:
            raise DataError(_older_format(self.path))
        if have != COLUMNS:
            raise DataError(
                f"{self.path}: its 'results' table has columns {have}, not a greymatter sweep's; "
                f"give another results path"
            )
        self._db.commit()

    def load(self) -> Dict[str, Dict[str, Any]]:
        cur = self._db.execute(
            f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in COLUMNS)} FROM results"
        )
        return {r[0]: dict(zip(COLUMNS, r)) for r in cur.fetchall()}

    def append(self, row: Dict[str, Any]) -> None:
        row = {**row, "format": STORE_FORMAT}
        values = [_to_sql(c, row.get(c)) for c in COLUMNS]
        self._db.execute(
            f"INSERT OR REPLACE INTO results VALUES ({', '.join('?' * len(COLUMNS))})", values
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()


def _older_format(path: Path) -> str:
    return (
        f"{path}: sweep results of an older greymatter (results format 1), whose configuration "
        "keys this "
        "version cannot match; move the file aside or give another results path (its "
        "configurations then "
        f"train again)"
    )


def _sql_type(column: str) -> str:
    return "REAL" if column in _FLOATS else "INTEGER" if column in _INTS else "TEXT"


def _to_sql(column: str, value):
    if column == "params" and not isinstance(value, str):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _to_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)  # repr round-trips exactly
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    # One record per physical line: an error message's newlines would split it.
    return str(value).replace("\r", " ").replace("\n", " | ")


def _parse_line(line: str) -> Optional[Dict[str, Any]]:
    """A row, or None for a line that is not a complete record."""
    try:
        fields: List[str] = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return None
    if len(fields) != len(COLUMNS):
        return None
    row: Dict[str, Any] = {}
    try:
        for c, text in zip(COLUMNS, fields):
            if text == "":
                row[c] = None
            elif c in _FLOATS:
                row[c] = float(text)
            elif c in _INTS:
                row[c] = int(text)
            else:
                row[c] = text
        json.loads(row["params"] or "")
    except ValueError:
        return None
    return row if row["key"] and row["status"] else None


def check_results_path(path) -> None:
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ConfigError(
            f"results must be a file path (.csv, or .db/.sqlite for SQLite) or None, got {path!r}"
        )
