"""Logs that never carry personal data (个人信息): ID numbers, phones, health values.

What a log line may hold: the method, the route, the status, the time taken, record ids.
What it must never hold: a resident ID number (身份证号), a mobile phone number, a request
body, a query string (search terms and calculator inputs travel there), or the parameters of
a SQL statement (they carry names, ID numbers and laboratory values).

:func:`install` enforces this for every logger in the process, including those of uvicorn,
SQLAlchemy and any library, by wrapping the log-record factory: each record is rendered and
masked when it is created, before any handler, formatter or file sees it. It is idempotent
and is called by the application factory; a CLI that logs can call it too.

>>> mask("member 11010519491231002X, phone +86 139 1234 5678")
'member [id-number], phone [phone]'
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

# 18-character resident ID numbers (GB 11643): 17 digits and a digit or X check character.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# Mainland mobiles (1[3-9]x xxxx xxxx), with an optional +86 / 0086 / 86 prefix and spaces or dashes.
PHONE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
# SQLAlchemy errors append the bound parameters of the failed statement.
SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\n|$|\s*\()", re.DOTALL)

_installed = False


def mask(text: str) -> str:
    """``text`` with ID numbers, phone numbers and SQL parameters replaced by placeholders."""
    text = SQL_PARAMETERS.sub("[parameters: hidden]", text)
    text = ID_NUMBER.sub("[id-number]", text)
    return PHONE.sub("[phone]", text)


def _masked_record(record: logging.LogRecord) -> logging.LogRecord:
    if record.name.startswith("sqlalchemy.engine") and record.args:
        # The engine logs each statement's parameters as the record's arguments.
        record.args = tuple("[parameters hidden]" for _ in _as_tuple(record.args))
    if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) >= 3:
        # (client, method, path with query, http version, status): uvicorn's formatter reads
        # the tuple itself, so it stays a tuple; the query string goes, the rest is masked.
        args = list(record.args)
        args[2] = urlsplit(str(args[2])).path
        record.args = tuple(mask(a) if isinstance(a, str) else a for a in args)
        return record
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: keep the template alone, never the arguments
        message = str(record.msg)
    record.msg = mask(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    return record


def _as_tuple(args) -> tuple:
    return args if isinstance(args, tuple) else (args,)


def install() -> None:
    """Mask personal data in every log record created from now on, in any logger (idempotent)."""
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        return _masked_record(make_record(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True


class PiiFilter(logging.Filter):
    """The same masking as a filter, for a handler configured by ``logging.config``.

    ``install()`` already covers every logger; the filter is for deployments that build their
    own logging config (``"filters": {"pii": {"()": "mutua.ops.logs.PiiFilter"}}``).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        _masked_record(record)
        return True
