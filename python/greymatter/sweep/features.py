"""Whether a sweep's configurations train on cached backbone features (train/feature_cache.py: a
frozen TransferClassifier, deterministic transforms, cache_features not False).

Then the one expensive step, the backbone pass over the data, runs once per process and every
configuration in that process reuses it; configurations spread over worker processes repeat it in
each (measured in docs/sweep.md: two worker processes took 1.6-2.2x as long as one). driver.py's
automatic n_jobs asks this. This file decides only: it trains nothing and caches nothing. """
from typing import Any, Dict

import torch

from ..train import feature_cache
from .run import Plan, build_loaders, build_model, split_params, trainer_settings

__all__ = ["trains_on_cached_features"]


def trains_on_cached_features(plan: Plan, params: Dict[str, Any]) -> bool:
    """Would the configuration with grid values `params` train its head on cached features? Builds
    its model once (torch's random state is left as it was); an error means no (the configuration
    reports it when it runs)."""
    split = split_params(plan, params)
    seed = int(split["run"].get("seed", plan.seed))
    cache = trainer_settings(plan, split, seed).get("cache_features", "auto")
    if cache is False:
        return False
    try:
        loaders = build_loaders(plan, split, seed)
        with torch.random.fork_rng(devices=[]):
            model = build_model(plan, split, seed)
    except Exception:  # noqa: BLE001 - not this function's to report
        return False
    # As the Trainer decides (Trainer._epoch_loaders): "auto" caches for greymatter models, which
    # train in C++.
    if cache == "auto" and not hasattr(model, "cpp_module"):
        return False
    return feature_cache.applies(model, *loaders)
