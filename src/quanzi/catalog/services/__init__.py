"""Writes of the catalog domain, by part: products and SKUs, stock, shipping templates."""
