"""Every route × {no token, operator, own agency, other agency}; an agency token sees nothing of any other.

The expected status of each cell is a table (``MATRIX``); the caller "other"
is a valid token of another agency of the same store. Every body an agency
token gets is searched for what names the other agencies (codes, names,
applications, endpoint URLs, provinces, their waivers).
"""

from __future__ import annotations

import json

import pytest

from orchestrator.service.app import ROUTES
from tests.service.conftest import OTHER, OWN, THIRD, bearer, identifying_words

CALLERS = ("none", "operator", "own", "other")
FORMATS = ("html", "json", "sarif", "csv")
PUBLIC = {"none": 200, "operator": 200, "own": 200, "other": 200}
ANY_TOKEN = {"none": 401, "operator": 200, "own": 200, "other": 200}
OPERATOR_ONLY = {"none": 401, "operator": 200, "own": 403, "other": 403}
OWN_ONLY = {"none": 401, "operator": 200, "own": 200, "other": 403}

# path -> expected status by caller; {first}, {prefix} are the first sweep's id and a unique prefix of it.
MATRIX: dict[str, dict[str, int]] = {
    "/healthz": PUBLIC,
    "/readyz": PUBLIC,
    "/metrics": ANY_TOKEN,
    "/status": OPERATOR_ONLY,
    "/reports/": ANY_TOKEN,
    **{f"/reports/latest/national.{fmt}": OPERATOR_ONLY for fmt in FORMATS},
    "/reports/{first}/national.json": OPERATOR_ONLY,
    **{f"/reports/latest/agency/{OWN}.{fmt}": OWN_ONLY for fmt in FORMATS},
    f"/reports/{{first}}/agency/{OWN}.html": OWN_ONLY,
    f"/reports/{{prefix}}/agency/{OWN}.csv": OWN_ONLY,
    # Refused before anything is looked up: another agency learns nothing of what exists.
    f"/reports/no-such-sweep/agency/{OWN}.html": {"none": 401, "operator": 404, "own": 404, "other": 403},
    "/reports/no-such-sweep/national.html": {"none": 401, "operator": 404, "own": 403, "other": 403},
    # /probe: an agency probes its own endpoints only, and learns nothing of any other.
    "/probe?target={own_url}": OWN_ONLY,
    "/probe?target={other_url}": {"none": 401, "operator": 200, "own": 403, "other": 200},
    "/probe?target=grpc://127.0.0.1:1": {"none": 401, "operator": 404, "own": 403, "other": 403},
}
UNKNOWN_PATHS = (
    "/",
    "/nope",
    "/reports",
    "/metrics/",
    "/status/",
    "/healthz/x",
    "/reports/latest",
    "/reports/latest/national",
    "/reports/latest/national.pdf",
    "/reports/latest/agency/",
    "/admin",
    "/reports/latest/agency/32.73/x.html",
    "/static/app.js",
)


def unique_prefix(fleet) -> str:
    first, second = fleet.sweeps
    length = next(n for n in range(1, len(first) + 1) if first[:n] != second[:n])
    return first[:length]


def path_of(template: str, fleet) -> str:
    return template.format(
        first=fleet.sweeps[0],
        prefix=unique_prefix(fleet),
        own_url=fleet.urls[OWN][0],
        other_url=fleet.urls[OTHER][0],
    )


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("template", MATRIX)
def test_route_by_caller(http, tokens, fleet, template, caller):
    response = http.get(path_of(template, fleet), headers=bearer(tokens.by_name.get(caller)))
    assert response.status_code == MATRIX[template][caller], response.text[:300]
    if response.status_code == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_matrix_covers_every_route():
    covered = {route for route, _, _ in ROUTES}
    patterns = {"/reports/{sweep}/national.{fmt}", "/reports/{sweep}/agency/{code}.{fmt}"}
    plain = {
        template.partition("?")[0]
        for template in MATRIX
        if not template.startswith("/reports/") or template == "/reports/"
    }
    assert covered == plain | patterns


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_anything_else_is_404(http, tokens, path, caller):
    response = http.get(path, headers=bearer(tokens.by_name.get(caller)))
    expected = 404
    if path in ("/reports/latest/national.pdf",):  # a national route: the role is checked first
        expected = {"none": 401, "operator": 404, "own": 403, "other": 403}[caller]
    assert response.status_code == expected


def test_other_agencies_read_their_own_report(http, tokens):
    for name, code in (("other", OTHER), ("third", THIRD)):
        response = http.get(f"/reports/latest/agency/{code}.json", headers=bearer(tokens.by_name[name]))
        assert response.status_code == 200 and response.json()["scope"]["agency"] == code


def test_a_wrong_or_malformed_token_is_401(http, tokens):
    operator = tokens.by_name["operator"]
    for header in (f"Bearer {operator}x", f"Basic {operator}", operator, "Bearer", f"Bearer {operator[:-1]}"):
        response = http.get("/metrics", headers={"Authorization": header})
        assert response.status_code == 401, header


def test_a_token_in_the_query_string_is_refused(http, tokens):
    token = tokens.by_name["operator"]
    for name in ("token", "access_token"):
        response = http.get("/reports/", params={name: token}, headers=bearer(token))
        assert response.status_code == 400 and "Authorization" in response.text


# -- nothing of another agency ------------------------------------------------------------


def agency_bodies(http, token: str, code: str, fleet) -> dict[str, str]:
    """Every body a token of ``code`` can get: its reports in every format and language, index, metrics."""
    paths = ["/healthz", "/readyz", "/metrics", "/reports/", "/reports/?lang=en"]
    for sweep in ("latest", *fleet.sweeps):
        paths += [
            f"/reports/{sweep}/agency/{code}.{fmt}?lang={lang}" for fmt in FORMATS for lang in ("id", "en")
        ]
    bodies = {}
    for path in paths:
        response = http.get(path, headers=bearer(token))
        assert response.status_code == 200, (path, response.text[:300])
        bodies[path] = response.text
    return bodies


@pytest.mark.parametrize("name, code", [("own", OWN), ("other", OTHER), ("third", THIRD)])
def test_an_agency_token_gets_nothing_of_any_other_agency(http, tokens, fleet, name, code):
    bodies = agency_bodies(http, tokens.by_name[name], code, fleet)
    foreign = [
        word for other in (OWN, OTHER, THIRD) if other != code for word in identifying_words(other, fleet)
    ]
    leaks = {
        path: [word for word in foreign if word.lower() in body.lower()] for path, body in bodies.items()
    }
    assert {path: words for path, words in leaks.items() if words} == {}
    # And its own endpoints are there (SARIF and CSV list findings only: a conformant agency has none).
    own_urls = fleet.urls[code]
    for path, body in bodies.items():
        if any(f".{fmt}?" in path for fmt in ("html", "json")) or path == "/metrics":
            assert any(url.split("://")[1] in body for url in own_urls), path


def test_the_words_searched_for_are_in_the_national_report(http, tokens, fleet):
    """The foreign words are real: the operator's national report holds every one of them."""
    response = http.get("/reports/latest/national.json?lang=en", headers=bearer(tokens.by_name["operator"]))
    body = response.text.lower()
    words = [word for code in (OWN, OTHER, THIRD) for word in identifying_words(code, fleet)]
    missing = [word for word in words if word.lower() not in body]
    # Province names are in the HTML report's tables, not necessarily in the JSON: check them there.
    html = http.get("/reports/latest/national.html?lang=en", headers=bearer(tokens.by_name["operator"])).text
    assert [word for word in missing if word.lower() not in html.lower()] == []


def test_an_agency_index_lists_only_its_own_reports(http, tokens, fleet):
    body = http.get("/reports/", headers=bearer(tokens.by_name["own"])).text
    assert body.count(f"/agency/{OWN}.html") == len(fleet.sweeps)
    assert "national." not in body
    operator = http.get("/reports/", headers=bearer(tokens.by_name["operator"])).text
    assert operator.count("/national.html") == len(fleet.sweeps)


def test_status_for_the_operator(http, tokens, fleet):
    status = http.get("/status", headers=bearer(tokens.by_name["operator"])).json()
    assert status["store"]["readable"] is True
    assert [sweep["id"] for sweep in status["sweeps"]] == list(reversed(fleet.sweeps))
    assert status["scheduler"] is None and status["service"]["access"] == "tokens"
    assert json.dumps(status).count(tokens.by_name["operator"]) == 0


def test_readyz_says_what_it_checked(http):
    body = http.get("/readyz").json()
    assert body == {"ready": True, "checks": {"store": "readable", "tokens": "readable"}}


def test_no_token_reaches_the_log(http, tokens, service):
    http.get("/reports/", params={"access_token": tokens.by_name["own"]})
    http.get("/metrics", headers=bearer(tokens.by_name["own"]))
    http.get("/metrics", headers=bearer(tokens.by_name["own"] + "wrong"))
    log = service.log()
    assert tokens.ids["own"] in log  # requests are logged, by token id
    assert all(token[6:20] not in log for token in tokens.by_name.values())
    assert "access_token" not in log and "Authorization" not in log
