"""The QR poster a sharer posts in WeChat groups and moments: a cover, the product and its
price (or the community), who recommends it, and a QR code of their personal link.

Products have no photos yet, so the cover is drawn in the product's colour, as the shop's
cover tiles are. Chinese needs a CJK font: ``QUANZI_POSTER_FONT`` names one, else a few usual
places are searched; without any, Pillow's own font draws what it can and nothing fails.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import astuple, dataclass
from functools import cache
from pathlib import Path

import qrcode
from PIL import Image, ImageChops, ImageDraw, ImageFont

FONT_ENV = "QUANZI_POSTER_FONT"
# Bump when the drawing changes, so browsers do not keep an old picture.
VERSION = "1"
WIDTH, HEIGHT = 750, 1200
MARGIN = 32  # around the white card
PAD = 48  # inside the card
COVER_HEIGHT = 480
QR_SIZE = 232

FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/System/Library/Fonts",
    "/Library/Fonts",
)
# Regular faces with Simplified Chinese, best first.
FONT_PATTERNS = (
    "NotoSansCJK-Regular.tt?",
    "NotoSansCJKsc-Regular.otf",
    "NotoSansSC-Regular.*",
    "SourceHanSansSC-Regular.otf",
    "SourceHanSans-Regular.tt?",
    "wqy-microhei.tt?",
    "wqy-zenhei.tt?",
    "DroidSansFallbackFull.ttf",
    "DroidSansFallback.ttf",
    "PingFang.ttc",
    "NotoSansCJK*.tt?",
)

INK = (23, 35, 31)
MUTED = (116, 130, 125)
PRICE = (217, 72, 15)
PAGE = (233, 238, 236)
JADE = ((22, 151, 124), (10, 82, 68))
# The shop's cover colours (h5.css .tone-0 ... .tone-5), light to dark.
TONES = (
    ((77, 171, 247), (24, 100, 171)),
    ((255, 169, 77), (217, 72, 15)),
    ((99, 230, 190), (12, 133, 153)),
    ((177, 151, 252), (103, 65, 217)),
    ((249, 199, 79), (183, 121, 31)),
    ((255, 135, 135), (194, 37, 92)),
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Poster:
    """What a poster says; every word already in the reader's language."""

    title: str  # the product, or the community for a community link
    subtitle: str  # the product's category, or the community's description
    price: str  # "¥68.00", empty for a community link
    sharer: str  # the sharer's display name
    recommends: str  # "推荐给你"
    community: str
    hint: str  # "长按识别二维码"
    url: str  # what the QR code holds
    initial: str  # the letter on the cover
    tone: int | None  # a product's cover colour; None: the community's jade
    badge: str = ""  # on the cover, top left


# --- Fonts -------------------------------------------------------------------------------------


def _search(patterns: tuple[str, ...]) -> str | None:
    for pattern in patterns:
        for folder in FONT_DIRS:
            root = Path(folder).expanduser()
            if not root.is_dir():
                continue
            found = sorted(root.rglob(pattern))
            if found:
                return str(found[0])
    return None


@cache
def font_path() -> str | None:
    """The CJK font posters are drawn with, or None (Pillow's default font)."""
    configured = os.environ.get(FONT_ENV, "").strip()
    if configured and Path(configured).is_file():
        return configured
    return _search(FONT_PATTERNS)


def _bold_path(regular: str) -> str:
    for a, b in (("Regular", "Bold"), ("regular", "bold")):
        if a in regular:
            candidate = regular.replace(a, b)
            if Path(candidate).is_file():
                return candidate
    return regular


@cache
def _face_index(path: str) -> int:
    """A collection (.ttc) holds several faces: the Simplified Chinese one, if named."""
    if not path.lower().endswith(".ttc"):
        return 0
    for index in range(12):
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0] or ""
        except OSError:
            break
        if family.endswith((" SC", "SC")) or "Simplified" in family or "GB" in family:
            return index
    return 0


@cache
def font(size: int, *, bold: bool = False) -> Font:
    path = font_path()
    if path is not None:
        chosen = _bold_path(path) if bold else path
        try:
            return ImageFont.truetype(chosen, size, index=_face_index(chosen))
        except OSError:
            pass  # an unreadable file: draw with the default rather than fail
    return ImageFont.load_default(size)


# --- Drawing -----------------------------------------------------------------------------------


def _plain(text: str, face: Font) -> str:
    """Pillow's built-in bitmap font knows Latin-1 only: anything else becomes "?"."""
    if isinstance(face, ImageFont.FreeTypeFont):
        return text
    return text.encode("latin-1", "replace").decode("latin-1")


def _width(text: str, face: Font) -> float:
    return float(face.getlength(_plain(text, face)))


def _say(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    face: Font,
    fill: str | tuple[int, int, int],
    anchor: str | None = None,
) -> None:
    text = _plain(text, face)
    if anchor is not None and not isinstance(face, ImageFont.FreeTypeFont):
        # The bitmap font takes no anchor: place it by hand (middle or left, middle).
        left, top, right, bottom = face.getbbox(text)
        x, y = xy
        if anchor[0] == "m":
            x -= (right - left) / 2
        xy, anchor = (x, y - (bottom - top) / 2), None
    draw.text(xy, text, font=face, fill=fill, anchor=anchor)


def _fit(text: str, face: Font, width: float) -> str:
    """``text`` on one line of ``width``, cut with an ellipsis when too long."""
    if _width(text, face) <= width:
        return text
    while text and _width(text + "…", face) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _wrap(text: str, face: Font, width: float, lines: int) -> list[str]:
    """Greedy wrapping that works for Chinese (any character) and breaks Latin at spaces."""
    out: list[str] = []
    rest = " ".join(text.split())
    while rest and len(out) < lines:
        if _width(rest, face) <= width:
            out.append(rest)
            rest = ""
            break
        cut = 1
        while cut < len(rest) and _width(rest[: cut + 1], face) <= width:
            cut += 1
        space = rest.rfind(" ", 0, cut + 1)
        if space > 0 and rest[cut : cut + 1] not in ("", " ") and rest[cut - 1] != " ":
            cut = space
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest and out:
        out[-1] = _fit(out[-1] + " " + rest, face, width)
    return out


def _gradient(
    size: tuple[int, int], light: tuple[int, int, int], dark: tuple[int, int, int]
) -> Image.Image:
    """A diagonal gradient, light at the top left, like the shop's covers."""
    down = Image.linear_gradient("L")
    across = down.transpose(Image.Transpose.ROTATE_90).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    mask = ImageChops.add(down, across, scale=2).resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, dark), Image.new("RGB", size, light), mask)


def _qr(url: str, size: int) -> Image.Image:
    code = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    modules = len(matrix)
    cell = max(size // modules, 1)
    side = cell * modules
    image = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle(
                    (x * cell, y * cell, (x + 1) * cell - 1, (y + 1) * cell - 1), fill=INK
                )
    return image


def _text_height(face: Font) -> int:
    top, bottom = face.getbbox(_plain("国Ag", face))[1::2]
    return int(bottom - top)


def render(poster: Poster) -> bytes:
    """The poster as a PNG."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAGE)
    draw = ImageDraw.Draw(image)
    left, right = MARGIN, WIDTH - MARGIN
    draw.rounded_rectangle((left, MARGIN, right, HEIGHT - MARGIN), radius=36, fill="white")

    # The cover, with rounded top corners.
    light, dark = JADE if poster.tone is None else TONES[poster.tone % len(TONES)]
    cover_box = (right - left, COVER_HEIGHT)
    cover = _gradient(cover_box, light, dark)
    mask = Image.new("L", cover_box, 0)
    ImageDraw.Draw(mask).rounded_rectangle(
        (0, 0, cover_box[0] - 1, cover_box[1] + 40), radius=36, fill=255
    )
    image.paste(cover, (left, MARGIN), mask)
    letter = font(240, bold=True)
    _say(draw, (WIDTH // 2, MARGIN + COVER_HEIGHT // 2), poster.initial[:1], letter, "white", "mm")
    if poster.badge:
        badge = font(24, bold=True)
        label = _fit(poster.badge, badge, WIDTH - 2 * (left + PAD) - 32)
        width = _width(label, badge)
        x, y = left + 28, MARGIN + 28
        draw.rounded_rectangle((x, y, x + width + 32, y + 44), radius=22, fill=(255, 255, 255))
        _say(draw, (x + 16, y + 22), label, badge, dark, "lm")

    # The product (or the community) and its price.
    inner = WIDTH - 2 * (left + PAD)
    x = left + PAD
    y = MARGIN + COVER_HEIGHT + 40
    title = font(44, bold=True)
    for line in _wrap(poster.title, title, inner, 2):
        _say(draw, (x, y), line, title, INK)
        y += _text_height(title) + 18
    if poster.subtitle:
        sub = font(26)
        for line in _wrap(poster.subtitle, sub, inner, 2 if not poster.price else 1):
            _say(draw, (x, y + 2), line, sub, MUTED)
            y += _text_height(sub) + 14
    if poster.price:
        price = font(64, bold=True)
        _say(draw, (x, y + 12), poster.price, price, PRICE)

    # Who recommends it, and the QR code of their link.
    qr = _qr(poster.url, QR_SIZE)
    qr_x = right - PAD - qr.width
    qr_y = HEIGHT - MARGIN - PAD - qr.height
    divider = qr_y - 32
    for dash in range(x, right - PAD, 18):
        draw.line(
            (dash, divider, min(dash + 9, right - PAD), divider), fill=(214, 222, 219), width=2
        )
    image.paste(qr, (qr_x, qr_y))
    text_width = qr_x - x - 24
    avatar = 72
    ay = qr_y + 8
    draw.ellipse((x, ay, x + avatar, ay + avatar), fill=JADE[1])
    initial = font(34, bold=True)
    _say(draw, (x + avatar // 2, ay + avatar // 2), poster.sharer[:1], initial, "white", "mm")
    name = font(30, bold=True)
    beside = x + avatar + 16
    _say(draw, (beside, ay + 6), _fit(poster.sharer, name, text_width - avatar - 16), name, INK)
    small = font(24)
    line_y = ay + 6 + _text_height(name) + 12
    _say(
        draw,
        (beside, line_y),
        _fit(poster.recommends, small, text_width - avatar - 16),
        small,
        MUTED,
    )
    ty = ay + avatar + 28
    _say(draw, (x, ty), _fit(poster.community, small, text_width), small, MUTED)
    ty += _text_height(small) + 16
    for line in _wrap(poster.hint, small, text_width, 2):
        _say(draw, (x, ty), line, small, MUTED)
        ty += _text_height(small) + 12

    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def etag(poster: Poster) -> str:
    """Changes whenever the picture would: its words, its link, the font, the drawing."""
    digest = hashlib.sha256(repr((VERSION, font_path(), astuple(poster))).encode()).hexdigest()
    return f'"{digest[:32]}"'
