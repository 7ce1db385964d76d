"""Copies the tutorial notebooks into a working folder, so that running them (outputs, the data and
runs they write) leaves the repository's copies untouched, and never overwrites one the user edited.

A copy counts as edited when its cells (types and sources; not outputs or execution counts, which
running changes) differ both from the stored notebook and from the stored notebook as it was when
copied (recorded in RECORD in the working folder). So a copy that was only run is kept with its
outputs; one whose stored notebook has changed since, but which the user did not edit, is
refreshed; one the user edited is kept and named."""
import hashlib
import json
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .._core import ConfigError

RECORD = ".stored-notebooks.json"  # notebook name -> cells() digest of the version copied


def cells_digest(path: Path) -> Optional[str]:
    """A digest of the notebook's cell types and sources; None when it is not a readable
    notebook."""
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
        content = [(c["cell_type"], _text(c.get("source", ""))) for c in cells]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def copy_notebooks(stored_dir, work_dir) -> List[Tuple[str, str]]:
    """Brings work_dir up to date with the numbered notebooks of stored_dir. Returns (name, what
    happened) per notebook: 'copied', 'updated', 'unchanged' or 'kept (edited)'."""
    stored_dir, work_dir = Path(stored_dir), Path(work_dir)
    notebooks = sorted(stored_dir.glob("[0-9]*.ipynb"))
    if not notebooks:
        raise ConfigError(f"no tutorial notebooks (01_*.ipynb, ...) in {stored_dir}")
    work_dir.mkdir(parents=True, exist_ok=True)
    record = _read_record(work_dir / RECORD)
    report = []
    for stored in notebooks:
        copy = work_dir / stored.name
        wanted = cells_digest(stored)
        if not copy.exists():
            action = "copied"
        else:
            current = cells_digest(copy)
            if current == wanted:
                action = "unchanged"
            elif current is not None and current == record.get(stored.name):
                action = "updated"
            else:
                action = "kept (edited)"
        if action in ("copied", "updated"):
            shutil.copyfile(stored, copy)
        if action != "kept (edited)":
            record[stored.name] = wanted
        report.append((stored.name, action))
    (work_dir / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return report


def _read_record(path: Path) -> Dict[str, str]:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}
