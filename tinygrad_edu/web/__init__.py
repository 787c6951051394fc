"""Layer 4, pages in the browser: the backprop explorer (and the live
training page). Each page is one self-contained HTML file: the numbers are
computed in Python, and a small plain script (``static/``) only shows them.
"""
