"""China's public holidays and adjusted working days, as the State Council published them.

Source for 2026: 国务院办公厅关于2026年部分节假日安排的通知 (General Office of the State
Council, 4 November 2025; Xinhua, published e.g. at politics.gmw.cn/2025-11/04/
content_38391083.htm):

- 元旦 1 Jan (Thu) to 3 Jan (Sat); 4 Jan (Sun) worked.
- 春节 15 Feb (Sun) to 23 Feb (Mon); 14 Feb (Sat) and 28 Feb (Sat) worked.
- 清明节 4 Apr (Sat) to 6 Apr (Mon).
- 劳动节 1 May (Fri) to 5 May (Tue); 9 May (Sat) worked.
- 端午节 19 Jun (Fri) to 21 Jun (Sun).
- 中秋节 25 Sep (Fri) to 27 Sep (Sun).
- 国庆节 1 Oct (Thu) to 7 Oct (Wed); 20 Sep (Sun) and 10 Oct (Sat) worked.

2027: no notice could be found when this was written (December 2026); staff add it with
``mutua calendar add`` (or the API) once it is published.

Every day of each holiday span is listed, weekends included: the table says what the notice
says, and a weekend day in it is a day off either way.
"""

from __future__ import annotations

from datetime import date, timedelta

from mutua.complaints.calendar import HOLIDAY, WORKDAY

SOURCE_2026 = "国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04)"


def _span(first: date, last: date, name: str) -> list[tuple[date, str, str]]:
    return [(first + timedelta(days=k), HOLIDAY, name) for k in range((last - first).days + 1)]


SCHEDULE_2026: tuple[tuple[date, str, str], ...] = tuple(
    _span(date(2026, 1, 1), date(2026, 1, 3), "元旦")
    + [(date(2026, 1, 4), WORKDAY, "元旦调休")]
    + _span(date(2026, 2, 15), date(2026, 2, 23), "春节")
    + [(date(2026, 2, 14), WORKDAY, "春节调休"), (date(2026, 2, 28), WORKDAY, "春节调休")]
    + _span(date(2026, 4, 4), date(2026, 4, 6), "清明节")
    + _span(date(2026, 5, 1), date(2026, 5, 5), "劳动节")
    + [(date(2026, 5, 9), WORKDAY, "劳动节调休")]
    + _span(date(2026, 6, 19), date(2026, 6, 21), "端午节")
    + _span(date(2026, 9, 25), date(2026, 9, 27), "中秋节")
    + _span(date(2026, 10, 1), date(2026, 10, 7), "国庆节")
    + [(date(2026, 9, 20), WORKDAY, "国庆节调休"), (date(2026, 10, 10), WORKDAY, "国庆节调休")]
)

SEED = tuple((day, kind, name, SOURCE_2026) for day, kind, name in SCHEDULE_2026)
