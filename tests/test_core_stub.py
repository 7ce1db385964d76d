"""greymatter/_core.pyi against the extension it types, both ways: every name the module has is in
the stub and every public name of the stub is in the module; each class has the stub's members;
each function and method has the stub's parameter names, with defaults where the stub has them. So
the stub cannot drift from cpp/bindings/. Also: the option structs' C++ defaults are the ones the
Python signatures show."""
import ast
import inspect
import re
from pathlib import Path

import pytest
import torch

import greymatter as gm
from greymatter import _core
from greymatter import transforms as T

STUB = Path(gm.__file__).resolve().parent / "_core.pyi"
TREE = ast.parse(STUB.read_text())


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _defined(body):
    """name -> node for the classes, functions and annotated names a stub body defines."""
    out = {}
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            out[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = node
    return out


STUB_NAMES = _defined(TREE.body)
STUB_CLASSES = {n: node for n, node in STUB_NAMES.items() if isinstance(node, ast.ClassDef)}

# torch::python::bind_module makes a Python class (a torch.nn.cpp.ModuleWrapper) whose methods are
# copied from a raw class in _core.cpp: those raw classes hold what the stub declares.
MODELS = sorted(n for n in vars(_core.cpp) if not n.startswith("_"))
# What every bound model has: torch's module bindings (nn.Module's methods) and bind_model's.
COMMON_MODEL_MEMBERS = set.intersection(*(set(vars(getattr(_core.cpp, n))) for n in MODELS))


def _runtime_names():
    return {n for n in dir(_core) if not _is_dunder(n)}


def test_every_name_of_the_module_is_in_the_stub_and_back():
    runtime = _runtime_names()
    missing = sorted(runtime - set(STUB_NAMES))
    assert missing == [], f"in _core but not in _core.pyi: {missing}"
    # Names starting with "_" that the module lacks are the stub's typing helpers (_BoundModel).
    extra = sorted(n for n in set(STUB_NAMES) - runtime if not n.startswith("_"))
    assert extra == [], f"in _core.pyi but not in _core: {extra}"
    assert {"Engine", "ResizeOptions", "Interpolation", "MNISTNetOptions"} <= runtime


def _stub_members(cls: ast.ClassDef):
    return {n for n in _defined(cls.body) if not n.startswith("_")}


def _runtime_class(name: str):
    return getattr(_core.cpp, name) if name in MODELS else getattr(_core, name)


def _runtime_members(name: str):
    members = {n for n in vars(_runtime_class(name)) if not n.startswith("_")}
    return members - COMMON_MODEL_MEMBERS if name in MODELS else members


@pytest.mark.parametrize("name", sorted(set(STUB_CLASSES) & _runtime_names()))
def test_each_class_has_the_stubs_members(name):
    assert _stub_members(STUB_CLASSES[name]) == _runtime_members(name)


def test_the_members_every_model_shares_are_in_the_stubs_base_class():
    ours = {n for n in COMMON_MODEL_MEMBERS if not n.startswith("_")} - set(dir(torch.nn.Module))
    assert ours == _stub_members(STUB_CLASSES["_BoundModel"])
    for name in MODELS:
        bases = [b.id for b in STUB_CLASSES[name].bases]
        assert bases == ["_BoundModel"], name


def _split_top_level(text: str):
    """Splits 'a: List[int, int], b: int = 1' at the commas outside brackets."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[(" and 1 or (ch in "])" and -1 or 0)
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [p.strip() for p in parts + [current] if p.strip()]


def _runtime_parameters(function):
    """[(name, has default)] from the signature pybind11 writes first in a docstring."""
    first = (function.__doc__ or "").splitlines()[0]
    match = re.match(r"\w+\((.*)\)( -> .*)?$", first)
    assert match, f"no pybind11 signature in {first!r}"
    params = []
    for part in _split_top_level(match.group(1)):
        name = part.split(":")[0].split("=")[0].strip()
        params.append((name, "=" in part))
    return params


def _stub_parameters(function: ast.FunctionDef):
    args = function.args
    positional = args.posonlyargs + args.args
    defaults = [False] * (len(positional) - len(args.defaults)) + [True] * len(args.defaults)
    params = [(a.arg, d) for a, d in zip(positional, defaults)]
    params += [(a.arg, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.vararg:
        params.append(("*" + args.vararg.arg, False))
    if args.kwarg:
        params.append(("**" + args.kwarg.arg, False))
    return params


def _callables():
    """(label, runtime function, stub FunctionDef) for every function and method in both."""
    for name, node in STUB_NAMES.items():
        if isinstance(node, ast.FunctionDef) and hasattr(_core, name):
            yield name, getattr(_core, name), node
    for name, cls in STUB_CLASSES.items():
        if not hasattr(_core, name):
            continue
        runtime = _runtime_class(name)
        for member, node in _defined(cls.body).items():
            attribute = vars(runtime).get(member)
            # pybind11 methods (instancemethod) and constructors; properties have no parameters.
            if isinstance(node, ast.FunctionDef) and callable(attribute) and attribute.__doc__:
                if not node.decorator_list and "(" in attribute.__doc__.splitlines()[0]:
                    yield f"{name}.{member}", attribute, node


CALLABLES = list(_callables())


@pytest.mark.parametrize("label,function,node", CALLABLES, ids=[c[0] for c in CALLABLES])
def test_each_function_has_the_stubs_parameters(label, function, node):
    first = function.__doc__.splitlines()[0]
    if "(*args, **kwargs)" in first:  # an overloaded function: no single signature to compare
        pytest.skip("overloaded")
    assert _runtime_parameters(function) == _stub_parameters(node), first


def test_the_parameter_check_covers_the_bindings():
    labels = {c[0] for c in CALLABLES}
    assert {"read_idx", "Engine.train_epoch", "Engine.__init__", "ResizeOptions.__init__"} <= labels
    assert {"MNISTNet.__init__", "TransferClassifier.forward_head"} <= labels


def test_every_stub_definition_has_a_one_line_docstring():
    for name, node in STUB_NAMES.items():
        if isinstance(node, ast.ClassDef):
            assert ast.get_docstring(node), name
            for member, inner in _defined(node.body).items():
                if isinstance(inner, ast.FunctionDef) and not _is_dunder(member):
                    assert ast.get_docstring(inner), f"{name}.{member}"
        elif isinstance(node, ast.FunctionDef):
            assert ast.get_docstring(node), name


# ---- one fact, one place: the C++ options structs' defaults -------------------------------------


@pytest.mark.parametrize(
    "model,options",
    [
        (gm.models.MNISTNet, _core.MNISTNetOptions),
        (gm.models.SimpleCNN, _core.SimpleCNNOptions),
        (gm.models.MNISTCNN, _core.MNISTCNNOptions),
        (gm.models.ExamModel, _core.ExamModelOptions),
        (gm.models.BrainTumorCNN, _core.BrainTumorCNNOptions),
        (gm.models.MobileNetV2, _core.MobileNetV2Options),
        (gm.models.mobilenet_v2, _core.MobileNetV2Options),
        (gm.models.TransferClassifier, _core.TransferClassifierOptions),
    ],
)
def test_model_signatures_show_the_cpp_defaults(model, options):
    defaults = options()
    shared = [
        p
        for p in inspect.signature(model).parameters.values()
        if hasattr(defaults, p.name) and p.name != "size_inner"  # None in Python, 0 in C++
    ]
    assert len(shared) >= 3
    for p in shared:
        value = getattr(defaults, p.name)
        value = value.name.lower() if hasattr(value, "name") else value  # an enum: its name
        assert p.default == (tuple(value) if isinstance(value, list) else value), p.name
    assert inspect.signature(gm.models.MNISTNet).parameters["hidden"].default == (128, 64)


@pytest.mark.parametrize(
    "transform,options",
    [
        (T.Resize, _core.ResizeOptions),
        (T.RandomResizedCrop, _core.RandomResizedCropOptions),
        (T.RandomHorizontalFlip, _core.RandomHorizontalFlipOptions),
        (T.RandomVerticalFlip, _core.RandomVerticalFlipOptions),
        (T.RandomRotation, _core.RandomRotationOptions),
        (T.Grayscale, _core.GrayscaleOptions),
    ],
)
def test_transform_structs_default_to_torchvisions_defaults_as_the_classes_do(transform, options):
    # The Python classes take torchvision's signatures; the C++ structs, used from C++ directly,
    # must agree with them on every default they both have.
    required = [
        p.name
        for p in inspect.signature(transform).parameters.values()
        if p.default is inspect.Parameter.empty
    ]
    built = transform(**{name: 8 for name in required})
    spec = built._spec()
    defaults = options()
    for name in vars(built):
        if name.startswith("_") or name in required or not hasattr(defaults, name):
            continue
        assert getattr(spec, name) == getattr(defaults, name), f"{transform.__name__}.{name}"


def test_option_structs_take_fields_by_keyword_and_compare_by_value():
    a = _core.ResizeOptions(size=[32], interpolation=_core.Interpolation.BICUBIC)
    assert a.size == [32] and a.max_size == 0 and a.interpolation == _core.Interpolation.BICUBIC
    assert a == _core.ResizeOptions(size=[32], interpolation=_core.Interpolation.BICUBIC)
    assert a != _core.ResizeOptions(size=[33], interpolation=_core.Interpolation.BICUBIC)
    assert a != _core.CenterCropOptions(size=[32])
    assert "size=[32]" in repr(a)
    with pytest.raises(AttributeError):
        _core.ResizeOptions(sise=[32])
    nested = _core.EngineOptions()
    nested.optimizer.lr = 0.5  # a struct field is the struct itself, not a copy
    assert nested.optimizer.lr == 0.5
