"""Fixtures for the HTML report tests: real report models from a real store, one Chromium, and DOM queries."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrator.reports.build import build_report
from orchestrator.reports.html import render
from orchestrator.store import Store
from tests.reports_html import builders
from tests.reports_html.chromium import Browser, Page

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


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[Path], Page]]:
    """Opens a file in a fresh tab, so one test's clicks never change what another sees; closes it after."""
    opened: list[Page] = []

    def open_(path: Path) -> Page:
        page = browser.open(path.as_uri())
        opened.append(page)
        return page

    yield open_
    for page in opened:
        page.close()


def texts(page: Page, selector: str) -> list[str]:
    return page.evaluate(
        f"Array.from(document.querySelectorAll({json.dumps(selector)})).map(e => e.textContent.trim())"
    )


def column(page: Page, table: str, index: int, *, text: bool = False) -> list[str]:
    """The visible rows' values in one column: a cell's data-sort (what sorting uses), else its text.

    Only the table's own rows: a finding's evidence table nested in a cell is not a row of it.
    """
    value = "c.textContent.trim()" if text else "c.getAttribute('data-sort') ?? c.textContent.trim()"
    return page.evaluate(
        f"Array.from(document.querySelectorAll('#{table} > tbody > tr')).filter(r => !r.hidden)"
        f".map(r => {{ const c = r.cells[{index}]; return {value}; }})"
    )


def row_attribute(page: Page, table: str, attribute: str) -> list[str]:
    return page.evaluate(
        f"Array.from(document.querySelectorAll('#{table} > tbody > tr')).filter(r => !r.hidden)"
        f".map(r => r.getAttribute({json.dumps(attribute)}))"
    )
