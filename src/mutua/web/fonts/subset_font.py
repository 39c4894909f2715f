"""Rebuild the statement font: Noto Sans CJK SC cut down to GB 2312 and Latin.

    python src/mutua/web/fonts/subset_font.py /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

The source is Debian's fonts-noto-cjk (SIL Open Font License 1.1, see OFL.txt). The subset
keeps every GB 2312 character (6,763 hanzi: nearly every name and address), ASCII,
Latin-1, general and CJK punctuation and full-width forms, and is renamed "Mutua Sans SC"
as the licence asks of modified versions. PDFs embed only the glyphs they use.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

OUT = Path(__file__).with_name("MutuaSansSC-Regular.otf")
FAMILY = "Mutua Sans SC"


def characters() -> str:
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                chars.add(bytes([hi, lo]).decode("gb2312"))
    for lo, hi in ((0x20, 0x7F), (0xA0, 0x180), (0x2000, 0x206F), (0x2100, 0x2150),
                   (0x2190, 0x21A0), (0x2200, 0x2270), (0x3000, 0x3040), (0xFF00, 0xFFEF)):
        chars.update(chr(c) for c in range(lo, hi))
    return "".join(sorted(chars))


def build(source: str, out: Path = OUT) -> None:
    fonts = TTCollection(source).fonts
    font = next(f for f in fonts if f["name"].getDebugName(4) == "Noto Sans CJK SC")
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters())
    subsetter.subset(font)
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 4, 16):
            names.setName(FAMILY, record.nameID, record.platformID, record.platEncID,
                          record.langID)
        elif record.nameID == 6:
            names.setName("MutuaSansSC-Regular", 6, record.platformID, record.platEncID,
                          record.langID)
    font["CFF "].cff.fontNames = ["MutuaSansSC-Regular"]
    font.save(out)


if __name__ == "__main__":
    build(sys.argv[1])
