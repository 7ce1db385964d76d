"""Loading tensors from files that may come from anyone: checkpoints, weights, training states.

``torch.load`` unpickles, and a pickled object can run any code while it loads (torch 1.13 does a
full unpickle unless asked not to). Every file greymatter did not just write itself is read with
``weights_only=True``: tensors, numbers, strings, lists, dicts and tuples only. A file that needs
more is refused with a DataError naming it, and nothing in it has run.
"""
import pickle
from typing import Any

import torch

from ._core import DataError

__all__ = ["load_tensors"]


def load_tensors(path, what: str) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)``; `what` ("weights from",
    "checkpoint", "training state") names the file's role in messages ("cannot read <what>
    <path>: ..."). FileNotFoundError passes through."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError as e:
        # torch's message is advice to load the file without weights_only; keep only the reason.
        reason = str(e).rsplit("WeightsUnpickler error:", 1)[-1].strip() or "not a torch file"
        raise DataError(
            f"cannot read {what} {path}: it holds more than tensors and plain values ({reason}); "
            f"refused, and nothing in it ran. greymatter loads only tensors from files, as a "
            f"pickled object can run code when loaded; if you trust the file, load it yourself "
            f"and save its state_dict"
        ) from None
    except Exception as e:  # noqa: BLE001 - torch.load raises many types for a damaged file
        raise DataError(f"cannot read {what} {path}: {type(e).__name__}: {e}") from None
