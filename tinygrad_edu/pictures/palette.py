"""The colours and number format every picture shares.

Blue means positive, red negative, darker the larger the number (compared
with the largest in the picture or the series of pictures).
"""

import math

__all__ = ["BLUE", "RED", "WHITE", "HIGHLIGHT", "PARAMETER_GREEN", "mix",
           "signed_colour", "text_colour", "fmt"]

# Colours shared by every picture: blue = positive, red = negative.
BLUE = (33, 102, 172)
RED = (178, 24, 43)
WHITE = (255, 255, 255)
HIGHLIGHT = "#ff7f00"
PARAMETER_GREEN = "#1b7837"


def mix(colour, strength):
    """``colour`` blended with white: 0 gives white, 1 the full colour."""
    strength = min(max(strength, 0.0), 1.0)
    r, g, b = (round(w + (c - w) * strength) for c, w in zip(colour, WHITE))
    return f"#{r:02x}{g:02x}{b:02x}"


def signed_colour(number, largest):
    """Blue for positive, red for negative, darker for larger ``|number|``.

    ``largest`` is the size that gets the full colour. A square root makes
    small numbers still visible next to a few large ones.

    >>> signed_colour(1.0, 1.0), signed_colour(-1.0, 1.0), signed_colour(0.0, 1.0)
    ('#2166ac', '#b2182b', '#ffffff')
    """
    if largest <= 0 or number == 0 or not math.isfinite(number):
        return mix(BLUE, 0.0)
    strength = math.sqrt(min(abs(number) / largest, 1.0))
    return mix(BLUE if number > 0 else RED, strength)


def text_colour(number, largest):
    """White text on a dark fill, black on a light one."""
    dark = largest > 0 and math.isfinite(number) and abs(number) / largest > 0.45
    return "white" if dark else "black"


def fmt(number):
    """A number with 4 significant digits, as every picture shows them.

    >>> fmt(3.14159), fmt(-0.000123456), fmt(12345.6)
    ('3.142', '-0.0001235', '1.235e+04')
    """
    return f"{number:.4g}"
