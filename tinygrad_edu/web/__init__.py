"""Layer 4, pages in the browser: the backprop explorer and the live
training page (and its report file). The numbers are computed in Python, and
a small plain script (``static/``) only shows them.
"""
