"""Statement PDFs: Chinese text is embedded with a real font and reads back as written."""

from __future__ import annotations

import io

import pytest

from mutua.web import pdf


def _text(data: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(data))
    # fpdf2 maps glyphs to UTF-16 code units; pypdf leaves their zero bytes in.
    text = "".join(page.extract_text() for page in reader.pages)
    return text.replace("\x00", "").replace(" ", "")


def test_chinese_statement_text_renders_and_reads_back():
    doc = pdf.Document(
        title="2026年第三季度会员账单", subtitle="会员号 M000001 · 张晓燕",
        sections=[pdf.Section("项目资金池", [("本季度已赚保费", "¥1,234,567.89"),
                                             ("赔款支出", "¥456,789.01")], note="结余用于提升保额。")],
        footer="互助相互保险社")
    data = pdf.render_pdf(doc)
    assert data.startswith(b"%PDF")
    text = _text(data)
    for expected in ("2026年第三季度会员账单", "张晓燕", "本季度已赚保费", "¥1,234,567.89",
                     "结余用于提升保额"):
        assert expected in text
    assert b"MutuaSansSC" in data  # the shipped font is embedded, not a stand-in


def test_a_missing_font_is_refused_plainly(monkeypatch, tmp_path):
    monkeypatch.setattr(pdf, "SHIPPED_FONT", tmp_path / "absent.otf")
    with pytest.raises(pdf.FontMissing, match="statement font"):
        pdf.render_pdf(pdf.Document(title="x", subtitle="y", sections=[]))


def test_a_rare_character_outside_the_shipped_font_is_found():
    doc = pdf.Document(title="账单", subtitle="会员 𠀀", sections=[pdf.Section("标题", [("甲", "乙")])])
    assert pdf.missing_characters(doc) == {"𠀀"}
