"""Languages of the pages: zh-CN by default, English on request.

Every string shown on a page is an English msgid looked up in a gettext catalog under
``web/translations/<locale>/LC_MESSAGES/messages.mo`` (compiled from the ``.po`` beside it;
when the ``.mo`` is missing, the ``.po`` is compiled in memory so a fresh clone works).
Money and dates are formatted by Babel for the locale:

>>> from datetime import date
>>> from decimal import Decimal
>>> format_money(Decimal("1234.5"), "zh_CN"), format_money(Decimal("1234.5"), "en")
('¥1,234.50', 'CN¥1,234.50')
>>> format_date(date(2026, 7, 1), "zh_CN"), format_date(date(2026, 7, 1), "en")
('2026年7月1日', 'Jul 1, 2026')
"""

from __future__ import annotations

import gettext as _gettext
import io
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from mutua.dates import SHANGHAI

TRANSLATIONS = Path(__file__).parent / "translations"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
# How each language names itself on the switcher.
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}

_current: ContextVar[str] = ContextVar("mutua_locale", default=DEFAULT_LOCALE)


def normalise(locale: str | None, default: str = DEFAULT_LOCALE) -> str:
    """A supported locale for a cookie or form value; anything else gives the default."""
    if not locale:
        return default
    text = locale.replace("-", "_")
    if text in LOCALES:
        return text
    if text.lower().startswith("zh"):
        return "zh_CN"
    if text.lower().startswith("en"):
        return "en"
    return default


@lru_cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalog for a locale (cached for the life of the process)."""
    folder = TRANSLATIONS / locale / "LC_MESSAGES"
    mo, po = folder / "messages.mo", folder / "messages.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return _gettext.GNUTranslations(fh)
    if po.exists():
        return _gettext.GNUTranslations(io.BytesIO(compile_po(po)))
    return _gettext.NullTranslations()


def compile_po(po: Path) -> bytes:
    """The .mo bytes of a .po file (what ``pybabel compile`` writes)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def set_locale(locale: str) -> None:
    _current.set(normalise(locale))


def current_locale() -> str:
    return _current.get()


def gettext(message: str, **params) -> str:
    text = translations(_current.get()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params) -> str:
    text = translations(_current.get()).ngettext(singular, plural, n)
    params.setdefault("num", n)
    return text % params


_ = gettext


def babel_locale(locale: str | None = None) -> Locale:
    return Locale.parse(locale or _current.get())


def format_money(amount: Decimal | int | None, locale: str | None = None) -> str:
    """Yuan with the currency sign and thousands separators of the locale."""
    if amount is None:
        return "—"
    return format_currency(Decimal(amount), "CNY", locale=babel_locale(locale))


def format_number(value, locale: str | None = None, digits: int = 0) -> str:
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=babel_locale(locale))


def format_ratio(value, locale: str | None = None) -> str:
    """A share as a percentage with one decimal: 0.6234 -> 62.3%."""
    if value is None:
        return "—"
    return format_percent(Decimal(str(value)), format="#,##0.0%", locale=babel_locale(locale))


def format_date(value: date | datetime | str | None, locale: str | None = None) -> str:
    """A day as the reader writes it; a timestamp (or its ISO text, as JSON-shaped service
    answers carry it) is first taken to its day in Shanghai.

    >>> format_date("2026-03-01T20:00:00+00:00", locale="zh_CN")
    '2026年3月2日'
    """
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI).date()
    return _babel_date(value, format="medium", locale=babel_locale(locale))


def format_datetime(value: datetime | None, locale: str | None = None) -> str:
    """A timestamp shown in Shanghai time, where the mutual works."""
    if value is None:
        return "—"
    return _babel_datetime(value, format="medium", tzinfo=SHANGHAI, locale=babel_locale(locale))


def pick(zh: str | None, en: str | None, locale: str | None = None) -> str:
    """The name of a record in the reader's language (records carry name_zh and name_en)."""
    loc = locale or _current.get()
    if loc == "zh_CN":
        return zh or en or ""
    return en or zh or ""
