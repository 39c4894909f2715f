"""What the SMS and e-mail senders share: the failure that says whether to retry, and the
console writer that keeps messages in a JSON-lines file instead of sending them."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path


class SendFailed(RuntimeError):
    """The message was not accepted; ``retry`` says whether trying again may help."""

    def __init__(self, reason: str, *, retry: bool = True):
        super().__init__(reason)
        self.retry = retry


@dataclass
class ConsoleFile:
    """Appends each message as one JSON line to ``path`` (if any) and keeps it in ``sent``."""

    path: Path | None = None
    sent: list[dict] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def write(self, line: dict) -> None:
        with self._lock:
            self.sent.append(line)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")


def read_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
