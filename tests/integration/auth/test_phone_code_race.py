"""Two requests for a phone code at once, at the sending limit: exactly one is sent.

Each request counts the codes of the last hour and stores its own; without a guard both
count the same number below the limit and both send. Run in threads released together by a
barrier, on SQLite and PostgreSQL, the pair must give one code sent and one 429 refusal,
and the table must hold the limit's number of codes, not one more.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from mutua.auth import phone_codes
from mutua.auth.models import PhoneCode
from mutua.db import session_factory
from mutua.messaging.sms import ConsoleSms
from mutua.settings import Settings

PHONE = "+8613700002222"


def config_for(engine, tmp_path, **limits) -> Settings:
    return Settings(database_url=engine.test_url, sms_console_file=tmp_path / "sms.log",
                    **limits)


def send_one(engine, config, *, phone: str = PHONE, client: str = "10.0.0.1") -> None:
    with session_factory(engine)() as s:
        phone_codes.send(s, phone=phone, purpose="signup", text="code {code}",
                         settings=config, sender=ConsoleSms(config.sms_console_file),
                         client=client)
        s.commit()


def race(engine, config, *, phones: tuple[str, str], clients: tuple[str, str]) -> list:
    outcomes: list = []
    start = threading.Barrier(2)

    def ask(phone: str, client: str) -> None:
        s = session_factory(engine)()
        try:
            start.wait()
            phone_codes.send(s, phone=phone, purpose="signup", text="code {code}",
                             settings=config, sender=ConsoleSms(config.sms_console_file),
                             client=client)
            s.commit()
            outcomes.append("sent")
        except Exception as exc:  # judged below: only a 429 is a fair refusal
            s.rollback()
            outcomes.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=ask, args=pair) for pair in zip(phones, clients, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def stored(engine, **where) -> int:
    with session_factory(engine)() as s:
        q = select(func.count()).select_from(PhoneCode)
        for column, value in where.items():
            q = q.where(getattr(PhoneCode, column) == value)
        return s.scalar(q)


@pytest.mark.parametrize("rounds", [3])
def test_two_requests_at_the_phone_limit_send_one_code(engine, tmp_path, rounds):
    config = config_for(engine, tmp_path, phone_codes_per_hour_per_phone=2,
                      phone_codes_per_hour_per_address=100)
    for k in range(rounds):
        phone = f"+86137000033{k:02d}"
        send_one(engine, config, phone=phone)  # one below the limit of two
        outcomes = race(engine, config, phones=(phone, phone), clients=("10.0.0.2", "10.0.0.3"))
        assert outcomes.count("sent") == 1, outcomes
        refusal = next(o for o in outcomes if o != "sent")
        assert isinstance(refusal, phone_codes.TooManyCodes), refusal
        assert "this phone" in refusal.message and refusal.status_code == 429
        assert stored(engine, phone=phone) == 2


def test_two_requests_at_the_address_limit_send_one_code(engine, tmp_path):
    config = config_for(engine, tmp_path, phone_codes_per_hour_per_phone=100,
                      phone_codes_per_hour_per_address=2)
    send_one(engine, config, phone="+8613700004000", client="10.9.9.9")
    outcomes = race(engine, config, phones=("+8613700004001", "+8613700004002"),
                    clients=("10.9.9.9", "10.9.9.9"))
    assert outcomes.count("sent") == 1, outcomes
    refusal = next(o for o in outcomes if o != "sent")
    assert isinstance(refusal, phone_codes.TooManyCodes) and "address" in refusal.message
    assert stored(engine, client="10.9.9.9") == 2


def test_two_requests_below_the_limit_both_send(engine, tmp_path):
    config = config_for(engine, tmp_path, phone_codes_per_hour_per_phone=5,
                      phone_codes_per_hour_per_address=50)
    outcomes = race(engine, config, phones=(PHONE, PHONE), clients=("10.1.1.1", "10.1.1.2"))
    assert outcomes == ["sent", "sent"]
    assert stored(engine, phone=PHONE) == 2
