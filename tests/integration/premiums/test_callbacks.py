"""Online payment through the provider interface: a signed callback is verified, a replay
or forgery refused, and a retried transaction taken once (issue 18 item 2)."""

from __future__ import annotations

import json
import time

import pytest

from mutua.errors import Conflict, Forbidden, ValidationFailed
from mutua.payments.provider import FakeProvider
from mutua.policies import domain
from mutua.premiums import service
from mutua.settings import get_settings
from tests import factories as f

from .conftest import CASH, TODAY, assert_books_balance, balance, unpaid

SECRET = "s" * 40


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("MUTUA_PAYMENT_CALLBACK_SECRET", SECRET)
    get_settings.cache_clear()
    yield SECRET
    get_settings.cache_clear()


def callback(p, **kw):
    return FakeProvider.callback(SECRET, project_code="TEST-ACC", reference=p.policy_number,
                                 amount=kw.pop("amount", p.premium), paid_on=TODAY.isoformat(),
                                 member_number=NUMBERS[p.member_id], **kw)


NUMBERS: dict[int, str] = {}


def unpaid_of(db):
    m = f.member(db)
    NUMBERS[m.id] = m.member_number
    return unpaid(db, m)


def receive(db, body, signature, now=None):
    return service.receive_callback(db, provider_name="fake", body=body, signature=signature,
                                    now=now or int(time.time()))


def test_a_signed_callback_pays_the_due_once_even_when_retried(db, product, secret):
    p = unpaid_of(db)
    db.commit()
    body, sig = callback(p, transaction_id="WX-1")
    assert receive(db, body, sig) == {"transaction_id": "WX-1", "state": "posted",
                                      "repeat": False}
    db.commit()
    retry, sig2 = callback(p, transaction_id="WX-1")  # a fresh nonce, the same payment
    assert receive(db, retry, sig2)["repeat"] is True
    db.commit()
    db.refresh(p)
    assert p.status == domain.IN_FORCE
    assert balance(db, p.project_id, CASH) == p.premium
    assert_books_balance(db)


def test_a_forged_callback_changes_nothing(db, product, secret):
    p = unpaid_of(db)
    db.commit()
    body, sig = callback(p)
    forged = body.replace(b'"amount":"36.50"', b'"amount":"3.65"')
    with pytest.raises(ValidationFailed) as e:
        receive(db, forged, sig)
    assert e.value.problems[0].field == "signature"
    with pytest.raises(ValidationFailed):
        receive(db, body, FakeProvider.callback("x" * 40, project_code="TEST-ACC",
                                                reference=p.policy_number, amount=p.premium,
                                                paid_on=TODAY.isoformat())[1])
    db.rollback()
    assert balance(db, p.project_id, CASH) == 0


def test_a_replayed_or_stale_callback_is_refused(db, product, secret):
    p = unpaid_of(db)
    db.commit()
    body, sig = callback(p)
    receive(db, body, sig)
    db.commit()
    with pytest.raises(Conflict, match="replayed"):
        receive(db, body, sig)
    db.rollback()
    old, old_sig = callback(p, now=int(time.time()) - 3600)
    with pytest.raises(ValidationFailed) as e:
        receive(db, old, old_sig)
    assert e.value.problems[0].field == "timestamp"


def test_without_a_secret_every_callback_is_refused(db, product, monkeypatch):
    monkeypatch.delenv("MUTUA_PAYMENT_CALLBACK_SECRET", raising=False)
    get_settings.cache_clear()
    p = unpaid_of(db)
    body, sig = callback(p)
    with pytest.raises(Forbidden):
        receive(db, body, sig)
    get_settings.cache_clear()


def test_a_callback_for_the_wrong_amount_waits_in_the_queue(db, product, secret):
    p = unpaid_of(db)
    db.commit()
    body, sig = callback(p, amount="10.00")
    assert receive(db, body, sig)["state"] == "queued"
    assert json.loads(body)["reference"] == p.policy_number
    db.commit()
    assert service.queue(db, project_code="TEST-ACC")[0][0].reason == "partial"
