"""The colours and number format every picture shares.

Blue means positive, red negative, darker the larger the number (compared
with the largest in the picture or the series of pictures). NaN (not a
number, what a diverged model holds) is yellow, a colour no number gets;
infinity is drawn as the largest number. ``not_finite_note`` is the line a
picture adds to its title when it has any.
"""

import math

__all__ = ["BLUE", "RED", "WHITE", "HIGHLIGHT", "PARAMETER_GREEN", "NAN_COLOUR",
           "mix", "signed_colour", "text_colour", "fmt", "largest_finite",
           "not_finite_note"]

# Colours shared by every picture: blue = positive, red = negative.
BLUE = (33, 102, 172)
RED = (178, 24, 43)
WHITE = (255, 255, 255)
HIGHLIGHT = "#ff7f00"
PARAMETER_GREEN = "#1b7837"
NAN_COLOUR = "#ffd92f"     # yellow: on no scale, so a NaN stands out on each


def mix(colour, strength):
    """``colour`` blended with white: 0 gives white, 1 the full colour
    (a NaN strength, from a NaN number, gives ``NAN_COLOUR``)."""
    if math.isnan(strength):
        return NAN_COLOUR
    strength = min(max(strength, 0.0), 1.0)
    r, g, b = (round(w + (c - w) * strength) for c, w in zip(colour, WHITE))
    return f"#{r:02x}{g:02x}{b:02x}"


def signed_colour(number, largest):
    """Blue for positive, red for negative, darker for larger ``|number|``.

    ``largest`` is the size that gets the full colour. A square root makes
    small numbers still visible next to a few large ones. Infinity gets the
    full colour, NaN the ``NAN_COLOUR``.

    >>> signed_colour(1.0, 1.0), signed_colour(-1.0, 1.0), signed_colour(0.0, 1.0)
    ('#2166ac', '#b2182b', '#ffffff')
    """
    if math.isnan(number):
        return NAN_COLOUR
    if number == 0 or not largest > 0:
        return mix(BLUE, 0.0)
    strength = 1.0 if math.isinf(number) else math.sqrt(min(abs(number) / largest, 1.0))
    return mix(BLUE if number > 0 else RED, strength)


def text_colour(number, largest):
    """White text on a dark fill, black on a light one."""
    dark = largest > 0 and not math.isnan(number) and abs(number) / largest > 0.45
    return "white" if dark else "black"


def fmt(number):
    """A number with 4 significant digits, as every picture shows them.

    >>> fmt(3.14159), fmt(-0.000123456), fmt(12345.6)
    ('3.142', '-0.0001235', '1.235e+04')
    """
    return f"{number:.4g}"


def largest_finite(numbers):
    """The largest ``|number|`` that is finite: the size a picture's scale
    gives the full colour (1 when there is none, so nothing divides by 0)."""
    return max((abs(n) for n in numbers if math.isfinite(n)), default=0.0) or 1.0


def not_finite_note(groups):
    """A line for the title saying which numbers are NaN or infinite, or None.

    ``groups`` are (plural name, numbers) pairs.

    >>> not_finite_note([("weights", [1.0, float("nan")]), ("inputs", [0.5])])
    '1 of 2 weights is NaN (NaN is drawn yellow, infinity as the largest)'
    """
    parts = []
    for name, group in groups:
        group = list(group)
        for what, test in (("NaN", math.isnan), ("infinite", math.isinf)):
            count = sum(1 for n in group if test(n))
            if count:
                verb = "is" if count == 1 else "are"
                parts.append(f"{count} of {len(group)} {name} {verb} {what}")
    if not parts:
        return None
    return "; ".join(parts) + " (NaN is drawn yellow, infinity as the largest)"
