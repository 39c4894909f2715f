"""Statement PDFs (fpdf2) whose Chinese text renders on any machine.

The font ships in the package (``web/fonts/MutuaSansSC-Regular.otf``, a GB 2312 subset of
Noto Sans CJK SC under the SIL OFL). Characters outside it (a rare name) fall back to a
full Noto Sans CJK found on the machine, if there is one. Without the shipped font the
PDF refuses plainly rather than print empty boxes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF

FONTS = Path(__file__).parent / "fonts"
SHIPPED_FONT = FONTS / "MutuaSansSC-Regular.otf"
# Where Debian, Fedora and Alpine put a full CJK font (used only for missing characters).
SYSTEM_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
)


class FontMissing(RuntimeError):
    """The CJK font the PDFs need is not installed with the package."""


def font_path() -> Path:
    if SHIPPED_FONT.exists():
        return SHIPPED_FONT
    raise FontMissing(
        f"the statement font {SHIPPED_FONT} is missing: reinstall mutua, or rebuild it with "
        f"{FONTS / 'subset_font.py'} from Noto Sans CJK")


@dataclass
class Section:
    heading: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""


@dataclass
class Document:
    """A printable statement: already translated and formatted strings only."""

    title: str
    subtitle: str
    sections: list[Section]
    footer: str = ""


@lru_cache(maxsize=1)
def shipped_characters() -> frozenset[int]:
    """The code points the shipped font draws."""
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(str(font_path()), lazy=True).getBestCmap())


def missing_characters(doc: Document) -> set[str]:
    """Characters of the document the shipped font cannot draw (a rare name, say)."""
    texts = [doc.title, doc.subtitle, doc.footer]
    for section in doc.sections:
        texts += [section.heading, section.note, *(t for row in section.rows for t in row)]
    have = shipped_characters()
    return {ch for text in texts for ch in text if not ch.isspace() and ord(ch) not in have}


def render_pdf(doc: Document) -> bytes:
    """The PDF bytes of a document, A4 portrait, label and value in two columns."""
    pdf = FPDF(format="A4")
    pdf.set_title(doc.title)
    pdf.set_creator("mutua")
    pdf.add_font("cjk", fname=str(font_path()))
    fallback = next((p for p in SYSTEM_FONTS if p.exists()), None)
    if fallback is not None and missing_characters(doc):
        # Parsing the full font costs ~0.4 s: only for the rare text the subset lacks.
        pdf.add_font("cjk-full", fname=str(fallback), collection_font_number=2)
        pdf.set_fallback_fonts(["cjk-full"])
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.epw
    pdf.set_font("cjk", size=18)
    pdf.multi_cell(width, 10, doc.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=11)
    pdf.multi_cell(width, 7, doc.subtitle, new_x="LMARGIN", new_y="NEXT")
    for section in doc.sections:
        pdf.ln(4)
        pdf.set_font("cjk", size=13)
        pdf.multi_cell(width, 8, section.heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(120, 120, 120)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.set_font("cjk", size=11)
        for label, value in section.rows:
            pdf.cell(width * 0.62, 7, label)
            pdf.cell(width * 0.38, 7, value, align="R", new_x="LMARGIN", new_y="NEXT")
        if section.note:
            pdf.set_font("cjk", size=9)
            pdf.multi_cell(width, 5, section.note, new_x="LMARGIN", new_y="NEXT")
    if doc.footer:
        pdf.ln(6)
        pdf.set_font("cjk", size=9)
        pdf.multi_cell(width, 5, doc.footer, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
