"""Fixtures for the HTML report tests: real report models from a real store, one Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.reports.html import render
from orchestrator.reports.build import build_report
from orchestrator.store import Store
from tests.reports_html import builders
from tests.reports_html.chromium import Browser

AGENCY = "32.73"  # the agency whose servers send hostile text


@pytest.fixture(scope="package")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[builders.Built, Store]]:
    built = builders.small_store(tmp_path_factory.mktemp("small-store"))
    with Store(built.store_path) as store:
        yield built, store


def build(small: tuple[builders.Built, Store], *, agency: str | None, lang: str) -> dict:
    built, store = small
    return build_report(
        store,
        built.current,
        agency=agency,
        lang=lang,
        waivers=built.waivers(),
        inventory_names=builders.INVENTORY_NAMES,
        now=builders.NOW,
    )


@pytest.fixture(scope="package")
def reports(small, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """The four rendered files: (view, lang) -> path, view being ``national`` or ``agency``."""
    directory = tmp_path_factory.mktemp("html")
    files = {}
    for view, agency in (("national", None), ("agency", AGENCY)):
        for lang in ("id", "en"):
            path = directory / f"{view}-{lang}.html"
            path.write_text(render(build(small, agency=agency, lang=lang)), encoding="utf-8")
            files[(view, lang)] = path
    return files


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    chromium = Browser()
    try:
        yield chromium
    finally:
        chromium.close()
