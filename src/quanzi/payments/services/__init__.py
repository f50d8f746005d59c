"""Every write of the payments app: start, confirm, notifications, reconciliation, refunds."""
