"""micrograd's demo.ipynb training loop runs here unchanged except for its imports.

The loop below is copied from micrograd's demo notebook (moons, an
``MLP(2, [16, 16, 1])``, the SVM max-margin loss, L2 regularisation, SGD with
a decaying learning rate). Only two things differ: the imports come from
tinygrad_edu, and the moons are made with numpy (the same recipe as
scikit-learn's ``make_moons``) so the tests need no scikit-learn. We use 64
points instead of the notebook's 100 to keep the test quick.
"""

import random

import numpy as np

from tinygrad_edu import MLP, Value


def make_moons(n_samples=100, noise=0.1, seed=0):
    """Two interleaving half circles with Gaussian noise, labels 0 and 1."""
    rng = np.random.default_rng(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer = np.linspace(0, np.pi, n_out)
    inner = np.linspace(0, np.pi, n_in)
    X = np.vstack([np.append(np.cos(outer), 1 - np.cos(inner)),
                   np.append(np.sin(outer), 1 - np.sin(inner) - 0.5)]).T
    y = np.hstack([np.zeros(n_out, dtype=int), np.ones(n_in, dtype=int)])
    return X + rng.normal(scale=noise, size=X.shape), y


def test_micrograd_demo_loop_trains_to_95_percent():
    # ---- from micrograd's demo.ipynb (only the sample count differs) ----
    np.random.seed(1337)
    random.seed(1337)

    X, y = make_moons(n_samples=64, noise=0.1)
    y = y*2 - 1  # make y be -1 or 1

    model = MLP(2, [16, 16, 1])  # 2-layer neural network

    # loss function
    def loss(batch_size=None):

        # inline DataLoader :)
        if batch_size is None:
            Xb, yb = X, y
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]
        inputs = [list(map(Value, xrow)) for xrow in Xb]

        # forward the model to get scores
        scores = list(map(model, inputs))

        # svm "max-margin" loss
        losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        # L2 regularization
        alpha = 1e-4
        reg_loss = alpha * sum((p*p for p in model.parameters()))
        total_loss = data_loss + reg_loss

        # also get accuracy
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    total_loss, acc = loss()

    # optimization
    for k in range(100):

        # forward
        total_loss, acc = loss()

        # backward
        model.zero_grad()
        total_loss.backward()

        # update (sgd)
        learning_rate = 1.0 - 0.9*k/100
        for p in model.parameters():
            p.data -= learning_rate * p.grad

        if k % 1 == 0:
            print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
    # ---- end of the notebook's code ----

    assert isinstance(model([0.0, 0.0]), Value)     # one output: one Value
    assert acc >= 0.95, f"training accuracy {acc:.2%}"
