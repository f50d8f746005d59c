"""QR codes for invitation links, drawn as inline SVG (no image files, no network)."""

from __future__ import annotations

import qrcode
from django.utils.html import format_html
from django.utils.safestring import SafeString

BORDER = 2  # modules of white around the code; scanners need some


def svg(text: str, *, label: str = "") -> SafeString:
    """A square SVG of ``text`` as a QR code: one path, crisp at any size, printable."""
    code = qrcode.QRCode(border=BORDER, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    size = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    return format_html(
        '<svg class="qr" viewBox="0 0 {size} {size}" xmlns="http://www.w3.org/2000/svg" '
        'role="img" aria-label="{label}" shape-rendering="crispEdges">'
        '<rect width="{size}" height="{size}" fill="#fff"/>'
        '<path fill="#17231f" d="{path}"/></svg>',
        size=size,
        label=label or text,
        path="".join(runs),
    )
