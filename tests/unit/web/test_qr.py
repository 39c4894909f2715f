"""The ballot receipt's QR code holds the receipt and the secret, readable as text."""

import segno

from mutua.web.qr import ballot_receipt_qr, ballot_receipt_text


def test_the_code_holds_both_lines_and_fits_a_phone_screen():
    receipt, secret = "ab" * 32, "cd" * 32
    text = ballot_receipt_text(proposal_id=12, receipt=receipt, secret=secret)
    assert text.splitlines() == ["mutua ballot", "proposal 12", f"receipt {receipt}",
                                 f"secret {secret}"]
    # 169 bytes: version 9 (53 modules a side) at level M holds up to 180 bytes
    # (ISO/IEC 18004:2015 table 7), small enough to scan off a 360 px screen
    code = segno.make_qr(text, error="m")
    assert len(text.encode()) == 169 and code.version == 9
    svg = str(ballot_receipt_qr(proposal_id=12, receipt=receipt, secret=secret, title="回执"))
    assert svg.startswith('<svg viewBox=') and "<title>回执</title>" in svg
