"""QR codes drawn as inline SVG (segno: pure Python, ISO/IEC 18004), for things a member
keeps on a phone, such as a ballot receipt and its secret.

>>> "<svg" in ballot_receipt_qr(proposal_id=5, receipt="ab" * 32, secret="cd" * 32)
True
"""

from __future__ import annotations

import segno
from markupsafe import Markup


def ballot_receipt_text(*, proposal_id: int, receipt: str, secret: str) -> str:
    """What the code holds: plain lines a phone's camera shows and saves as they are."""
    return f"mutua ballot\nproposal {proposal_id}\nreceipt {receipt}\nsecret {secret}"


def ballot_receipt_qr(*, proposal_id: int, receipt: str, secret: str,
                      title: str = "") -> Markup:
    """The receipt and secret as one QR code (error correction M: readable off a screen
    photo with a smudge), sized by the page's CSS."""
    code = segno.make_qr(ballot_receipt_text(proposal_id=proposal_id, receipt=receipt,
                                             secret=secret), error="m")
    # segno writes only its own path data and the escaped title: safe to inline.
    return Markup(code.svg_inline(scale=4, svgclass="qr", title=title or None,
                                  omitsize=True))
