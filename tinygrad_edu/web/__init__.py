"""Pages in the browser: the live training page (and its report file).

Everything here sits on top of the rest of the package: it shows what the
training loop and the pictures compute, and computes nothing of its own in
JavaScript.
"""
