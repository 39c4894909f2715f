"""Pure helpers around claims: cumulative triangles, journal entries, masking, upload checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mutua.claims import books
from mutua.claims.documents import check_upload
from mutua.claims.service import age_band, mask_name
from mutua.claims.triangles import cumulate
from mutua.dates import Quarter

D = Decimal


def test_cumulate_fills_every_origin_and_development():
    cells = cumulate([(Quarter(2026, 1), 0, D("100")), (Quarter(2026, 1), 2, D("50")),
                      (Quarter(2026, 3), 0, D("7"))], last=Quarter(2026, 3))
    assert cells == [("2026Q1", 0, D("100")), ("2026Q1", 1, D("100")), ("2026Q1", 2, D("150")),
                     ("2026Q2", 0, D("0")), ("2026Q2", 1, D("0")), ("2026Q3", 0, D("7"))]
    assert cumulate([], last=Quarter(2026, 1)) == []


@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7),
                          st.decimals(min_value=0, max_value=10**6, places=2)), max_size=40))
def test_cumulate_of_payments_never_falls_and_ends_at_the_total(moves):
    last = Quarter(2027, 4)
    incs = [(Quarter(2026 + o // 4, o % 4 + 1), d, amount) for o, d, amount in moves]
    cells = cumulate(incs, last=last)
    by_origin: dict[str, list] = {}
    for o, _k, v in cells:
        by_origin.setdefault(o, []).append(v)
    for series in by_origin.values():
        assert series == sorted(series)
    # developments beyond the last quarter are not shown, so the final diagonal holds the rest
    shown = sum((s[-1] for s in by_origin.values()), D(0))
    visible = sum((a for o, d, a in moves if o + d <= 7), D(0))
    assert shown == visible


def test_journal_entries_balance_and_carry_idempotency_keys():
    r = books.reserve_entry(project_id=1, claim_id=9, claim_number="CL000000009",
                            movement_id=4, on=date(2026, 3, 1), change=D("-120.00"), why="decided")
    assert r.total == 0 and r.idempotency_key == "claim:9:reserve:4"
    assert {(p.account, p.amount) for p in r.postings} == {
        ("case_reserve_change", D("-120.00")), ("case_reserve", D("120.00"))}
    d = books.decision_entry(project_id=1, claim_id=9, claim_number="CL000000009", round_=2,
                             on=date(2026, 3, 1), change=D("80.00"))
    assert d.idempotency_key == "claim:9:decision:2" and d.total == 0
    p = books.payment_entry(project_id=1, batch_key="RIDER:20260306:1", on=date(2026, 3, 6),
                            total=D("80.00"), claims=1)
    assert [(x.account, x.amount) for x in p.postings] == [("claims_payable", D("80.00")),
                                                           ("cash", D("-80.00"))]


def test_published_names_and_ages_identify_no_one():
    assert mask_name("张三") == "张*" and mask_name("欧阳修文") == "欧***"
    assert mask_name("") == "**"
    assert age_band(37) == "30-39" and age_band(5) == "0-9"


PDF = b"%PDF-1.7 ..."


def test_upload_checks():
    ok = dict(filename="a.pdf", content_type="application/pdf", data=PDF, kind="invoice",
              max_bytes=100)
    assert check_upload(**ok) == []
    cases = [
        (dict(data=b""), "file"),
        (dict(max_bytes=5), "file"),
        (dict(content_type="text/html"), "file"),
        (dict(content_type="image/png"), "file"),  # says PNG, is a PDF
        (dict(kind="selfie"), "kind"),
        (dict(filename="../etc/passwd"), "filename"),
    ]
    for change, field in cases:
        assert [p.field for p in check_upload(**(ok | change))] == [field], change
