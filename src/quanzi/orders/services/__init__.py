"""Every write of the orders app: checkout, payment application, fulfilment, after-sales."""
