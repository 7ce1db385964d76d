"""Backbone features computed once, for head-only training of a frozen TransferClassifier.

With a frozen backbone and deterministic transforms (no Random* op, no ColorJitter), every epoch —
and every configuration of a sweep that shares the backbone weights — would recompute the same
pooled features. The Trainer instead runs the backbone once per image (``Engine.features``), keeps
the (N, 1280) float features in this process-wide cache, and trains only the head on them through a
Loader with the training loader's seed, options and sampler, so batches come in the same order.
Keys: the dataset's source object, its indices, the transform's description, the backbone weights'
digest and the device. """
import hashlib
import threading
from collections import OrderedDict
from typing import Optional

from .. import _core

__all__ = ["applies", "clear", "deterministic", "feature_loader", "memory_bytes", "MAX_ENTRIES"]

MAX_ENTRIES = 8  # datasets x backbones kept; the oldest entry goes first
_entries: "OrderedDict[tuple, tuple]" = OrderedDict()
_lock = threading.Lock()


def deterministic(transform) -> bool:
    """False when the transform chain draws random numbers (then features differ every epoch)."""
    if transform is None:
        return True
    parts = getattr(transform, "transforms", None)
    if parts is not None:
        return all(deterministic(t) for t in parts)
    name = type(transform).__name__
    return not (
        name.startswith("Random") or name == "ColorJitter" or getattr(transform, "random", False)
    )


def clear() -> None:
    with _lock:
        _entries.clear()


def _backbone_digest(model) -> str:
    h = hashlib.sha1()
    for name, t in model.state_dict().items():
        if name.startswith("base_model."):
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _indices(dataset):
    return list(dataset.indices) if dataset.indices is not None else list(range(len(dataset)))


def feature_loader(engine, loader, model, device: str, progress=None) -> "_core.Loader":
    """A Loader over cached backbone features that yields the same batches as `loader` would."""
    dataset = loader.dataset
    indices = _indices(dataset)
    # id() tells train from val when they are the same size; the identity check below guards its
    # reuse.
    key = (
        id(dataset.source),
        tuple(indices),
        repr(dataset.transform),
        _backbone_digest(model),
        device,
    )
    source: Optional[_core.FeatureSource] = None
    with _lock:
        entry = _entries.get(key)
        if entry is not None and entry[0] is dataset.source:
            _entries.move_to_end(key)
            source = entry[1]
        if source is None:
            plain = _core.Loader(
                dataset.source,
                indices,
                batch_size=max(loader.batch_size, 64),
                shuffle=False,
                drop_last=False,
                seed=0,
                num_workers=loader.num_workers,
                prefetch=loader.prefetch,
            )
            features, labels = engine.features(plain, progress=progress)
            source = _core.FeatureSource(features, labels)
            _entries[key] = (dataset.source, source)
            while len(_entries) > MAX_ENTRIES:
                _entries.popitem(last=False)
    return _core.Loader(
        source,
        list(range(len(indices))),
        batch_size=loader.batch_size,
        shuffle=loader.shuffle,
        drop_last=loader.drop_last,
        seed=loader.seed,
        num_workers=0,
        prefetch=loader.prefetch,
        sampler=loader.weighted_sampler,
    )


def memory_bytes() -> int:
    with _lock:
        return sum(src.features.numel() * 4 for _, src in _entries.values())


def applies(model, *loaders) -> bool:
    """True for a frozen-backbone greymatter model whose loaders' transforms are all
    deterministic."""
    return (
        hasattr(model, "cpp_module")
        and bool(getattr(model, "frozen", False))
        and all(loader is None or deterministic(loader.dataset.transform) for loader in loaders)
    )
