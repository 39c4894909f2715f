"""Reading an uploaded .xlsx in a child process with a ceiling on its memory and CPU time.

An .xlsx is a zip of XML. A 5.4 MiB workbook (a zip bomb: a sheet of millions of cells that
compress to nothing, or two cells at A1 and XFD1048576, which calamine lays out as a dense
grid of 17 billion) took the server to 4.1 GB and 29 seconds. So, before reading a row:

1. the zip's directory is checked (:func:`check_archive`): at most ``MAX_ENTRIES`` parts,
   which unpack to at most ``max_unpacked`` bytes by their declared sizes;
2. the workbook is read by calamine (Rust; openpyxl read 1,100 rows a second) in a child
   process that first lowers its own address-space and CPU limits (``resource.setrlimit``),
   so a file that lies about its sizes, or one calamine blows up in ways no check foresaw,
   kills the child and not the server: the upload gets a 422;
3. the child refuses a sheet taller than the row limit before converting it, and sends the
   rows back in batches as they are read (marshal over a pipe); the parent counts them and
   stops reading at the limit.

Run as ``python -m mutua.members.xlsx_reader MEMORY_BYTES CPU_SECONDS MAX_ROWS`` with the
workbook on standard input (that is how :func:`read_rows` starts it).
"""

from __future__ import annotations

import io
import marshal
import os
import struct
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import date

from mutua.errors import ValidationFailed

MAX_ENTRIES = 1_000  # parts of one workbook: a sheet, its strings, styles, relations...
BATCH = 5_000  # rows per message from the child
_HEADER = struct.Struct("<q")  # a batch's length; -1 = the sheet has too many rows
TOO_TALL = -1
WALL_SECONDS = 300  # beyond the child's CPU limit, in case it waits on something else


def check_archive(data: bytes, *, max_unpacked: int) -> None:
    """Refuse a workbook whose zip directory promises too much, before anything is unpacked."""
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ValidationFailed("file", "is not a readable .xlsx workbook (%(detail)s)",
                               detail="BadZipFile") from None
    if len(entries) > MAX_ENTRIES:
        raise ValidationFailed("file", "holds %(parts)s parts; a workbook has at most %(limit)s",
                               parts=f"{len(entries):,}", limit=f"{MAX_ENTRIES:,}")
    unpacked = sum(e.file_size for e in entries)
    if unpacked > max_unpacked:
        raise ValidationFailed("file", "unpacks to %(size)s bytes, more than the %(limit)s "
                                       "allowed; split it or save it as CSV",
                                       size=f"{unpacked:,}", limit=f"{max_unpacked:,}")


def read_rows(data: bytes, *, max_rows: int, memory_bytes: int,
              cpu_seconds: int) -> Iterator[list[str]]:
    """The first sheet's rows as text (the header first), read in a limited child process.

    Stops with ValidationFailed("file", ...) when the sheet has more than ``max_rows`` rows
    after the header, or when reading it would pass the child's limits."""
    child = subprocess.Popen(
        [sys.executable, "-m", "mutua.members.xlsx_reader", str(memory_bytes),
         str(cpu_seconds), str(max_rows + 1)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    try:
        _feed(child, data)
        seen = 0
        while (batch := _next_batch(child.stdout)) is not None:
            if batch is TOO_TALL or seen + len(batch) > max_rows + 1:
                raise ValidationFailed("file", "has more than %(limit)s rows; split it",
                                       limit=f"{max_rows:,}")
            seen += len(batch)
            yield from batch
        if child.wait(timeout=WALL_SECONDS) != 0:
            raise _refusal(child)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdout, child.stderr):
            stream.close()


def _feed(child: subprocess.Popen, data: bytes) -> None:
    try:
        child.stdin.write(data)
        child.stdin.close()
    except BrokenPipeError:  # the child died before reading it all: said below
        pass


def _next_batch(stream) -> list[list[str]] | int | None:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    if size == TOO_TALL:
        return TOO_TALL
    return marshal.loads(stream.read(size))


def _refusal(child: subprocess.Popen) -> ValidationFailed:
    said = child.stderr.read().decode("utf-8", "replace").strip().splitlines()
    last = said[-1] if said else ""
    if last.startswith("unreadable:"):
        return ValidationFailed("file", "is not a readable .xlsx workbook (%(detail)s)",
                                detail=last[11:].strip())
    # Killed (out of memory, out of CPU time) or aborted by calamine's allocator.
    return ValidationFailed("file", "needs more memory or time to read than an upload may "
                                    "use (a sheet far larger than its file); split it or save "
                                    "it as CSV")


# --- the child ------------------------------------------------------------------------------

def cell_text(value: object) -> str:
    """Excel keeps long digit strings as numbers; give them back as digits, not 1.38e10."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _child(memory_bytes: int, cpu_seconds: int, max_rows: int) -> int:
    _lower_limit("RLIMIT_AS", memory_bytes)
    _lower_limit("RLIMIT_CPU", cpu_seconds)
    import python_calamine

    out = sys.stdout.buffer
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(sys.stdin.buffer.read()))
        sheet = workbook.get_sheet_by_index(0)
    except MemoryError:
        raise
    except Exception as exc:  # calamine's ZipError, XmlError, CalamineError and the like
        print(f"unreadable: {type(exc).__name__}", file=sys.stderr)
        return 2
    if sheet.height > max_rows:
        out.write(_HEADER.pack(TOO_TALL))
        return 0
    batch = []
    for row in sheet.iter_rows():
        batch.append([cell_text(v) for v in row])
        if len(batch) == BATCH:
            _send(out, batch)
            batch = []
    _send(out, batch)
    return 0


def _lower_limit(name: str, value: int) -> None:
    """Lower a resource limit of this process (never above what it was given)."""
    import resource

    which = getattr(resource, name)
    _soft, hard = resource.getrlimit(which)
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(which, (value, hard if hard != resource.RLIM_INFINITY else value))


def _send(out, batch: list[list[str]]) -> None:
    if batch:
        body = marshal.dumps(batch)
        out.write(_HEADER.pack(len(body)) + body)
        out.flush()


if __name__ == "__main__":
    sys.exit(_child(*(int(a) for a in sys.argv[1:4])))
