"""Rendering pages: one Jinja2 environment with gettext, Babel formats and the menu by role."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse

from mutua.auth.roles import Role
from mutua.web import i18n, refill
from mutua.web.refill import Refused
from mutua.web.session import CSRF_FIELD, POSTED_FORM, ensure_csrf, write_session

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Section:
    """One part of the staff console and the roles that may open it (admin sees all)."""

    key: str
    path: str
    label: str  # an English msgid
    roles: frozenset[Role]

    def open_to(self, role: Role) -> bool:
        return role is Role.ADMIN or role in self.roles


def _roles(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


# Labels are msgids; the marker makes `pybabel extract` find them.
def N_(message: str) -> str:
    return message


STAFF_SECTIONS = (
    Section("dashboard", "/staff", N_("Dashboard"),
            _roles(Role.FINANCE, Role.ACTUARY, Role.UNDERWRITER)),
    Section("members", "/staff/members", N_("Members"),
            _roles(Role.UNDERWRITER, Role.CLAIMS, Role.CARE, Role.FINANCE, Role.ACTUARY)),
    Section("claims", "/staff/claims", N_("Claims"), _roles(Role.CLAIMS)),
    Section("close", "/staff/close", N_("Quarterly close"), _roles(Role.FINANCE, Role.ACTUARY)),
    Section("catalog", "/staff/catalog", N_("Catalogue"), _roles(Role.UNDERWRITER, Role.ACTUARY)),
    Section("reserving", "/staff/actuarial", N_("Reserving"), _roles(Role.ACTUARY)),
    Section("pricing", "/staff/governance/pricing", N_("Pricing"), _roles(Role.ACTUARY)),
    Section("finance", "/staff/finance", N_("Ledger and expenses"), _roles(Role.FINANCE)),
    Section("premiums", "/staff/premiums", N_("Premiums and collection"), _roles(Role.FINANCE)),
    Section("reinsurance", "/staff/reinsurance", N_("Reinsurance and solvency"),
            _roles(Role.FINANCE, Role.ACTUARY)),
    Section("governance", "/staff/governance", N_("Governance"), _roles(Role.SECRETARY)),
    Section("care", "/staff/care", N_("Care alerts"), _roles(Role.CARE)),
    Section("complaints", "/staff/complaints", N_("Complaints"),
            _roles(Role.CLAIMS, Role.SECRETARY)),
    Section("meetings", "/staff/meetings", N_("Meetings"), _roles(Role.SECRETARY)),
    Section("jobs", "/staff/jobs", N_("Jobs"),
            _roles(Role.FINANCE, Role.CLAIMS, Role.UNDERWRITER, Role.CARE)),
    Section("audit", "/staff/audit", N_("Audit log"), _roles()),
)
SECTIONS = {s.key: s for s in STAFF_SECTIONS}

MEMBER_MENU = (
    ("home", "/me", N_("My policies")),
    ("inbox", "/me/inbox", N_("Messages")),
    ("enrol", "/me/enrol", N_("Join a product")),
    ("premiums", "/me/premiums", N_("My premiums")),
    ("claims", "/me/claims", N_("My claims")),
    ("statements", "/me/statements", N_("Statements")),
    ("accounts", "/me/accounts", N_("Accounts")),
    ("vote", "/me/governance", N_("Have your say")),
    ("health", "/me/health", N_("Kidney health")),
    ("complaints", "/me/complaints", N_("Complaints")),
    ("privacy", "/me/privacy", N_("Your data")),
)


@lru_cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    env.filters.update(
        money=lambda v: i18n.format_money(v),
        date=lambda v: i18n.format_date(v),
        datetime=lambda v: i18n.format_datetime(v),
        number=lambda v, digits=0: i18n.format_number(v, digits=digits),
        ratio=lambda v: i18n.format_ratio(v),
        urlquote=lambda v: quote(str(v), safe=""),
        pager_query=_pager_query,
        money_text=lambda v: i18n.format_money(Decimal(v)) if v not in (None, "") else "—",
        ratio_text=lambda v: i18n.format_ratio(v) if v not in (None, "") else "—",
    )
    env.globals.update(pick=i18n.pick, LANGUAGE_NAMES=i18n.LANGUAGE_NAMES, CSRF_FIELD=CSRF_FIELD,
                       N_=N_)
    from mutua.web import problems  # imports this module: load it once the module is ready

    env.filters["describe"] = problems.describe  # a Problem as a line in the reader's language
    env.filters["reason_words"] = problems.reason_words  # a stored reason, translated
    env.globals["word"] = word
    return env


def word(table: str, code) -> str:
    """A stored code in the reader's words, from the table of that name in mutua.web.labels:
    ``word("EXCLUSIONS", "drunk_driving")`` -> "酒后驾驶" in Chinese; an unknown code shows
    as itself."""
    from mutua.web import labels  # it imports this module (its tables are words: N_)

    msgid = getattr(labels, table).get(code)
    return i18n.gettext(msgid) if msgid else str(code)


def _pager_query(params, offset: int) -> str:
    """The query string of this page with another offset."""
    items = [(k, v) for k, v in params.multi_items() if k != "offset"]
    items.append(("offset", str(max(offset, 0))))
    return urlencode(items)


def use_locale(request: Request) -> str:
    locale = getattr(request.state, "locale", None) or i18n.DEFAULT_LOCALE
    i18n.set_locale(locale)
    return locale


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    """A page in the reader's language, with the menu their role may see."""
    locale = use_locale(request)
    principal = getattr(request.state, "principal", None)
    csrf = ensure_csrf(request)
    menu = []
    if principal is not None and principal.is_staff:
        menu = [(s.key, s.path, s.label) for s in STAFF_SECTIONS if s.open_to(principal.role)]
    elif principal is not None:
        menu = list(MEMBER_MENU)
    html = environment().get_template(template).render(
        request=request,
        principal=principal,
        locale=locale,
        html_lang="zh-CN" if locale == "zh_CN" else "en",
        csrf_token=csrf,
        menu=menu,
        unread=getattr(request.state, "unread", 0),
        current_path=request.url.path,
        **context,
    )
    refused = _refused(request, status_code, context.get("problems"))
    if refused is not None:
        html = _refilled(html, refused)
    response = HTMLResponse(html, status_code=status_code)
    if getattr(request.state, "session_dirty", False):
        write_session(response, request, request.state.session)
    return response


REFUSED = "mutua.refused"  # set on the scope of a page rendered again for a refused form


def _refused(request: Request, status_code: int, problems):
    """The refused form this page shows again, if any (mutua.web.refill)."""

    refused = request.scope.get(REFUSED)
    if refused is not None:
        return refused
    if request.method != "POST" or status_code < 400 or not getattr(problems, "problems", None):
        return None
    return Refused(action=request.url.path, values=request.scope.get(POSTED_FORM, []),
                   problems=problems.problems, summary=False)


def _refilled(html: str, refused) -> str:
    from mutua.web import problems  # it imports this module

    return refill.refill(html, refused, problem_words=problems.problem_words,
                         describe=problems.describe)


def redirect(path: str, status_code: int = 303) -> RedirectResponse:
    return RedirectResponse(path, status_code=status_code)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths may follow a sign-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
