"""Browser tests: a real uvicorn on a free localhost port, against a demo database built in a
temporary folder, driven by Debian's Chromium through Playwright. Never downloads a browser.

The demo supplies the staff logins and a populated mutual; the few records each journey
needs (a member with a policy in force, a project whose last quarter is still open to close,
a vote, an earlier lab result) are arranged through the services, as the system would store
them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
DEMO_MEMBERS = 300
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


@dataclass
class World:
    base_url: str
    demo_password: str
    member_login: str
    member_password: str
    member_id: int
    other_policy_id: int
    other_claim_id: int
    project: str
    quarter_to_close: str
    proposal_title: str
    waiting_login: str  # a member whose claim needs documents the handler will ask for
    waiting_claim_number: str
    buyer_login: str  # a member with no policy yet, who buys one that asks a declaration
    sms_file: Path  # what the console SMS sender wrote: the codes a person would receive


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _arrange(url: str, today: date) -> dict:
    """The records the journeys need, stored through the services."""
    from mutua.auth.security import SYSTEM
    from mutua.catalog import service as catalog_service
    from mutua.claims import service as claims_service
    from mutua.claims.schemas import ClaimIn, ItemIn
    from mutua.dates import Quarter, utcnow
    from mutua.db import make_engine, unit_of_work
    from mutua.governance import service as governance_service
    from mutua.health import service as health_service
    from tests import factories as f

    previous = Quarter.of(today).previous()
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as db:
            defn = catalog_service.check_definition(f.accident_definition(
                code="E2E", sale_start=previous.start, sale_end=today + timedelta(days=30)))
            catalog_service.load_definition(db, defn=defn, actor=SYSTEM)
            joined = previous.start + timedelta(days=3)
            declared = f.accident_definition(code="E2D", sale_start=previous.start,
                                             sale_end=today + timedelta(days=30))
            declared["products"][0]["name_zh"] = "高危作业告知意外险"
            declared["products"][0]["underwriting"] = {"declaration": [{
                "code": "hazardous_work", "zh": "您目前是否从事高空、井下或爆破作业？",
                "en": "Do you work at height, underground or with explosives?",
                "refuse_on": "yes"}]}
            catalog_service.load_definition(
                db, defn=catalog_service.check_definition(declared), actor=SYSTEM)
            buyer = f.member(db, login=True, name="赵新保", birth=date(1992, 8, 8))
            me = f.member(db, login=True, name="陈小骑", birth=date(1988, 3, 9))
            other = f.member(db, login=True, name="林大运", birth=date(1986, 7, 21))
            f.policy(db, member=me, product_code="E2E-1", on=joined)
            theirs = f.policy(db, member=other, product_code="E2E-1", on=joined)
            for n in range(4):
                f.policy(db, member=f.member(db, birth=date(1980 + n, 1, 15)),
                         product_code="E2E-1", on=joined)
            # Six members' premium cannot pay an 80,000 yuan invoice: finance approved an
            # overdraft, as a young pool's would, so the handler's batch can be paid
            f.overdraft(db, project_id=theirs.project_id)
            claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
                policy_id=theirs.id, event_type="accident", event_date=today - timedelta(days=3),
                items=[ItemIn(benefit_code="medical", invoice_amount="80000")]))
            # A disability claim waits for its assessment: the handler asks the member for it
            patient = f.member(db, login=True, name="王小满", birth=date(1990, 5, 2))
            cover = f.policy(db, member=patient, product_code="E2E-1", on=joined)
            waiting = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
                policy_id=cover.id, event_type="accident", event_date=today - timedelta(days=4),
                items=[ItemIn(benefit_code="disability", disability_grade=8)]))
            health_service.record(db, actor=SYSTEM, items=[
                {"member_id": me.id, "loinc": "2160-0", "value": 1.0, "unit": "mg/dL",
                 "effective_at": (today - timedelta(days=200)).isoformat()}])
            now = utcnow()
            title = "延长理赔报案时限至60天"
            proposal = governance_service.create_proposal(
                db, kind="motion", project_id=None, title_zh=title,
                title_en="Extend the claim notice period to 60 days", quorum="0.05",
                opens_at=now - timedelta(minutes=5),
                closes_at=now + timedelta(days=7), actor=SYSTEM)
            governance_service.open_proposal(db, proposal_id=proposal.id, actor=SYSTEM)
            return {"member_login": me.member_number, "member_id": me.id,
                    "other_policy_id": theirs.id, "other_claim_id": claim.id,
                    "quarter_to_close": str(previous), "proposal_title": title,
                    "waiting_login": patient.member_number,
                    "waiting_claim_number": waiting.claim_number,
                    "buyer_login": buyer.member_number}
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed: the browser tests need Debian's chromium")
    from mutua.dates import today as shanghai_today
    from mutua.demo import builder
    from tests import factories as f

    folder = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{folder / 'demo.db'}"
    today = shanghai_today()
    # The schema comes from the models (as in the other tests), so the journeys test the code
    # of this tree even before its migration is regenerated; the demo then fills it.
    from mutua.db import Base, load_all_models, make_engine

    load_all_models()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    builder.build(url=url, members=DEMO_MEMBERS, today=today, fresh=False)
    arranged = _arrange(url, today)
    port = _free_port()
    env = dict(os.environ, MUTUA_DATABASE_URL=url, MUTUA_UPLOAD_DIR=str(folder / "uploads"),
               MUTUA_LOGIN_ATTEMPTS_PER_MINUTE="1000",
               MUTUA_SMS_CONSOLE_FILE=str(folder / "sms.log"),
               MUTUA_EMAIL_CONSOLE_FILE=str(folder / "email.log"),
               MUTUA_PAYMENT_CALLBACK_SECRET="e2e-" + "s" * 40)  # members pay online
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "mutua.web.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, server)
        yield World(base_url=base, demo_password=builder.DEMO_PASSWORD,
                    member_password=f.PASSWORD, project="E2E", sms_file=folder / "sms.log",
                    **arranged)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer /healthz within 60 seconds")


@pytest.fixture(scope="session")
def playwright_instance():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed: the browser tests need Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def browser_for(playwright_instance, tmp_path):
    """A fresh browser profile sized as a phone or a desktop: ``browser_for(PHONE)``."""
    contexts = []

    def open_page(viewport: dict, locale: str = "zh-CN"):
        profile = tmp_path / f"profile-{len(contexts)}"
        context = playwright_instance.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            viewport=viewport, locale=locale, accept_downloads=True,
            is_mobile=viewport["width"] < 500, has_touch=viewport["width"] < 500)
        contexts.append(context)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
