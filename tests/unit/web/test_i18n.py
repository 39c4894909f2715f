"""Languages: formats by Babel for the locale, catalogs complete and compiled."""

from __future__ import annotations

import doctest
from datetime import date
from decimal import Decimal

from mutua.web import catalogs, i18n


def test_the_doctests_hold():
    assert doctest.testmod(i18n).failed == 0


def test_money_keeps_its_fen_in_both_languages():
    assert i18n.format_money(Decimal("0.01"), "zh_CN") == "¥0.01"
    assert i18n.format_money(Decimal("-1234567.89"), "en") == "-CN¥1,234,567.89"


def test_dates_read_naturally_in_each_language():
    assert i18n.format_date(date(2026, 12, 31), "zh_CN") == "2026年12月31日"
    assert i18n.format_date(date(2026, 12, 31), "en") == "Dec 31, 2026"


def test_unknown_locales_fall_back_to_chinese():
    assert i18n.normalise("fr") == "zh_CN"
    assert i18n.normalise("en-GB") == "en"
    assert i18n.normalise(None) == "zh_CN"


def test_every_message_has_a_chinese_translation():
    assert catalogs.missing("zh_CN") == []


def _messages(catalog) -> dict:
    """A catalog's meaning: each message id (with its context) and its translation, no headers."""
    return {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)):
            m.string if isinstance(m.string, str) else tuple(m.string)
            for m in catalog if m.id and not m.fuzzy}


def test_the_committed_mo_files_match_their_po_files():
    """The .mo files say what their .po files say. Compared by message, not by bytes: the
    header Babel writes ("Generated-By: Babel 2.18.0") changes with the tool's version."""
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    for locale in i18n.LOCALES:
        folder = i18n.TRANSLATIONS / locale / "LC_MESSAGES"
        with (folder / "messages.mo").open("rb") as mo, (folder / "messages.po").open("rb") as po:
            compiled, source = read_mo(mo), read_po(po)
        translated = {k: v for k, v in _messages(source).items() if v and any(v)}
        assert _messages(compiled) == translated, (
            f"run `python -m mutua.web.catalogs` to recompile {locale}")


def test_lookup_follows_the_current_locale():
    i18n.set_locale("zh_CN")
    assert i18n.gettext("Sign in") == "登录"
    i18n.set_locale("en")
    assert i18n.gettext("Sign in") == "Sign in"
    i18n.set_locale("zh_CN")
