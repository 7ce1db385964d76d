"""Types of greymatter._core, the C++ extension (cpp/bindings/). Kept in step with the bindings by
tests/test_core_stub.py: every name, member and parameter here exists there and the other way round.

Options cross as the core's own structs and enums: each ``*Options`` / ``*Config`` class starts from
the C++ defaults and takes its fields as keyword arguments (``ResizeOptions(size=[32])``); enums
are pybind11 enums (``Interpolation.BILINEAR``).
"""
from types import ModuleType
from typing import Callable, ClassVar, Dict, List, Optional, Sequence, Tuple, Union

import torch

# ---- errors (bind_errors.cpp) -------------------------------------------------------------------

class DataError(ValueError):
    """Unreadable, corrupt or missing data; the message names the file."""

class ConfigError(ValueError):
    """A bad argument; the message names it and the accepted values."""

class TrainingError(RuntimeError):
    """Training went wrong (a NaN/inf loss with non_finite RAISE, ...)."""

# ---- data: sources, transforms, loader (bind_data.cpp) ------------------------------------------

def read_idx(path: str) -> torch.Tensor:
    """Read an IDX file (optionally .gz) into a uint8 tensor."""

def max_image_pixels() -> int:
    """The largest image (width x height) any decode or transform accepts; 0: no limit."""

def set_max_image_pixels(pixels: int) -> None:
    """Sets the process-wide pixel limit (0: no limit)."""

def default_max_image_pixels() -> int:
    """PIL's default limit (Image.MAX_IMAGE_PIXELS), greymatter's too."""

def have_image_decoder() -> bool:
    """Whether this build can decode image files (OpenCV)."""

def default_image_extensions() -> List[str]:
    """torchvision's accepted image extensions."""

def available_memory_bytes() -> int:
    """Memory the system can still give this process (MemAvailable)."""

def scan_image_folder(
    root: str, extensions: Sequence[str], allow_empty: bool = ...
) -> Tuple[List[str], List[str], List[int], List[str]]:
    """-> (classes, paths, labels, empty class folders), in torchvision's ImageFolder order."""

def check_image_files(paths: Sequence[str], threads: int = ...) -> List[Tuple[int, str]]:
    """-> [(index, reason)] for files that cannot be read."""

def read_image(path: str, reduction: int = ..., via_opencv: bool = ...) -> torch.Tensor:
    """Decode an image file as torchvision's ImageFolder loader sees it: uint8 (H, W, 3) or (H, W, 1)."""

def run_transforms(
    image: torch.Tensor,
    transform: Sequence[_TransformSpec],
    input_channels: int = ...,
    seed: int = ...,
    epoch: int = ...,
    index: int = ...,
) -> Tuple[torch.Tensor, List[Tuple[str, List[float]]]]:
    """Runs a chain on one uint8 (H, W, C) image: -> (float CHW tensor, [(step, params)])."""

def trace_transforms(
    transform: Sequence[_TransformSpec],
    height: int,
    width: int,
    input_channels: int = ...,
    seed: int = ...,
    epoch: int = ...,
    count: int = ...,
) -> List[List[Tuple[str, List[float]]]]:
    """The random parameters a chain draws for samples 0..count-1 of a height x width image."""

def check_transforms(transform: Sequence[_TransformSpec], input_channels: int = ...) -> str:
    """Validates a chain (ConfigError if unsupported); -> its description."""

class Interpolation:
    """torchvision's InterpolationMode values supported."""

    NEAREST: ClassVar[Interpolation]
    BILINEAR: ClassVar[Interpolation]
    BICUBIC: ClassVar[Interpolation]
    __members__: ClassVar[Dict[str, Interpolation]]
    def __init__(self, value: int) -> None: ...
    @property
    def name(self) -> str:
        """The member's name."""
    @property
    def value(self) -> int:
        """The member's number."""

class ToTensorOptions:
    """ToTensor: no options."""

    def __init__(self, **kwargs) -> None: ...

class NormalizeOptions:
    """Normalize's mean and std per channel."""

    mean: List[float]
    std: List[float]
    def __init__(self, **kwargs) -> None: ...

class ResizeOptions:
    """Resize: size [side] or [h, w]; max_size 0: none."""

    size: List[int]
    interpolation: Interpolation
    max_size: int
    def __init__(self, **kwargs) -> None: ...

class CenterCropOptions:
    """CenterCrop: size [side] or [h, w]."""

    size: List[int]
    def __init__(self, **kwargs) -> None: ...

class RandomResizedCropOptions:
    """RandomResizedCrop: size, scale and ratio ranges."""

    size: List[int]
    scale: Tuple[float, float]
    ratio: Tuple[float, float]
    interpolation: Interpolation
    def __init__(self, **kwargs) -> None: ...

class RandomHorizontalFlipOptions:
    """RandomHorizontalFlip: probability p."""

    p: float
    def __init__(self, **kwargs) -> None: ...

class RandomVerticalFlipOptions:
    """RandomVerticalFlip: probability p."""

    p: float
    def __init__(self, **kwargs) -> None: ...

class RandomRotationOptions:
    """RandomRotation: degrees range, center (x, y) or None, fill."""

    degrees: Tuple[float, float]
    interpolation: Interpolation
    expand: bool
    center: Optional[Tuple[float, float]]
    fill: List[float]
    def __init__(self, **kwargs) -> None: ...

class ColorJitterOptions:
    """ColorJitter: factor ranges; None leaves that adjustment off."""

    brightness: Optional[Tuple[float, float]]
    contrast: Optional[Tuple[float, float]]
    saturation: Optional[Tuple[float, float]]
    hue: Optional[Tuple[float, float]]
    def __init__(self, **kwargs) -> None: ...

class GrayscaleOptions:
    """Grayscale: num_output_channels 1 or 3."""

    num_output_channels: int
    def __init__(self, **kwargs) -> None: ...

# One step of a chain (names starting with "_" and missing from the module are typing helpers).
_TransformSpec = Union[
    ToTensorOptions,
    NormalizeOptions,
    ResizeOptions,
    CenterCropOptions,
    RandomResizedCropOptions,
    RandomHorizontalFlipOptions,
    RandomVerticalFlipOptions,
    RandomRotationOptions,
    ColorJitterOptions,
    GrayscaleOptions,
]

class Source:
    """Samples by index: the loader reads any Source from its worker threads."""

    def __len__(self) -> int: ...
    @property
    def sample_shape(self) -> List[int]:
        """The shape of one sample, e.g. [3, 224, 224]."""
    def get(self, index: int, epoch: int = ..., seed: int = ...) -> Tuple[torch.Tensor, int]:
        """One sample (float tensor, label), its random steps drawn from (seed, epoch, index)."""

class TensorSource(Source):
    """uint8 images (N, C, H, W) in memory, ToTensor + Normalize folded into one table."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        mean: Sequence[float] = ...,
        std: Sequence[float] = ...,
    ) -> None: ...
    @property
    def images(self) -> torch.Tensor:
        """The uint8 images."""
    @property
    def labels(self) -> torch.Tensor:
        """The int64 labels."""

class ImageSource(Source):
    """A Source of uint8 images run through a transform chain."""

    @property
    def pipeline(self) -> str:
        """The chain as it runs: "Resize(...) -> ... -> ToTensor"."""
    def trace(self, index: int, epoch: int = ..., seed: int = ...) -> List[Tuple[str, List[float]]]:
        """The random parameters drawn for one sample: [(step, params)]."""
    def skipped(self) -> List[Tuple[str, str]]:
        """(sample, reason) of every sample skipped under OnError.SKIP so far."""

class OnError:
    """What a source does with an unreadable sample."""

    RAISE: ClassVar[OnError]
    SKIP: ClassVar[OnError]
    __members__: ClassVar[Dict[str, OnError]]
    def __init__(self, value: int) -> None: ...
    @property
    def name(self) -> str:
        """The member's name."""
    @property
    def value(self) -> int:
        """The member's number."""

class ImageFileOptions:
    """How an ImageFileSource reads files: error policy, reduced decode."""

    on_error: OnError
    reduced_decode: bool
    reduce_margin: float
    def __init__(self, **kwargs) -> None: ...

class ImageFileSource(ImageSource):
    """Image files with labels, decoded on the loader's threads."""

    def __init__(
        self,
        paths: Sequence[str],
        labels: Sequence[int],
        transform: Sequence[_TransformSpec],
        options: ImageFileOptions,
    ) -> None: ...
    def path(self, index: int) -> str:
        """The file of sample `index`."""
    def estimate_cache(self, indices: Sequence[int]) -> Tuple[int, bool]:
        """(bytes, exact) the deterministic prefix's outputs of these samples would take."""
    def enable_cache(self, budget_bytes: int) -> None:
        """Keep decoded prefix outputs in memory, up to budget_bytes."""
    @property
    def cache_bytes(self) -> int:
        """Bytes the cache holds."""
    @property
    def cached_samples(self) -> int:
        """Samples the cache holds."""

class ImageTensorSource(ImageSource):
    """uint8 images in a tensor (MNIST-style) run through a transform chain."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        transform: Sequence[_TransformSpec],
        what: str = ...,
    ) -> None: ...

class EpochIterator:
    """One pass over a Loader: (images, labels) batches built by its worker threads."""

    def __iter__(self) -> EpochIterator: ...
    def __len__(self) -> int: ...
    def __next__(self) -> Tuple[torch.Tensor, torch.Tensor]: ...

class WeightedSampler:
    """The positions an epoch visits when samples are drawn by weight (torch's
    WeightedRandomSampler), from (seed, epoch) alone."""

    def __init__(
        self, weights: Sequence[float], num_samples: int, replacement: bool = ...
    ) -> None: ...
    @property
    def weights(self) -> List[float]:
        """One weight per position."""
    @property
    def num_samples(self) -> int:
        """Draws per epoch."""
    @property
    def replacement(self) -> bool:
        """Whether a position may be drawn more than once an epoch."""
    def __len__(self) -> int: ...
    def draw(self, seed: int, epoch: int) -> List[int]:
        """The positions one epoch visits, in order."""

def balanced_weights(labels: Sequence[int]) -> List[float]:
    """Per-sample weights 1 / (count of its label): every class drawn equally often."""

class Loader:
    """Batches of a Source's samples in a seeded order, built ahead by worker threads."""

    def __init__(
        self,
        source: Source,
        indices: Sequence[int],
        batch_size: int = ...,
        shuffle: bool = ...,
        drop_last: bool = ...,
        seed: int = ...,
        num_workers: int = ...,
        prefetch: int = ...,
        pin_memory: bool = ...,
        sampler: Optional[WeightedSampler] = ...,
    ) -> None: ...
    def __len__(self) -> int: ...
    @property
    def num_samples(self) -> int:
        """Samples per epoch (a sampler's draws, else every index once)."""
    @property
    def sampler(self) -> Optional[WeightedSampler]:
        """The sampler the epochs draw with, or None."""
    def epoch(self, epoch: int = ...) -> EpochIterator:
        """Start one pass; the iterator owns its worker threads."""

# ---- models (bind_models.cpp) -------------------------------------------------------------------

def _pytorch_repr(module: torch.nn.Module) -> str:
    """The module's printout in PyTorch's format."""

def _layer_attributes(module: torch.nn.Module) -> Dict[str, object]:
    """PyTorch's constructor attributes of a layer (in_features, kernel_size, ...)."""

def _state_tensors(module: torch.nn.Module) -> List[Tuple[str, torch.Tensor]]:
    """Parameters and buffers in state_dict order, with PyTorch's key names."""

def _forward_module(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Runs a sub-module with a one-tensor forward."""

def _capture(
    model: torch.nn.Module, x: torch.Tensor, layers: Sequence[str]
) -> Tuple[torch.Tensor, List[Tuple[str, torch.Tensor]], List[str]]:
    """(output, [(layer, activation)], every layer name) of one forward pass; layers=[]: all."""

cpp: ModuleType  # the raw classes torch::python::bind_module wraps, one per model

class _BoundModel(torch.nn.Module):
    """What every bound model has beside torch.nn.Module's methods."""

    training: bool
    def clone(self) -> torch.nn.Module:
        """A deep copy of the C++ module."""
    def macs_per_sample(self) -> int:
        """Multiply-adds of one sample's forward pass."""

class MNISTNetOptions:
    """MNISTNet's sizes; hidden: one per layer."""

    in_features: int
    hidden: List[int]
    num_classes: int
    dropout: float
    def __init__(self, **kwargs) -> None: ...

class MNISTNet(_BoundModel):
    """The tutorials' MLP."""

    def __init__(self, options: MNISTNetOptions) -> None: ...

class SimpleCNNOptions:
    """SimpleCNN's input and layer sizes."""

    in_channels: int
    num_classes: int
    image_size: int
    channels: int
    def __init__(self, **kwargs) -> None: ...

class SimpleCNN(_BoundModel):
    """The cheat sheet's one-conv CNN."""

    def __init__(self, options: SimpleCNNOptions) -> None: ...

class MNISTCNNOptions:
    """MNISTCNN's input and layer sizes."""

    in_channels: int
    num_classes: int
    channels: List[int]
    batch_norm: bool
    hidden: int
    dropout: float
    image_size: int
    def __init__(self, **kwargs) -> None: ...

class MNISTCNN(_BoundModel):
    """The MNIST challenge's CNN."""

    def __init__(self, options: MNISTCNNOptions) -> None: ...

class ExamModelOptions:
    """ExamModel's input and layer sizes."""

    in_channels: int
    image_size: int
    channels: int
    hidden: int
    sigmoid: bool
    def __init__(self, **kwargs) -> None: ...

class ExamModel(_BoundModel):
    """The exam's binary CNN."""

    def __init__(self, options: ExamModelOptions) -> None: ...

class BrainTumorCNNOptions:
    """BrainTumorCNN's input and layer sizes."""

    in_channels: int
    num_classes: int
    image_size: int
    channels: List[int]
    hidden: int
    dropout: float
    def __init__(self, **kwargs) -> None: ...

class BrainTumorCNN(_BoundModel):
    """The brain-tumour tutorial's five-block CNN."""

    def __init__(self, options: BrainTumorCNNOptions) -> None: ...

class MobileNetV2Options:
    """MobileNetV2's classes, width and dropout; classifier=False: forward returns the features."""

    num_classes: int
    width_mult: float
    dropout: float
    classifier: bool
    def __init__(self, **kwargs) -> None: ...

class MobileNetV2(_BoundModel):
    """torchvision's MobileNetV2."""

    def __init__(self, options: MobileNetV2Options) -> None: ...
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> pooled features (B, last_channel)."""
    @property
    def last_channel(self) -> int:
        """The width of the pooled features (1280 at width_mult 1)."""

class Backbone:
    """The networks a TransferClassifier stands on."""

    MOBILENET_V2: ClassVar[Backbone]
    __members__: ClassVar[Dict[str, Backbone]]
    def __init__(self, value: int) -> None: ...
    @property
    def name(self) -> str:
        """The member's name."""
    @property
    def value(self) -> int:
        """The member's number."""

class TransferClassifierOptions:
    """TransferClassifier's backbone and head; size_inner 0: no inner layer."""

    backbone: Backbone
    num_classes: int
    size_inner: int
    dropout: float
    freeze: bool
    def __init__(self, **kwargs) -> None: ...

class TransferClassifier(_BoundModel):
    """A MobileNetV2 backbone with a new head (the transfer tutorials' model)."""

    def __init__(self, options: TransferClassifierOptions) -> None: ...
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> backbone features (B, feature_dim)."""
    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """(B, feature_dim) -> (B, num_classes) logits."""
    def freeze(self) -> None:
        """The backbone stops training and stays in eval mode."""
    def unfreeze(self) -> None:
        """The whole model trains."""
    @property
    def _frozen(self) -> bool:
        """Whether the backbone is frozen."""
    @property
    def feature_dim(self) -> int:
        """The width of the backbone's features."""

# ---- training (bind_train.cpp) ------------------------------------------------------------------

class EpochStats:
    """What one pass of the Engine measured."""

    @property
    def loss(self) -> float:
        """Mean loss over the samples seen."""
    @property
    def accuracy(self) -> float:
        """Fraction of samples counted correct."""
    @property
    def samples(self) -> int:
        """Samples seen."""
    @property
    def batches(self) -> int:
        """Batches seen."""
    @property
    def skipped(self) -> int:
        """Batches dropped for a non-finite loss."""
    @property
    def interrupted(self) -> bool:
        """The progress callback asked to stop."""

class LossKind:
    """The losses: cross-entropy, NLL, BCE on probabilities or logits, MSE."""

    CROSS_ENTROPY: ClassVar[LossKind]
    NLL: ClassVar[LossKind]
    BCE: ClassVar[LossKind]
    BCE_WITH_LOGITS: ClassVar[LossKind]
    MSE: ClassVar[LossKind]
    __members__: ClassVar[Dict[str, LossKind]]
    def __init__(self, value: int) -> None: ...
    @property
    def name(self) -> str:
        """The member's name."""
    @property
    def value(self) -> int:
        """The member's number."""

class LossConfig:
    """A loss and its options, torch.nn's names."""

    kind: LossKind
    class_weights: List[float]
    label_smoothing: float
    ignore_index: int
    pos_weight: List[float]
    def __init__(self, **kwargs) -> None: ...

class OptimizerKind:
    """The optimizers, with torch.optim's update rules."""

    ADAM: ClassVar[OptimizerKind]
    ADAMW: ClassVar[OptimizerKind]
    SGD: ClassVar[OptimizerKind]
    __members__: ClassVar[Dict[str, OptimizerKind]]
    def __init__(self, value: int) -> None: ...
    @property
    def name(self) -> str:
        """The member's name."""
    @property
    def value(self) -> int:
        """The member's number."""

class OptimizerConfig:
    """An optimizer and its hyper-parameters."""

    kind: OptimizerKind
    lr: float
    weight_decay: float
    momentum: float
    dampening: float
    nesterov: bool
    beta1: float
    beta2: float
    eps: float
    def __init__(self, **kwargs) -> None: ...

class ParamGroup:
    """Parameter slots (positions in parameters()) with their own hyper-parameters."""

    slots: List[int]
    options: OptimizerConfig
    def __init__(self, **kwargs) -> None: ...

class SchedulerKind:
    """The learning-rate schedules (NONE: constant)."""

    NONE: ClassVar[SchedulerKind]
    PLATEAU: ClassVar[SchedulerKind]
    STEP: ClassVar[SchedulerKind]
    MULTISTEP: ClassVar[SchedulerKind]
    EXPONENTIAL: ClassVar[SchedulerKind]
    COSINE: ClassVar[SchedulerKind]
    ONECYCLE: ClassVar[SchedulerKind]
    __members__: ClassVar[Dict[str, SchedulerKind]]
    def __init__(self, value: int) -> None: ...
    @property
    def name(self) -> str:
        """The member's name."""
    @property
    def value(self) -> int:
        """The member's number."""

class PlateauMode:
    """ReduceLROnPlateau: should the metric fall or rise."""

    MIN: ClassVar[PlateauMode]
    MAX: ClassVar[PlateauMode]
    __members__: ClassVar[Dict[str, PlateauMode]]
    def __init__(self, value: int) -> None: ...
    @property
    def name(self) -> str:
        """The member's name."""
    @property
    def value(self) -> int:
        """The member's number."""

class ThresholdMode:
    """ReduceLROnPlateau: relative or absolute threshold."""

    REL: ClassVar[ThresholdMode]
    ABS: ClassVar[ThresholdMode]
    __members__: ClassVar[Dict[str, ThresholdMode]]
    def __init__(self, value: int) -> None: ...
    @property
    def name(self) -> str:
        """The member's name."""
    @property
    def value(self) -> int:
        """The member's number."""

class AnnealStrategy:
    """OneCycleLR's curve: cosine or linear."""

    COS: ClassVar[AnnealStrategy]
    LINEAR: ClassVar[AnnealStrategy]
    __members__: ClassVar[Dict[str, AnnealStrategy]]
    def __init__(self, value: int) -> None: ...
    @property
    def name(self) -> str:
        """The member's name."""
    @property
    def value(self) -> int:
        """The member's number."""

class SchedulerConfig:
    """A schedule and its options, torch.optim.lr_scheduler's names."""

    kind: SchedulerKind
    mode: PlateauMode
    factor: float
    patience: int
    threshold: float
    threshold_mode: ThresholdMode
    cooldown: int
    min_lr: float
    min_lrs: List[float]
    eps: float
    step_size: int
    milestones: List[int]
    gamma: float
    t_max: int
    eta_min: float
    max_lr: float
    max_lrs: List[float]
    total_steps: int
    pct_start: float
    anneal_strategy: AnnealStrategy
    div_factor: float
    final_div_factor: float
    three_phase: bool
    cycle_momentum: bool
    base_momentum: float
    max_momentum: float
    def __init__(self, **kwargs) -> None: ...

class NonFinite:
    """What a batch with a NaN/inf loss does: raise, or skip it."""

    RAISE: ClassVar[NonFinite]
    SKIP: ClassVar[NonFinite]
    __members__: ClassVar[Dict[str, NonFinite]]
    def __init__(self, value: int) -> None: ...
    @property
    def name(self) -> str:
        """The member's name."""
    @property
    def value(self) -> int:
        """The member's number."""

class EngineOptions:
    """The Engine's optimizer, loss, accumulation and NaN policy."""

    optimizer: OptimizerConfig
    loss: LossConfig
    accumulate: int
    non_finite: NonFinite
    amp: bool
    capturable: Optional[bool]
    def __init__(self, **kwargs) -> None: ...

def _check_accumulate(accumulate: int) -> None:
    """ConfigError unless accumulate >= 1 (the check the Python loop shares with the Engine)."""

def _check_trainable(parameters: Sequence[torch.Tensor]) -> None:
    """ConfigError when no parameter requires a gradient."""

def _non_finite_loss(value: float, epoch: int, batch: int) -> None:
    """Raises the TrainingError for a NaN/inf loss."""

def _free_cores() -> int:
    """Cores of this process's affinity that no other process's runnable task holds now (>= 1)."""

class Loss:
    """A loss with its target conversions and its rule for a correct prediction."""

    def __init__(self, config: LossConfig) -> None: ...
    def __call__(self, output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor: ...
    def with_class_weights(self, weights: Sequence[float]) -> Loss:
        """The same loss with these class weights (checked as at construction)."""
    def check(self, output: torch.Tensor, labels: torch.Tensor) -> None:
        """ConfigError when output and labels cannot go together."""
    def check_labels(self, labels: torch.Tensor, outputs: int) -> None:
        """ConfigError when a label is out of range for `outputs` outputs (cheap, every batch)."""
    def correct(self, output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The number of correct predictions, 0-dim."""
    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """Class probabilities of the model's output."""
    def output_for(self, probabilities: torch.Tensor) -> torch.Tensor:
        """An output whose probabilities() are these (for scoring averaged probabilities)."""

class TtaAugmentation:
    """The views test-time augmentation can add."""

    HFLIP: ClassVar[TtaAugmentation]
    VFLIP: ClassVar[TtaAugmentation]
    CROPS: ClassVar[TtaAugmentation]
    __members__: ClassVar[Dict[str, TtaAugmentation]]
    def __init__(self, value: int) -> None: ...
    @property
    def name(self) -> str:
        """The member's name."""
    @property
    def value(self) -> int:
        """The member's number."""

class TestTimeAugmentation:
    """A prediction averaged over fixed views of each image batch (the image, flips, crops)."""

    def __init__(
        self,
        augmentations: Sequence[TtaAugmentation] = ...,
        crop_scale: Optional[float] = ...,
    ) -> None: ...
    @property
    def augmentations(self) -> List[TtaAugmentation]:
        """The augmentations asked for."""
    @property
    def crop_scale(self) -> float:
        """The crops' side as a fraction of the image's."""
    @property
    def num_views(self) -> int:
        """Views averaged, the image itself included (0: no TTA)."""
    def view(self, images: torch.Tensor, i: int) -> torch.Tensor:
        """View i of a (B, C, H, W) batch; view 0 is the batch itself."""
    def probabilities(
        self,
        forward: Callable[[torch.Tensor], torch.Tensor],
        loss: Loss,
        images: torch.Tensor,
    ) -> torch.Tensor:
        """Mean over the views of loss.probabilities(forward(view))."""

class Scheduler:
    """A learning-rate schedule with torch.optim.lr_scheduler's formulas."""

    def __init__(self, config: SchedulerConfig, base_lrs: Sequence[float]) -> None:
        """base_lrs: each parameter group's lr when training starts."""
    def initial_lrs(self) -> List[float]:
        """The lrs of the first step, one per parameter group."""
    def momentum(self) -> Optional[float]:
        """OneCycleLR with cycle_momentum: the momentum of the next step; else None."""
    def after_step(self) -> Optional[List[float]]:
        """New lrs after an optimizer step, or None."""
    def after_epoch(
        self, metric: Optional[float], current_lrs: Sequence[float]
    ) -> Optional[List[float]]:
        """New lrs after an epoch, or None."""
    @property
    def per_step(self) -> bool:
        """Whether the schedule changes the lr every optimizer step."""
    def state(self) -> Dict[str, float]:
        """The schedule's state, for resuming."""
    def load_state(self, state: Dict[str, float]) -> None:
        """Restores a state()."""

class FeatureSource(Source):
    """Precomputed features (N, D) with labels (a frozen backbone's, for head-only training)."""

    def __init__(self, features: torch.Tensor, labels: torch.Tensor) -> None: ...
    @property
    def features(self) -> torch.Tensor:
        """The features."""
    @property
    def labels(self) -> torch.Tensor:
        """The labels."""

_Progress = Optional[Callable[[int, int], Optional[bool]]]  # (done, total) -> keep going?

class Engine:
    """Training and evaluation loops over a Loader, in C++ with the GIL released."""

    def __init__(
        self,
        model: torch.nn.Module,
        options: EngineOptions = ...,
        device: str = ...,
        probes: Optional[ModuleType] = ...,
    ) -> None:
        """model: any torch.nn.Module; probes: greymatter.train.module_cost for a plain one."""
    def train_epoch(
        self, loader: Loader, epoch: int, progress: _Progress = ..., every: int = ...
    ) -> EpochStats:
        """One training epoch (0-based `epoch` seeds the shuffle)."""
    def evaluate(self, loader: Loader, progress: _Progress = ..., every: int = ...) -> EpochStats:
        """Loss and accuracy without training."""
    def predict(
        self, loader: Loader, progress: _Progress = ..., every: int = ...
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(probabilities (N, C) float32, labels (N) int64), in the loader's order."""
    def features(
        self, loader: Loader, progress: _Progress = ..., every: int = ...
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(features (N, D) float32, labels (N) int64) of a frozen backbone, in the loader's order."""
    head_only: bool
    tta: TestTimeAugmentation
    lr: float
    lrs: List[float]  # one per parameter group
    param_groups: List[ParamGroup]
    def set_class_weights(self, weights: Sequence[float]) -> None:
        """Replaces the loss's class weights (checked as at construction)."""
    @property
    def loss(self) -> Loss:
        """The Loss this engine trains with (its probabilities rule, checks)."""
    @property
    def optimizer_steps(self) -> int:
        """Optimizer steps taken."""
    @property
    def capturable(self) -> bool:
        """Whether the optimizer keeps its step counts and lr on the device."""
    def set_scheduler(self, config: SchedulerConfig) -> None:
        """Replaces the schedule; the groups' lrs become its base lrs, its starting lrs theirs."""
    @property
    def has_scheduler(self) -> bool:
        """Whether a schedule is set."""
    def scheduler_epoch_end(self, metric: Optional[float] = ...) -> float:
        """Lets the schedule change the lrs at an epoch's end; -> the first group's lr."""
    def scheduler_state(self) -> Dict[str, float]:
        """The schedule's state ({} without one)."""
    def load_scheduler_state(self, state: Dict[str, float]) -> None:
        """Restores scheduler_state()."""
    def optimizer_state(self) -> Dict[str, torch.Tensor]:
        """The optimizer's buffers and step counts."""
    def load_optimizer_state(self, state: Dict[str, torch.Tensor]) -> None:
        """Restores optimizer_state()."""
