"""Training: the Trainer and what it hands work to.

  trainer.py        Trainer: per-epoch policy (history, schedule, best weights, early stopping,
                    checkpoints)
  recipe.py         loss, optimizer and schedule from names or the tutorial's torch objects, and
                    which loop runs them (the C++ Engine, for greymatter models and plain modules)
  torch_objects.py  torch's loss/optimizer/scheduler objects -> engine settings, and state back
  module_cost.py    a plain module's multiply-adds and memory format, for the engine
  torch_loop.py     the Python loop for what the engine does not run (a custom loss, RMSprop, ...)
  schedulers.py     learning-rate schedules with torch.optim.lr_scheduler's names
  core_options.py   the C++ engine's typed options (EngineOptions, LossConfig, SchedulerConfig)
  checkpoint.py     atomic writes of weights and their metadata JSON
  history.py        one row per epoch
  progress.py       progress bars in a terminal and in Jupyter
  feature_cache.py  a frozen backbone's features, computed once
"""
from . import schedulers
from .history import History
from .trainer import Trainer

__all__ = ["History", "Trainer", "schedulers"]
