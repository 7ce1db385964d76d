"""History: one row per epoch of a Trainer.fit run."""
from typing import Dict, List, Optional

__all__ = ["History"]

COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "gap", "seconds"]


class History:
    """One row per epoch of a ``Trainer.fit`` run: ``.rows`` (dicts), ``.df`` (pandas, columns
    ``epoch, train_loss, train_acc, val_loss, val_acc, lr, gap, seconds``), ``.column(name)``,
    ``.history`` (Keras-style dict of lists), ``.best_epoch`` and ``.interrupted``.

    Args:
        monitor: the column whose best value ``best_epoch`` marks (the Trainer's ``monitor``).
    """

    def __init__(self, monitor: str = "val_acc") -> None:
        self.rows: List[Dict] = []
        self.monitor = monitor
        self.best_epoch: Optional[int] = None
        self.interrupted = False

    def append(self, row: Dict) -> None:
        self.rows.append({c: row.get(c) for c in COLUMNS})

    @property
    def df(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=COLUMNS)

    def column(self, name: str) -> list:
        return [r[name] for r in self.rows]

    @property
    def history(self) -> Dict[str, list]:
        """Keras-style dict of lists."""
        return {c: self.column(c) for c in COLUMNS}

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"History(epochs={len(self)}, best_epoch={self.best_epoch})"
