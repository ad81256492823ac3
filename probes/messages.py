"""Reason templates: why a check decided, as a key and its values, rendered in a reader's language.

A check that explains its verdict with ``Message(key, params)`` names a template of ``CATALOGUE``
(``probes.reasons``: one text per language of ``probes.model.LANGUAGES``); ``params`` are the
values that go in as they are: algorithm and service names, status codes, numbers. Only the
frame around them is translated. A parameter may itself be a ``Message`` (a phrase rendered in
the same language) or a list of values and messages (joined with ", ").

The English rendering is the result's ``reason``, which every consumer keeps reading;
``render_reason`` gives the reason in another language and falls back to the stored reason
whenever the message cannot be rendered (unknown key, missing parameter), never raising.
A reason without a message is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from probes.reasons import CATALOGUE

LIST_SEPARATOR = ", "
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Message:
    """A template key of ``CATALOGUE`` and the values that fill it (JSON-safe, kept verbatim)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str):
            raise TypeError(f"message key must be a string, not {type(self.key).__name__}")
        params = {_name(name): _frozen(value) for name, value in self.params.items()}
        object.__setattr__(self, "params", params)

    def to_dict(self) -> dict[str, Any]:
        """``{"key", "params"}`` with nested messages as dicts and lists as lists: plain JSON."""
        return {"key": self.key, "params": {name: _plain(value) for name, value in self.params.items()}}

    @classmethod
    def from_dict(cls, data: Any) -> Message:
        """The message ``to_dict`` gave; ``ValueError`` for anything else."""
        if not (isinstance(data, dict) and set(data) == {"key", "params"}):
            raise ValueError(f"not a message: {data!r:.200}")
        try:
            return cls(data["key"], {name: _parsed(value) for name, value in data["params"].items()})
        except (TypeError, AttributeError) as exc:  # params not a dict, a key not a string ...
            raise ValueError(str(exc)) from None


def _name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"message parameter names are strings, not {type(name).__name__}")
    return name


def _frozen(value: Any) -> Any:
    """A parameter as the message keeps it: scalars and messages as they are, lists as tuples."""
    if isinstance(value, (*_SCALARS, Message)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    raise TypeError(f"parameters are JSON scalars, messages or lists of those, not {type(value).__name__}")


def _plain(value: Any) -> Any:
    if isinstance(value, Message):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def _parsed(value: Any) -> Any:
    if isinstance(value, dict):
        return Message.from_dict(value)
    if isinstance(value, list):
        return tuple(_parsed(item) for item in value)
    return value


def render(message: Message, lang: str) -> str:
    """The message in ``lang``; raises ``KeyError``/``ValueError``/``IndexError`` when it cannot be."""
    template = CATALOGUE[message.key][lang]
    return template.format(**{name: _filled(value, lang) for name, value in message.params.items()})


def _filled(value: Any, lang: str) -> Any:
    """What goes into a template: nested messages and lists as text, scalars as they are (for specs)."""
    if isinstance(value, Message):
        return render(value, lang)
    if isinstance(value, tuple):
        return LIST_SEPARATOR.join(str(_filled(item, lang)) for item in value)
    return value


def render_reason(reason: str, message: Message | None, lang: str) -> str:
    """The reason in ``lang``: its message rendered there, else (no message, or one that cannot be
    rendered) the stored ``reason`` as it is. Never raises."""
    if message is None:
        return reason
    try:
        return render(message, lang)
    except Exception:  # noqa: BLE001 - a reason is shown as stored rather than lost
        return reason
