"""The payment-provider interface: where a member pays online, how a refund goes back, and
how the provider's callbacks are told from forgeries.

A real provider (WeChat Pay, Alipay, a bank's gateway) implements :class:`PaymentProvider`;
the fake one stands in for the demo and the tests and pays at once. Either way the
callback is a JSON body signed with HMAC-SHA256 under ``settings.payment_callback_secret``
(header ``X-Signature``), carrying a nonce and a Unix timestamp so that a replay is refused
(premiums.service.receive_callback).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from mutua.errors import Forbidden, ValidationFailed
from mutua.payments import domain
from mutua.settings import Settings, get_settings


@dataclass(frozen=True)
class Checkout:
    """Where the member pays: the provider's order and the page to send them to."""

    provider: str
    order_id: str
    reference: str
    amount: Decimal
    pay_url: str


class PaymentProvider(Protocol):
    name: str

    def checkout(self, *, project_code: str, reference: str, amount: Decimal) -> Checkout: ...

    def refund(self, *, project_id: int, reference: str, amount: Decimal) -> str:
        """Send ``amount`` back to the payer; the provider's refund id."""
        ...


class FakeProvider:
    """Pays and refunds at once; builds the signed callback a real provider would send."""

    name = "fake"

    def checkout(self, *, project_code: str, reference: str, amount: Decimal) -> Checkout:
        order = f"FAKE-{secrets.token_hex(8)}"
        return Checkout(self.name, order, reference, amount,
                        f"/me/premiums/pay/{order}")

    def refund(self, *, project_id: int, reference: str, amount: Decimal) -> str:
        return f"FAKE-R-{secrets.token_hex(8)}"

    @staticmethod
    def callback(secret: str, *, project_code: str, reference: str, amount: Decimal,
                 paid_on: str, member_number: str = "", transaction_id: str | None = None,
                 now: int | None = None) -> tuple[bytes, str]:
        """The body and signature the provider sends when a member has paid (it echoes the
        member number the checkout attached to the order)."""
        body = json.dumps({
            "transaction_id": transaction_id or f"FAKE-T-{secrets.token_hex(8)}",
            "project": project_code, "reference": reference, "amount": str(amount),
            "member_number": member_number,
            "paid_on": paid_on, "nonce": secrets.token_hex(16),
            "timestamp": int(now if now is not None else time.time())},
            separators=(",", ":")).encode()
        return body, domain.sign(secret, body)


PROVIDERS: dict[str, PaymentProvider] = {"fake": FakeProvider()}


def get(name: str) -> PaymentProvider:
    provider = PROVIDERS.get(name)
    if provider is None:
        raise ValidationFailed("provider", "must be one of %(choices)s", choices=", ".join(sorted(PROVIDERS)))
    return provider


def callback_secret(settings: Settings | None = None) -> str:
    """The secret callbacks are verified with; refused outright when none is set."""
    secret = (settings or get_settings()).payment_callback_secret
    if not secret or len(secret) < 32:
        raise Forbidden("payment callbacks are refused: MUTUA_PAYMENT_CALLBACK_SECRET is not "
                        "set to a secret of at least 32 characters")
    return secret
