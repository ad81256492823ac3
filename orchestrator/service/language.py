"""The language of a report a request asks for: ``?lang=``, else ``Accept-Language``, else Bahasa Indonesia.

Languages are those the reports have (``probes.model.LANGUAGES``, first the
default). ``Accept-Language`` is read as RFC 9110 says: tags with quality
values, the primary subtag deciding (``en-GB`` is ``en``); ``in``, the code
Indonesian had before 1989, still sent by old Java clients, is ``id``.
"""

from __future__ import annotations

from probes.model import LANGUAGES

DEFAULT_LANG = LANGUAGES[0]
ALIASES = {"in": "id"}
MAX_TAGS = 32  # a header is read only this far


class UnknownLanguage(ValueError):
    pass


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def from_accept_language(header: str | None) -> str | None:
    """The supported language the header prefers most, or None."""
    if not header:
        return None
    best, best_quality = None, 0.0
    for item in header.split(",")[:MAX_TAGS]:
        tag, *parameters = item.split(";")
        primary = tag.strip().lower().split("-")[0]
        primary = ALIASES.get(primary, primary)
        quality = _quality(parameters)
        if primary == "*" and quality > best_quality:
            best, best_quality = DEFAULT_LANG, quality
        elif primary in LANGUAGES and quality > best_quality:  # ties: the first listed wins
            best, best_quality = primary, quality
    return best


def negotiate(query_lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` if given (UnknownLanguage if not one we have), else the header, else the default."""
    if query_lang is not None:
        lang = ALIASES.get(query_lang.lower(), query_lang.lower())
        if lang not in LANGUAGES:
            raise UnknownLanguage(f"unknown language {query_lang!r}: use one of {', '.join(LANGUAGES)}")
        return lang
    return from_accept_language(accept_language) or DEFAULT_LANG
