"""Keep the page translations in step with the templates and code.

    python -m mutua.web.catalogs          # extract msgids, update each .po, compile each .mo
    python -m mutua.web.catalogs --check  # exit 1 if a Chinese translation is missing or stale

Msgids are English. ``en`` leaves most msgstr empty (gettext falls back to the msgid);
``zh_CN`` must translate every one: the check is part of the tests.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from mutua.web.i18n import LOCALES, TRANSLATIONS, compile_po

WEB = Path(__file__).parent
SRC = WEB.parent  # src/mutua: the pages and every service whose refusals a page shows
POT = TRANSLATIONS / "messages.pot"
# Calls whose argument (counted from 1) is a msgid: marked strings, and the rule or message
# template of each refusal where it is raised (mutua.errors).
KEYWORDS = ("N_", "ValidationFailed:2", "Problem:2", "add:2", "bad:2", "refuse:3",
            "Conflict:1", "NotFound:1", "Forbidden:1", "BrokenRule:1", "Worded:1",
            "TooManyCodes:1", "SmsNotSent:1", "TooLarge:2")
# Every locale whose catalog must translate every msgid.
COMPLETE = ("zh_CN",)


_NOISE = ("Skipping f-string with substitutions", "Empty msgid")


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract() -> None:
    keywords = [arg for k in KEYWORDS for arg in ("-k", k)]
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        _pybabel("extract", "-F", str(WEB / "babel.cfg"), *keywords, "--no-location",
                 "--sort-output", "--project", "mutua", "-o", str(POT), str(SRC))
    for line in said.getvalue().splitlines():
        # pybabel notes every f-string among a call's values (a field path, a value given to
        # a template): not a rule; an f-string rule is refused by tests/unit/web/test_problems.py
        if not any(noise in line for noise in _NOISE):
            print(line, file=sys.stderr)


def update() -> None:
    for locale in LOCALES:
        po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        if po.exists():
            _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", locale,
                     "--no-fuzzy-matching", "--ignore-obsolete")
        else:
            _pybabel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", locale)


def compile_all() -> None:
    for locale in LOCALES:
        folder = TRANSLATIONS / locale / "LC_MESSAGES"
        (folder / "messages.mo").write_bytes(compile_po(folder / "messages.po"))


def missing(locale: str) -> list[str]:
    """Msgids of the template that the locale's catalog does not translate."""
    with POT.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        done = {m.id for m in read_po(fh) if m.id and m.string and not m.fuzzy}
    return sorted(str(w) for w in wanted - done)


def main(argv: list[str]) -> int:
    if "--check" in argv:
        problems = [(loc, m) for loc in COMPLETE for m in missing(loc)]
        for loc, m in problems:
            print(f"{loc}: untranslated: {m}")
        return 1 if problems else 0
    extract()
    update()
    compile_all()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
