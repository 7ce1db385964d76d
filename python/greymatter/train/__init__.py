"""Training: the Trainer and what it hands work to.

  trainer.py        Trainer: per-epoch policy (history, schedule, best weights, early stopping,
                    checkpoints)
  torch_loop.py     the epoch loop for a plain torch.nn.Module (the C++ Engine runs greymatter's)
  schedulers.py     learning-rate schedules with torch.optim.lr_scheduler's names
  checkpoint.py     atomic writes of weights and their metadata JSON
  history.py        one row per epoch
  progress.py       progress bars in a terminal and in Jupyter
  feature_cache.py  a frozen backbone's features, computed once
"""
from . import schedulers
from .history import History
from .trainer import Trainer

__all__ = ["History", "Trainer", "schedulers"]
