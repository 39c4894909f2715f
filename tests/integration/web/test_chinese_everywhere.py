"""Every page in Chinese, for each role, over a demo-like database: no untranslated code, no
English sentence (issue 20.3).

A small demo (all its domain steps: claims, closes, kidney care, governance) is built once
(the demo_site fixture);
each staff role and each demo member signs in and follows the links of the pages they can
open (two pages per path shape, so /staff/claims/1 and /staff/claims/2 but not all of them),
and each page's visible text is searched for Latin words. What is legitimately Latin is
allowed by shape: codes (SZ-NEWCITIZEN, P0000000174, 2026Q3), KDIGO stage names (G3a, A2),
units, receipt digests, and a few names of methods and standards. Text that a page shows
exactly as it was typed or recorded (a person's words, the audit record, a user name) is
marked ``data-verbatim`` in the templates and is not searched; minutes in English carry
``lang="en"``.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.integration.web.conftest import csrf_of

PAGES_PER_SHAPE = 2
PAGES_PER_LOGIN = 60

ALLOWED = re.compile(r"""^(?:
    [A-Z0-9][A-Z0-9._/+-]*            # codes and numbers: SZ-NEWCITIZEN, P0000000174, 2026Q3
  | [GA]?\d[ab]?                      # KDIGO stages: G3a, A2, 3b in 肾病3b期
  | [0-9a-f]{16,}                     # ballot receipt digests
  | eGFR | mmHg | mg/dL | mg/g | mg/mmol | umol/L | µmol/L | mmol/L | mol/L | mg/L | g/L
  | mL/min/1\.73m² | mL/min/1\.73 | m² | mL/min | kg | cm
  | English                           # the language switch names its language
  | Bornhuetter-Ferguson              # a reserving method's name
  | https? | [\w.-]+\.example(?:/\S*)? # links people typed for online meetings
)$""", re.X)
WORD = re.compile(r"[0-9]*[A-Za-z][A-Za-z0-9_./%²+-]*")
HIDDEN = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
VERBATIM = re.compile(r'<(\w+)\b[^>]*(?:\sdata-verbatim|\slang="en")[^>]*>.*?</\1>', re.S)
ATTRS = re.compile(r'\s(?:placeholder|aria-label|title|data-label|alt)="([^"]*)"')
TAG = re.compile(r"<[^>]+>")
LINK = re.compile(r'href="(/[^"#]*)"')
# Pages that tell how a file must be laid out name its parts as the file spells them.
FILE_FORMATS = {
    "/staff/care/import": {"Bundle", "Observation", "subject", "valueQuantity", "component",
                           "effectiveDateTime", "panel", "HbA1c", "member_number", "loinc",
                           "value", "unit", "effective_at", "json", "csv"},
    "/staff/members/import": {"name", "id_number", "phone", "occupation_code", "city", "xlsx",
                              "csv"},
    "/staff/premiums": {"transaction_id", "paid_on", "amount", "reference", "member_number",
                        "payer", "xlsx", "csv"},
}
NOT_PAGES = ("/static", "/assets", "/docs", "/api", "/signout", "/metrics", "/healthz")


def visible_latin(page: str) -> list[str]:
    """The Latin words a reader sees on ``page`` (and hears: labels read out), verbatim
    text and scripts left out."""
    text = VERBATIM.sub(" ", HIDDEN.sub(" ", page))
    said = " ".join(ATTRS.findall(text))
    return WORD.findall(html.unescape(TAG.sub(" ", text) + " " + said))


def untranslated(page: str, path: str = "") -> list[str]:
    spelled = FILE_FORMATS.get(urlsplit(path).path, set())
    words = (w.rstrip(".,:;") for w in visible_latin(page))
    return [w for w in words if not ALLOWED.match(w) and w not in spelled
            and not w.startswith("Patient/")]


def _crawl(client: TestClient, start: str):
    """Each page reachable from ``start`` by links, two per path shape."""
    queue, seen, shapes = [start], set(), Counter()
    while queue and len(seen) < PAGES_PER_LOGIN:
        path = queue.pop(0)
        shape = re.sub(r"\d+", "N", urlsplit(path).path)
        if path in seen or shapes[shape] >= PAGES_PER_SHAPE:
            continue
        seen.add(path)
        shapes[shape] += 1
        response = client.get(path)
        assert response.status_code < 500, path
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        yield path, response.text
        queue += [html.unescape(h) for h in LINK.findall(response.text)
                  if not h.startswith(NOT_PAGES) and not h.endswith((".pdf", ".csv"))]


def test_every_page_reads_in_chinese_for_every_role(demo_site):
    app, password, logins = demo_site
    found: dict[str, set[str]] = {}
    for login in logins:
        with TestClient(app) as client:
            page = client.get("/signin")
            signed = client.post("/signin", data={"csrf_token": csrf_of(page.text),
                                                  "login": login, "password": password},
                                 follow_redirects=False)
            assert signed.status_code == 303, login
            for path, text in _crawl(client, signed.headers["location"]):
                assert 'lang="zh-CN"' in text[:200], path
                for word in untranslated(text, path):
                    found.setdefault(word, set()).add(f"{login} {path}")
    assert not found, "\n".join(f"{w}: {sorted(where)[:3]}" for w, where in sorted(found.items()))


@pytest.mark.parametrize("page,words", [
    ('<td>active</td><td data-label="状态">G3a</td>', ["active"]),
    ('<p data-verbatim>drunk_driving</p><p>SZ-NEWCITIZEN 2026Q3 A2</p>', []),
    ('<button aria-label="Close">×</button>', ["Close"]),
    ('<section lang="en"><p>Members raised claim turnaround</p></section>', []),
])
def test_the_check_finds_what_a_reader_would_see(page, words):
    assert untranslated(page) == words
