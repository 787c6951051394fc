"""Layer 3, pictures (Graphviz): the computation graph with its gradients,
the article's network, the four backprop steps for a digit, and saving them.

``palette`` holds the colours every picture shares; ``graph`` and
``folding`` draw the computation graph; ``network`` and ``explain`` draw the
article's pictures; ``saliency`` shows which pixels made the answer; ``render`` writes any of them to a file.
"""

from .explain import explain_steps, write_explanation
from .graph import DEFAULT_MAX_NODES, GraphTooLargeError, draw_graph
from .network import draw_network, network_state
from .saliency import draw_saliency, pixel_gradients
from .saving import GraphvizError, picture_path, render

__all__ = ["draw_graph", "draw_network", "network_state", "render", "picture_path",
           "GraphTooLargeError", "GraphvizError", "DEFAULT_MAX_NODES",
           "explain_steps", "write_explanation", "draw_saliency", "pixel_gradients"]
