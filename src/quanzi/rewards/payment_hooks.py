"""The rewards app hears of payments and refunds here (registered at start-up, after the
orders app, so the order is already paid or its refund counted)."""

from __future__ import annotations

from quanzi.payments import hooks
from quanzi.rewards.services.purchases import crystals_on_payment, crystals_on_refund

hooks.on_payment_succeeded(crystals_on_payment)
hooks.on_refund_succeeded(crystals_on_refund)
