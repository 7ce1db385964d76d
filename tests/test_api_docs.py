"""The public API documented in two places that are checked against each other: every name in the
``__all__`` of greymatter and of its public modules is in docs/api.md, and every class and function
among them has a docstring in torchvision's style (``io/image.py``): an ``Args:`` section naming
each parameter, and a ``Returns:`` section for a function that returns something."""
import enum
import importlib
import inspect
import re
from pathlib import Path

import pytest

import greymatter as gm

API_MD = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
MODULES = [
    "greymatter",
    "greymatter.datasets",
    "greymatter.metrics",
    "greymatter.transforms",
    "greymatter.models",
    "greymatter.plots",
    "greymatter.train",
    "greymatter.train.schedulers",
    "greymatter.sweep",
]


def _public_names():
    seen, out = set(), []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            key = (name, id(obj))
            if key not in seen:
                seen.add(key)
                out.append((f"{module_name}.{name}", name, obj))
    return out


PUBLIC = _public_names()
CALLABLE = [
    (label, obj) for label, _, obj in PUBLIC if inspect.isclass(obj) or inspect.isfunction(obj)
]


def _section(doc: str, title: str):
    """The lines of a Google-style section (``Args:``), or None when the docstring has none."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == title:
            indent = len(line) - len(line.lstrip())
            body = []
            for inner in lines[i + 1 :]:
                if inner.strip() and len(inner) - len(inner.lstrip()) <= indent:
                    break
                body.append(inner)
            return body
    return None


def _signature_parameters(obj):
    try:
        return [p for p in inspect.signature(obj).parameters.values() if p.name != "self"]
    except (TypeError, ValueError):
        return []


def _parameters(obj):
    """The parameters a user passes: the signature less self (classes: their __init__), unless a
    class keeps the constructor of the library class it extends (a pandas DataFrame, ...)."""
    if inspect.isclass(obj) and (issubclass(obj, (BaseException, enum.Enum))):
        return []  # exceptions take a message; an Enum's members are its documentation
    params = _signature_parameters(obj)
    if inspect.isclass(obj):
        library = next(c for c in obj.__mro__ if not c.__module__.startswith("greymatter"))
        if library is not object and [p.name for p in params] == [
            p.name for p in _signature_parameters(library)
        ]:
            return []
    return params


def test_every_public_name_is_in_api_md():
    missing = [
        label
        for label, name, _ in PUBLIC
        if not re.search(r"`(?:[\w.]+\.)?" + re.escape(name) + r"\b", API_MD)
    ]
    assert missing == [], f"public names docs/api.md does not mention: {missing}"
    assert len(PUBLIC) > 60


@pytest.mark.parametrize("label,obj", CALLABLE, ids=[c[0] for c in CALLABLE])
def test_each_public_class_and_function_documents_its_arguments(label, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{label} has no docstring"
    # A class documents itself, not a base class it inherits the docstring from.
    if inspect.isclass(obj):
        assert "__doc__" in vars(obj) and vars(obj)["__doc__"], f"{label} inherits its docstring"
    params = _parameters(obj)
    if params:
        args = _section(doc, "Args:")
        assert args is not None, f"{label} takes arguments but its docstring has no Args: section"
        named = {m.group(1) for m in (re.match(r"\s+\**(\w+)(?: \(.*\))?:", a) for a in args) if m}
        missing = [p.name for p in params if p.name not in named]
        assert missing == [], f"{label}: Args: does not describe {missing}"
        extra = sorted(named - {p.name for p in params})
        assert extra == [], f"{label}: Args: describes parameters it does not take: {extra}"
    if inspect.isfunction(obj):
        returns = inspect.signature(obj).return_annotation
        if returns is not None:
            assert _section(doc, "Returns:"), f"{label} returns something: document it (Returns:)"


def test_every_public_module_has_a_docstring():
    for label, _, obj in PUBLIC:
        if inspect.ismodule(obj):
            assert (obj.__doc__ or "").strip(), label


def test_the_section_reader_finds_what_it_should():
    doc = "Summary.\n\nArgs:\n    a: one.\n    b (int): two,\n        more.\n\nReturns:\n    x.\n"
    assert [line.strip() for line in _section(doc, "Args:") if line.strip()] == [
        "a: one.",
        "b (int): two,",
        "more.",
    ]
    assert _section(doc, "Raises:") is None
    assert gm.Trainer in [obj for _, obj in CALLABLE]
