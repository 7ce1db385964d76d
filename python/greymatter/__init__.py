"""greymatter: the PyTorch image-classification workflow learners are taught, with the heavy work in
C++.

    import greymatter as gm
    train = gm.datasets.FashionMNIST(train=True)
    model = gm.models.MNISTNet(hidden=(128, 64))
    loader = gm.DataLoader(train, batch_size=64, shuffle=True)
    hist = gm.Trainer(model, lr=1e-3).fit(loader, epochs=5)
"""
import warnings

with warnings.catch_warnings():
    # torch.hub imports tqdm.auto, which in a Jupyter kernel without ipywidgets advises installing
    # them ("IProgress not found"); greymatter draws its own bars there, so the advice is noise.
    warnings.filterwarnings("ignore", message="IProgress not found")
    import torch  # noqa: F401  (loads libtorch before the extension that links against it)

from ._threads import configure_threads

configure_threads()

from ._core import ConfigError, DataError, TrainingError  # noqa: E402
from ._version import __version__  # noqa: E402, F401
from . import datasets, metrics, models, plots, transforms  # noqa: E402
from .datasets import Subset, random_split  # noqa: E402
from .loader import DataLoader  # noqa: E402
from .train import History, Trainer, schedulers  # noqa: E402
from .sweep import sweep  # noqa: E402
from .onnx_export import export  # noqa: E402

__all__ = [
    "ConfigError",
    "DataError",
    "DataLoader",
    "History",
    "Subset",
    "Trainer",
    "TrainingError",
    "datasets",
    "export",
    "metrics",
    "models",
    "plots",
    "random_split",
    "schedulers",
    "sweep",
    "transforms",
]
