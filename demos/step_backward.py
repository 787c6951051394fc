"""Demo: step through backpropagation one chain-rule step at a time.

The neuron of one_neuron.py gets a loss, (o - 1)^2: we want its output to be 1.
``backward_steps`` runs backprop one step at a time and says, at each Value,
its gradient and what it adds to each parent (parent.grad += local x grad).
We print every step, stop at a breakpoint, draw the first frames with the
current Value outlined in orange, and write both passes as the explorer
page, to step through in a browser.

    python demos/step_backward.py [--out out]
"""

from pathlib import Path

from tinygrad_edu import backward_steps
from tinygrad_edu.pictures import draw_graph, render
from tinygrad_edu.web.explorer import explore

from tinygrad_edu.watch.examples import article_neuron_loss

from _command_line import run_demo


def main(out_dir="out", quick=False):
    out_dir = Path(out_dir)
    loss, ws = article_neuron_loss()

    print("Every step of the backward pass:")
    for step in backward_steps(loss):
        print(step)

    print("\nThe same pass again, stopping at the breakpoint 'n':")
    loss.zero_grad()
    for step in backward_steps(loss, stop_at="n"):
        print(" ", step.header())
    print(f"  at the breakpoint n.grad = {step.grad:.4f}; the weights are not "
          f"reached yet: w1.grad = {ws[0].grad:.4f}")

    loss.zero_grad()
    pictures = []
    frames_to_draw = 2 if quick else 4
    for step in backward_steps(loss):
        if step.number > frames_to_draw:
            break
        graph = draw_graph(loss, highlight=step.value, title=step.header())
        pictures.append(render(graph, out_dir / f"step_backward_{step.number}.png"))
    page = explore(loss).save(out_dir / "step_backward.html")
    for path in pictures + [page]:
        print(f"wrote {path}")
    return pictures + [page]


if __name__ == "__main__":
    run_demo(main, __doc__, quick_help="draw fewer frames")
