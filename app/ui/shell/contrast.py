"""Colour contrast as WCAG 2.x measures it (no Qt): relative luminance, contrast ratio, alpha blending.

WCAG 2.2 success criteria 1.4.3 (text) and 1.4.11 (non-text): level AA asks 4.5:1 for normal text, 3:1 for
large text (18 pt, or 14 pt bold) and 3:1 for the visual states of controls (focus, checked, borders that
identify a control). Text of a disabled control is exempt.
"""

from __future__ import annotations

#: WCAG AA: normal text, large text, user-interface components and their states.
AA_TEXT = 4.5
AA_LARGE_TEXT = 3.0
AA_COMPONENT = 3.0

RGB = tuple[int, int, int]


def parse(colour: str) -> RGB:
    """``#rgb`` or ``#rrggbb`` as (r, g, b), 0–255."""
    text = colour.strip().removeprefix("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) != 6:
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _linear(channel: int) -> float:
    """sRGB channel (0–255) to linear light, as WCAG 2.x defines it."""
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: RGB | str) -> float:
    r, g, b = parse(colour) if isinstance(colour, str) else colour
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(a: RGB | str, b: RGB | str) -> float:
    """From 1 (same luminance) to 21 (black on white); the order does not matter."""
    la, lb = relative_luminance(a), relative_luminance(b)
    light, dark = max(la, lb), min(la, lb)
    return (light + 0.05) / (dark + 0.05)


def blend(top: RGB | str, alpha: float, under: RGB | str) -> RGB:
    """``top`` drawn with opacity ``alpha`` (0–1) over the opaque ``under``: the colour the eye gets."""
    t = parse(top) if isinstance(top, str) else top
    u = parse(under) if isinstance(under, str) else under
    mixed = (round(alpha * tc + (1 - alpha) * uc) for tc, uc in zip(t, u, strict=True))
    r, g, b = mixed
    return r, g, b


def hex_colour(colour: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def mix_until(top: RGB | str, under: RGB | str, backgrounds: list[RGB], target: float) -> RGB:
    """The faintest mix of ``top`` over ``under`` (from half strength up) that reaches ``target`` against every
    one of ``backgrounds``; ``top`` itself when no mix does."""
    for step in range(50, 101, 2):
        colour = blend(top, step / 100, under)
        if all(contrast_ratio(colour, back) >= target for back in backgrounds):
            return colour
    return parse(top) if isinstance(top, str) else top


def shade_until(colour: RGB | str, against: RGB | str, target: float) -> RGB:
    """``colour`` moved toward black (or white, whichever ``against`` is not) until its contrast with
    ``against`` reaches ``target``: the same hue, only darker or lighter."""
    start = parse(colour) if isinstance(colour, str) else colour
    toward = (0, 0, 0) if relative_luminance(against) > 0.18 else (255, 255, 255)
    for step in range(0, 101, 2):
        shaded = blend(toward, step / 100, start)
        if contrast_ratio(shaded, against) >= target:
            return shaded
    return toward
