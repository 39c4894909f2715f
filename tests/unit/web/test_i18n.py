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


def test_the_committed_mo_files_match_their_po_files():
    for locale in i18n.LOCALES:
        folder = i18n.TRANSLATIONS / locale / "LC_MESSAGES"
        assert (folder / "messages.mo").read_bytes() == i18n.compile_po(folder / "messages.po"), (
            f"run `python -m mutua.web.catalogs` to recompile {locale}"
        )


def test_lookup_follows_the_current_locale():
    i18n.set_locale("zh_CN")
    assert i18n.gettext("Sign in") == "登录"
    i18n.set_locale("en")
    assert i18n.gettext("Sign in") == "Sign in"
    i18n.set_locale("zh_CN")
