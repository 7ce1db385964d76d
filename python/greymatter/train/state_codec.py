"""The Trainer's resume state as a file that weights-only loading reads: tensors, plus one JSON
string for everything else (numbers, strings, lists, dicts, tuples, None).

torch 1.13's weights-only unpickler refuses Python floats (and anything but tensors, ints, strings,
lists, dicts and tuples), while the state holds learning rates, metrics, history rows and
torch.optim's param_groups. So the state is split: every tensor goes into one list, and the rest
becomes JSON in which a tensor is {"$tensor": i}, a tuple {"$tuple": [...]} and a dict with keys
other than plain strings {"$items": [[key, value], ...]}. JSON keeps floats exactly (repr
round-trips) and NaN/inf (Python's json reads back what it writes). Decoding accepts nothing else,
so a foreign file fails with a DataError rather than half-loading.
"""
import json
import numbers
from typing import Any, Dict, List

import torch

__all__ = ["encode", "decode", "StateFormatError"]

_TENSOR, _TUPLE, _ITEMS = "$tensor", "$tuple", "$items"


class StateFormatError(ValueError):
    """The file's structure is not an encoded state; the caller names the file."""


def encode(obj: Any) -> Dict[str, Any]:
    """{"state": JSON text, "tensors": [tensors]} for a structure of tensors and plain values."""
    tensors: List[torch.Tensor] = []
    text = json.dumps(_encode(obj, tensors), allow_nan=True)
    return {"state": text, "tensors": tensors}


def decode(saved: Any) -> Any:
    """The structure `encode` was given, from what weights-only loading returned."""
    if not isinstance(saved, dict) or not isinstance(saved.get("state"), str):
        raise StateFormatError("no encoded state in it")
    tensors = saved.get("tensors")
    if not isinstance(tensors, list) or not all(isinstance(t, torch.Tensor) for t in tensors):
        raise StateFormatError("its tensor list is missing or holds something else")
    try:
        skeleton = json.loads(saved["state"])
    except json.JSONDecodeError as e:
        raise StateFormatError(f"its state is not valid JSON ({e})") from None
    return _decode(skeleton, tensors)


def _encode(obj: Any, tensors: List[torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        tensors.append(obj.detach())
        return {_TENSOR: len(tensors) - 1}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    if isinstance(obj, tuple):
        return {_TUPLE: [_encode(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: _encode(v, tensors) for k, v in obj.items()}
        return {_ITEMS: [[_encode(k, tensors), _encode(v, tensors)] for k, v in obj.items()]}
    raise TypeError(
        f"the training state holds a {type(obj).__name__}, which a weights-only file "
        f"cannot store: convert it to numbers, strings, lists or dicts"
    )


def _decode(obj: Any, tensors: List[torch.Tensor]) -> Any:
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        raise StateFormatError(f"unexpected {type(obj).__name__} in its state")
    if len(obj) == 1 and next(iter(obj)).startswith("$"):
        ((tag, value),) = obj.items()
        if tag == _TENSOR and isinstance(value, int) and 0 <= value < len(tensors):
            return tensors[value]
        if tag == _TUPLE and isinstance(value, list):
            return tuple(_decode(v, tensors) for v in value)
        if (
            tag == _ITEMS
            and isinstance(value, list)
            and all(isinstance(p, list) and len(p) == 2 for p in value)
        ):
            out = {}
            for key, item in value:
                key = _decode(key, tensors)
                if isinstance(key, (dict, list, torch.Tensor)):
                    raise StateFormatError("a dict key in its state is not a plain value")
                out[key] = _decode(item, tensors)
            return out
        raise StateFormatError(f"bad {tag!r} entry in its state")
    if any(k.startswith("$") for k in obj):
        raise StateFormatError("a reserved '$' key in its state")
    return {k: _decode(v, tensors) for k, v in obj.items()}
