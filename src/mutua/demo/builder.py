"""`mutua demo`: build a deterministic synthetic mutual (演示互助社).

Steps, each set-based and committed on its own so a million members fit in memory and time:

1. schema (fresh: the old database is dropped first), the catalogue (eleven projects with
   quarterly sale periods), staff logins for every role;
2. members drawn per cohort (demo/cohorts.py) with valid ID numbers and phones, registered
   with ``members.service.register_many`` in chunks;
3. enrolments in the four closed quarters and the open one, plus renewals of last year's
   policies, through ``policies.bulk_enrolment.enrol_many`` (premiums land in each project's books,
   one journal entry per batch);
4. each domain's own demo step (claims, settlement, health, governance) when it exists;
5. member logins (username = member number, one Argon2 hash) for the members who show the
   story: uplifts, aid, a kidney patient, a voter (demo/logins.py).

The same seed and the same ``today`` build the same data.

>>> plan = plan_enrolments(np.random.default_rng(1), 200, date(2026, 11, 25))
>>> len(plan.crowd) == 200, len(plan.batches) > 20
(True, True)
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Engine

from mutua import (
    numbering,
    schema,
    wiring,  # noqa: F401  (a demo built on its own, outside the app, needs the hooks)
)
from mutua.audit import partitions
from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal, hash_password
from mutua.claims import demo as claims_demo
from mutua.dates import Quarter, age_on
from mutua.dates import today as shanghai_today
from mutua.db import make_engine, unit_of_work
from mutua.demo import catalogue
from mutua.demo.cohorts import COHORTS, Cohort
from mutua.demo.logins import story_members
from mutua.demo.people import Crowd, Taken, people
from mutua.errors import ValidationFailed
from mutua.members import accounts
from mutua.members import service as members_service
from mutua.members.service import ValidMember
from mutua.notify import service as notify
from mutua.policies import bulk_enrolment
from mutua.settings import get_settings
from mutua.settlement import demo as settlement_demo
from mutua.settlement import service as settlement_service

# Every demo login uses this password (documented in the README and printed by `mutua demo`).
DEMO_PASSWORD = "mutua-demo-2026"
STAFF = (  # username = role
    (Role.ADMIN, "演示管理员"), (Role.UNDERWRITER, "核保员"), (Role.CLAIMS, "理赔员"),
    (Role.FINANCE, "财务"), (Role.ACTUARY, "精算师"), (Role.CARE, "健康管理师"),
    (Role.SECRETARY, "会务秘书"),
)
DOMAIN_STEPS = ("claims", "settlement", "health", "governance", "premiums")
REGISTER_CHUNK = 50_000
# Join quarters, oldest first: growth over the year, the open quarter the busiest.
PERIOD_WEIGHTS = (0.15, 0.18, 0.2, 0.22, 0.25)
RENEWAL_RATE = 0.78  # members whose year of cover ended renew into the open period
BATCH_OFFSETS = (-14, -7, 9, 30, 55, 80)  # enrolment days relative to a period's cover start
MEMBERS_PER_BATCH_DAY = 2_000  # small demos use fewer enrolment days: each batch has a fixed cost
ENROL_COMMIT_EVERY = 50_000  # enrolments per transaction
KIDNEY_MEMBERS_PER_PATIENT = 10  # a small demo gets a small kidney project, built quickly


@dataclass
class Plan:
    """Who is born how, and who enrols in what on which day (before any database work)."""

    crowd: Crowd
    cohort_of: list[str]  # project code per person
    # (product code, period code, enrolment date) -> person indices, in order
    batches: dict[tuple[str, str, date], list[int]] = field(default_factory=dict)


def build(*, seed: int = 7, members: int = 20_000, fresh: bool = True, progress: bool = False,
          url: str | None = None, today: date | None = None,
          domain_steps: tuple[str, ...] | None = None, report=None) -> dict:
    """Build the demo in the database at ``url`` (default: the configured one).

    ``domain_steps`` names the domains whose ``mutua.<name>.demo.build`` runs after the
    members and policies exist (default: all of DOMAIN_STEPS; a missing module is skipped).
    ``report(done, total, stage)``, when given, hears each step's progress (a job's progress).
    """
    if members < 1:
        raise ValidationFailed("members", "must be at least 1")
    url = url or get_settings().database_url
    today = today or shanghai_today()
    started = time.perf_counter()
    if fresh:
        drop_database(url)
    create_schema(url)
    engine = make_engine(url)
    try:
        with _progress(progress, report) as step:
            summary = _build(engine, seed=seed, members=members, today=today, step=step,
                             domain_steps=DOMAIN_STEPS if domain_steps is None else domain_steps)
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    summary.update(seconds=round(seconds, 1), members_per_second=round(members / seconds, 1))
    return summary


def _build(engine: Engine, *, seed: int, members: int, today: date, step,
           domain_steps: tuple[str, ...]) -> dict:
    with step("catalogue and staff logins", 1), unit_of_work(engine) as db:
        projects = catalogue.load(db, today=today, actor=SYSTEM)
        password_hash = hash_password(DEMO_PASSWORD)
        staff = [accounts.create_user(db, username=role.value, password="", role=role,
                                          display_name=name, password_hash=password_hash)
                 for role, name in STAFF]
        admin = Principal(user_id=staff[0].id, username=staff[0].username, role=Role.ADMIN)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    with step("drawing members", 1):
        plan = plan_enrolments(rng, members, today)
    member_ids = _register(engine, plan, step, actor=admin)
    enrolled, premium = _enrol(engine, plan, member_ids, step, actor=admin, today=today)
    summary = {
        "seed": seed, "today": today.isoformat(), "members": members,
        "projects": len(projects), "products": sum(len(p) for p in projects.values()),
        "catalogue": projects, "policies": enrolled, "premium_total": str(premium),
        "periods": [p["code"] for p in catalogue.quarterly_periods(today)],
    }
    summary.update(_domain_steps(engine, domain_steps, seed=seed, today=today, actor=admin,
                                 step=step, members=members))
    with step("member logins", 1), unit_of_work(engine) as db:
        summary["logins"] = {
            "password": DEMO_PASSWORD,
            "staff": [{"username": r.value, "role": r.value} for r, _ in STAFF],
            "members": _member_logins(db, password_hash, actor=admin, today=today)}
        summary["loss_ratios"] = quarterly_loss_ratios(db)
        notify.keep_unsent(db)  # the story's messages: read, never sent
    return summary


# --- planning (pure: numbers and dates only) -----------------------------------------------

def plan_enrolments(rng: np.random.Generator, members: int, today: date) -> Plan:
    """Draw every person and decide their enrolments; no database involved."""
    periods = catalogue.quarterly_periods(today)[:-1]  # the next quarter is not on sale yet
    counts = _split(members, [c.share for c in COHORTS])
    taken = Taken()
    crowds, cohort_of, batches = [], [], defaultdict(list)
    base = 0
    for cohort, n in zip(COHORTS, counts, strict=True):
        if n == 0:
            continue
        join = rng.choice(len(periods), n, p=np.asarray(PERIOD_WEIGHTS) / sum(PERIOD_WEIGHTS))
        for k, period in enumerate(periods):
            who = np.flatnonzero(join == k)
            if who.size == 0:
                continue
            cover_start = date.fromisoformat(period["cover_start"])
            crowd = people(rng, int(who.size), ages=cohort.ages, on=cover_start,
                           occupations=cohort.occupations, areas=cohort.areas,
                           area_weights=cohort.area_weights, cities=cohort.cities,
                           age_mode=cohort.age_mode, taken=taken)
            index = list(range(base, base + len(crowd)))
            base += len(crowd)
            crowds.append(crowd)
            cohort_of += [cohort.project] * len(crowd)
            _assign(rng, cohort, period, index,
                    batch_days(period, today, members, founding=k == 0), batches)
    crowd = _concat(crowds)
    _renewals(rng, crowd, batches, periods, today, batch_days(periods[-1], today, members))
    return Plan(crowd, cohort_of, dict(sorted(batches.items())))


def _split(total: int, shares: list[float]) -> list[int]:
    """Whole counts in proportion to shares, adding up to ``total`` (largest remainder)."""
    raw = np.asarray(shares) / sum(shares) * total
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return [int(c) for c in counts]


def batch_days(period: dict, today: date, members: int = 10**9, *,
               founding: bool = False) -> list[date]:
    """The days a period's enrolments come in: inside its sale window and not after today.

    The founding members of the first period all join before its cover starts: each pool
    opens with a full quarter of cover, as a mutual starts from its founding members.
    """
    start = date.fromisoformat(period["cover_start"])
    lo, hi = date.fromisoformat(period["sale_start"]), date.fromisoformat(period["sale_end"])
    offsets = BATCH_OFFSETS[:max(1, min(len(BATCH_OFFSETS), members // MEMBERS_PER_BATCH_DAY))]
    if founding:
        offsets = tuple(d for d in offsets if d <= 0)
    days = [start + timedelta(days=d) for d in offsets]
    return [d for d in days if lo <= d <= min(hi, today)] or [min(max(lo, today), hi)]


def _assign(rng, cohort: Cohort, period: dict, index: list[int], days: list[date],
            batches) -> None:
    products = list(cohort.products)
    share = np.asarray([cohort.products[p] for p in products])
    product = rng.choice(len(products), len(index), p=share / share.sum())
    day = rng.integers(0, len(days), len(index))
    for i, p, d in zip(index, product, day, strict=True):
        batches[(products[p], period["code"], days[d])].append(i)


def _renewals(rng, crowd: Crowd, batches, periods, today: date, days: list[date]) -> None:
    """Policies of the oldest quarter end as the open one starts; most members renew."""
    first, current = periods[0], periods[-1]
    if Quarter.parse(current["code"]) != Quarter.parse(first["code"]).next().next().next().next():
        return
    limits = {p.code: (p.min_age, p.max_age) for d in catalogue.definitions(today)
              for p in d.products}
    start = date.fromisoformat(current["cover_start"])
    for (product, period, _day), who in list(batches.items()):
        if period != first["code"]:
            continue
        lo, hi = limits[product]
        renew = [i for i, r in zip(who, rng.random(len(who)), strict=True)
                 if r < RENEWAL_RATE and lo <= age_on(crowd.birth_date[i], start) and
                 age_on(crowd.birth_date[i], max(days) + timedelta(days=1)) <= hi]
        pick = rng.integers(0, len(days), len(renew))
        for i, d in zip(renew, pick, strict=True):
            batches[(product, current["code"], days[d])].append(i)


def _concat(crowds: list[Crowd]) -> Crowd:
    fields = Crowd.__dataclass_fields__
    return Crowd(**{f: [x for c in crowds for x in getattr(c, f)] for f in fields})


# --- database steps ------------------------------------------------------------------------

def _register(engine: Engine, plan: Plan, step, *, actor: Principal) -> list[int]:
    """Register everyone in chunks; returns member ids by person index."""
    c = plan.crowd
    ids: list[int] = []
    with step("registering members", len(c)) as advance:
        for start in range(0, len(c), REGISTER_CHUNK):
            end = min(len(c), start + REGISTER_CHUNK)
            rows = [ValidMember(c.name[i], c.id_number[i], c.birth_date[i], c.sex[i], c.phone[i],
                                c.occupation_code[i], c.occupation_class[i], c.city[i])
                    for i in range(start, end)]
            with unit_of_work(engine) as db:
                by_number = members_service.register_many(db, rows)
                audit.record(db, actor=actor, action="member.register_many", entity="member",
                             entity_id=f"demo:{start}-{end - 1}", detail={"count": len(rows)})
            ids += [by_number[r.id_number] for r in rows]
            advance(len(rows))
    return ids


def _enrol(engine: Engine, plan: Plan, member_ids: list[int], step, *, actor: Principal,
           today: date):
    """Every batch through enrol_many (premiums into the books), committing every 50,000."""
    total, premium = 0, Decimal("0")
    work = sum(len(v) for v in plan.batches.values())
    batches = list(plan.batches.items())
    with step("enrolling", work) as advance:
        while batches:
            with unit_of_work(engine) as db:
                done = 0
                while batches and done < ENROL_COMMIT_EVERY:
                    (product, period, day), who = batches.pop(0)
                    result = bulk_enrolment.enrol_many(
                      db, product_code=product, period_code=period, actor=actor, on=day,
                        enrolments=[bulk_enrolment.Enrolment(member_ids[i], i) for i in who],
                      reference=f"demo:{product}:{period}:{day.isoformat()}")
                    if result.problems:  # the plan draws eligible people only: this is a bug
                        row, problems = next(iter(result.problems.items()))
                        raise RuntimeError(f"demo enrolment refused {product} {period} person "
                                           f"{row}: {problems}")
                    total += result.enrolled
                    premium += result.premium_total
                    done += len(who)
                    advance(len(who))
    return total, premium


def _member_logins(db, password_hash: str, *, actor: Principal, today: date) -> list[dict]:
    """Sign-ins (username = member number) for the members who show the story."""
    chosen = story_members(db, on=today)
    for m in chosen:
        member = members_service.get(db, member_id=m.member_id, actor=SYSTEM)
        accounts.create_user(db, username=member.member_number, password="",
                                 role=Role.MEMBER, display_name=member.name,
                                 member_id=member.id, password_hash=password_hash, actor=actor)
    return [m.to_dict() for m in chosen]


def quarterly_loss_ratios(db) -> dict[str, dict[str, str]]:
    """Each project's closed quarters: claims incurred over earned premium, as the staff
    dashboard shows them (``{"SZ-NEWCITIZEN": {"2026Q3": "0.5412", ...}}``)."""
    out: dict[str, dict[str, str]] = {}
    for c in settlement_service.list_closes(db, limit=100_000)[0]:
        s = settlement_service.project_statement(db, project_code=c["project"],
                                                 quarter=c["quarter"])
        earned = Decimal(s["earned_premium"])
        if earned > 0:
            ratio = (Decimal(s["claims_incurred"]) / earned).quantize(Decimal("0.0001"))
            out.setdefault(c["project"], {})[c["quarter"]] = str(ratio)
    return out


def _domain_steps(engine: Engine, names: tuple[str, ...], *, seed: int, today: date,
                  actor: Principal, step, members: int) -> dict:
    """Each domain fills in its part of the mutual (claims, closes, patients, votes).

    Claims and closes, when both run, go quarter by quarter (``_claims_and_closes``).
    """
    out = {}
    together = {"claims", "settlement"} <= set(names)
    for name in names:
        module_name = f"mutua.{name}.demo"
        if importlib.util.find_spec(module_name) is None or (together and name == "claims"):
            continue
        with step(f"{name} demo", 1), unit_of_work(engine) as db:
            if together and name == "settlement":
                out.update(_claims_and_closes(db, seed=seed, today=today, actor=actor))
                continue
            module = importlib.import_module(module_name)
            options = {"patients": _kidney_patients(module, members)} if name == "health" else {}
            out[name] = module.build(db, rng=_domain_rng(seed, name), today=today, actor=actor,
                                     **options)
    return out


def _kidney_patients(health_demo, members: int) -> int:
    """One kidney patient per KIDNEY_MEMBERS_PER_PATIENT members, up to the health demo's
    own number: a small demo builds quickly, the default one has its full kidney project."""
    return max(1, min(health_demo.PATIENTS, members // KIDNEY_MEMBERS_PER_PATIENT))


def _domain_rng(seed: int, name: str) -> np.random.Generator:
    """A domain's own random stream: it does not depend on which other domains run."""
    return np.random.default_rng(np.random.SeedSequence([seed, DOMAIN_STEPS.index(name) + 1]))


def _claims_and_closes(db, *, seed: int, today: date, actor: Principal) -> dict:
    """A history as it happens: each quarter's claims, then that quarter's close, so a claim
    is paid on the cover the earlier closes raised; then the open quarter's claims so far."""

    claims_rng = _domain_rng(seed, "claims")
    drawn: list = []
    unpaid: list = []  # payments whose weekly batch falls after the quarter drawn so far

    def claims_of(q: Quarter) -> None:
        drawn.extend(claims_demo.draw(db, rng=claims_rng, today=today, actor=actor,
                                      start=q.start, end=q.end, later=unpaid))

    closes = settlement_demo.build(db, rng=_domain_rng(seed, "settlement"), today=today,
                                   actor=actor, before_close=claims_of)
    # The open quarter up to today; with no end, every payment still waiting is made.
    drawn.extend(claims_demo.draw(db, rng=claims_rng, today=today, actor=actor,
                                  start=Quarter.of(today).start, later=unpaid))
    return {"claims": claims_demo.summary(drawn), "settlement": closes}


# --- schema --------------------------------------------------------------------------------

def drop_database(url: str) -> None:
    """Remove every table (PostgreSQL) or the file (SQLite): `--fresh` starts from nothing."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(path + suffix).unlink(missing_ok=True)
        return
    engine = make_engine(url)
    try:
        from mutua.jobs import queue  # the queue's executor runs kinds, which import this module

        # The queue first: its functions depend on its tables' row types, so dropping the
        # tables alone fails on a database `mutua init` made.
        with engine.begin() as conn:
            queue.drop_schema(conn)
        meta = MetaData()
        meta.reflect(engine)
        # The audit log's partitions go with it; detached (archived) months after it.
        months = [t for t in meta.sorted_tables if partitions.is_partition_table(t.name)]
        meta.drop_all(engine, tables=[t for t in meta.sorted_tables if t not in months])
        with engine.begin() as conn:
            for table in months:
                conn.execute(text(f"DROP TABLE IF EXISTS {table.name}"))
            for sequence in numbering.SEQUENCES.values():  # no table owns them
                sequence.drop(conn, checkfirst=True)
    finally:
        engine.dispose()


def create_schema(url: str) -> None:
    """Alembic migrations to the newest version (what `mutua init` does).

    A database whose tables were made from the models without Alembic (the test suite
    does that) is left as it is.
    """
    from sqlalchemy import inspect

    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    if tables and "alembic_version" not in tables:
        return
    schema.upgrade(url)


# --- progress ------------------------------------------------------------------------------

@contextmanager
def _progress(show: bool, report=None) -> Iterator:
    """``step(label, total)`` context managers that advance a rich bar, tell ``report``, or
    do nothing."""
    if report is not None:
        @contextmanager
        def reported(label: str, total: int):
            done = [0]

            def advance(n: int = 1) -> None:
                done[0] += n
                report(done[0], total, label)

            report(0, total, label)
            yield advance
            report(total, total, label)

        yield reported
        return
    if not show:
        @contextmanager
        def quiet(label: str, total: int):
            yield lambda n=1: None

        yield quiet
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn()) as bar:
        @contextmanager
        def loud(label: str, total: int):
            task = bar.add_task(label, total=total)
            yield lambda n=1: bar.advance(task, n)
            bar.update(task, completed=total)

        yield loud
