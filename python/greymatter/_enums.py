"""The C++ core's enums from the lower-case names users write: ``"skip"`` is
``_core.NonFinite.SKIP``, ``"bce_with_logits"`` is ``_core.LossKind.BCE_WITH_LOGITS``. The bound
enum is the one list of accepted names; a name it lacks is a ConfigError naming the argument."""
from typing import Dict

from ._core import ConfigError


def enum_names(enum_type) -> Dict[str, object]:
    """``{lower-case name: member}`` of a bound C++ enum, in declaration order."""
    return {name.lower(): member for name, member in enum_type.__members__.items()}


def enum_member(enum_type, value, message: str):
    """The member of ``enum_type`` that ``value`` names.

    Args:
        enum_type: a ``pybind11`` enum of ``greymatter._core`` (e.g. ``_core.NonFinite``).
        value: the lower-case name a user wrote (``"skip"``).
        message: the ConfigError's text, formatted with ``value`` (``{value!r}``) and ``choices``
            (the accepted names, comma-separated).

    Returns:
        The enum member.

    Raises:
        ConfigError: ``value`` is not one of the names.
    """
    members = enum_names(enum_type)
    if isinstance(value, str) and value in members:
        return members[value]
    raise ConfigError(message.format(value=value, choices=", ".join(members)))
