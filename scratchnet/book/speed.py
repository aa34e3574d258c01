"""Chapter 5: the speed at which each hidden layer learns, ``||dC/db^l||`` per layer.

As the book's ``generate_gradient.py`` does: average the bias gradient over a set of training
inputs, then take each hidden layer's Euclidean norm. The matrix form of BP1-BP3 over the
whole set gives the same average as the book's loop over single samples.
"""

from __future__ import annotations

import numpy as np

from .common import sigmoid, stack


# --8<-- [start:speeds]
def layer_speeds(net, data: list) -> list[float]:
    """``[||mean_x dC_x/db^l||]`` for each hidden layer ``l`` of a sigmoid ``network2.Network``
    (scratchnet's or torchnet's).

    ``data`` is a list of ``(x, y)`` with one-hot ``y`` (training data). Rows X ``(n, n_0)``;
    BP1 for the network's cost, then BP2 layer by layer, BP3 averaged over the rows.
    """
    X, Y = stack(data, "data", net.sizes[0], net.sizes[-1])
    weights, biases = net._numpy_weights(), net._numpy_biases()   # torchnet's too, as NumPy
    activations, zs = [X.astype(np.float64)], []
    for w, b in zip(weights, biases, strict=True):
        zs.append(activations[-1] @ w.T + b.reshape(-1))       # (n, n_l)
        activations.append(sigmoid(zs[-1]))
    a = activations[-1]
    quadratic = net.cost.__name__ == "QuadraticCost"
    delta = (a - Y) * a * (1 - a) if quadratic else a - Y          # BP1, (n, n_L)
    speeds = []
    for l in range(len(weights) - 1, 0, -1):
        a_l = activations[l]
        delta = (delta @ weights[l]) * a_l * (1 - a_l)           # BP2, (n, n_l)
        speeds.append(float(np.linalg.norm(delta.mean(axis=0))))  # BP3, averaged over the inputs
    return speeds[::-1]
# --8<-- [end:speeds]


def training_speeds(net, training_data: list, epochs: int, mini_batch_size: int, eta: float,
                    lmbda: float = 0.0, probe: int = 1000) -> list[list[float]]:
    """Speeds of every hidden layer before training and after each epoch (the book's figure).

    The speeds are measured on the first ``probe`` training inputs; the training list keeps its
    order between the measurements (``network2.SGD`` reorders it, so a copy is trained on).
    """
    probe_data = training_data[:probe]
    history = [layer_speeds(net, probe_data)]
    for _ in range(epochs):
        net.SGD(list(training_data), 1, mini_batch_size, eta, lmbda=lmbda)
        history.append(layer_speeds(net, probe_data))
    return history
