"""The model zoo, by name; ``torchnet.models`` has the same names with identical ``state_dict``s.

Every model returns ``(N, 10)``. The MLPs take images ``(N, 1, 28, 28)`` or rows ``(N, 784)``;
the CNNs take images of their ``SPECS[name].input_shape``: ``(N, 1, 28, 28)`` for ``book_conv``
and ``fashion_cnn``, ``(N, 3, 32, 32)`` for ``cifar_cnn``. ``SPECS`` holds each model's training
defaults for ``scratchnet train``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import ops
from .nn import (
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
)
from .nn.latent import Reparameterize


@dataclass(frozen=True)
class ModelSpec:
    """Training defaults of a zoo model (shared by both libraries).

    ``input_shape`` is one sample's ``(C, H, W)``; ``weight_decay`` is torch.optim's L2 term
    (``g += weight_decay * p`` for every parameter); ``augment`` turns on the training-batch
    augmentation (random crop of the 4-padded image and horizontal flip).
    """

    loss: str  # "quadratic" | "cross_entropy_sigmoid" | "cross_entropy" | "mse_onehot" | "vae"
    optimizer: str  # "sgd" | "adam"
    lr: float
    batch_size: int
    epochs: int
    dataset: str
    description: str
    input_shape: tuple[int, int, int] = (1, 28, 28)
    weight_decay: float = 0.0
    augment: bool = False


SPECS: dict[str, ModelSpec] = {
    "book_mlp": ModelSpec(
        loss="quadratic",
        optimizer="sgd",
        lr=3.0,
        batch_size=10,
        epochs=30,
        dataset="mnist",
        description="[784, 30, 10] sigmoid, quadratic cost: the book's chapter 1 network",
    ),
    "book_mlp100": ModelSpec(
        loss="cross_entropy_sigmoid",
        optimizer="sgd",
        lr=0.5,
        batch_size=10,
        epochs=30,
        dataset="mnist",
        description="[784, 100, 10] sigmoid, cross-entropy cost: chapter 3's larger network",
    ),
    "mlp_3b1b": ModelSpec(
        loss="cross_entropy",
        optimizer="sgd",
        lr=0.1,
        batch_size=100,
        epochs=100,
        dataset="mnist",
        description="[784, 16, 16, 10], sigmoid hidden layers, softmax cross-entropy: "
        "3Blue1Brown's network",
    ),
    "linear_mask": ModelSpec(
        loss="mse_onehot",
        optimizer="sgd",
        lr=0.05,  # 0.5 diverges on MNIST (the MSE's curvature is about 2 ||x||^2 / 10 ~ 20)
        batch_size=64,
        epochs=10,
        dataset="mnist",
        description="[784, 10], no hidden layer, MSE on one-hot targets: each class's weights "
        "are a mask",
    ),
    "latent3": ModelSpec(
        loss="cross_entropy",
        optimizer="adam",
        lr=1e-3,
        batch_size=64,
        epochs=10,
        dataset="mnist",
        description="[784, 10, 3, 10], sigmoid hidden layers: a 3-D latent space to watch",
    ),
    # network3's L2 term is 0.5 lmbda ||w||^2 / num_training_batches per mini-batch, so its
    # gradient adds lmbda / (50000 / 10) w = 2e-5 w: torch's weight_decay = lmbda * batch / n.
    "book_conv": ModelSpec(
        loss="cross_entropy",
        optimizer="sgd",
        lr=0.03,
        batch_size=10,
        epochs=60,
        dataset="mnist",
        weight_decay=0.1 * 10 / 50_000,
        description="two conv-pool-ReLU layers (20 and 40 5x5 maps), ReLU [640, 100, 10]: "
        "the book's chapter 6 network, its L2 lmbda=0.1 as weight decay",
    ),
    "fashion_cnn": ModelSpec(
        loss="cross_entropy",
        optimizer="adam",
        lr=1e-3,
        batch_size=64,
        epochs=10,
        dataset="fashion-mnist",
        description="3 conv 3x3 (32, 64, 64) + BatchNorm + ReLU, 2 max-pools, [3136, 256, 128, 10] "
        "with BatchNorm and dropout 0.5/0.4: the Fashion-MNIST reference CNN",
    ),
    "cifar_cnn": ModelSpec(
        loss="cross_entropy",
        optimizer="adam",
        lr=1e-3,
        batch_size=64,
        epochs=30,
        dataset="cifar10",
        input_shape=(3, 32, 32),
        augment=True,
        description="6 conv 3x3 (32, 32, 64 | pool | 128, 128, 256 | pool) + BatchNorm + ReLU, "
        "[16384, 512, 10]; random crop and flip: the CIFAR-10 reference CNN",
    ),
    "vae": ModelSpec(
        loss="vae",
        optimizer="adam",
        lr=1e-3,
        batch_size=128,
        epochs=10,
        dataset="mnist",
        description="784-400-(mu, logvar)-400-784 VAE, BCE + beta KL: PyTorch's VAE example "
        "(--beta, --latent-dim)",
    ),
}


def _mlp(sizes: list[int], dtype, rng, out_sigmoid: bool) -> Sequential:
    """Flatten, then ``Linear(sizes[i], sizes[i+1])`` each followed by a Sigmoid (the last one
    only when ``out_sigmoid``); children are "0", "1", ... so keys read "1.weight", "3.bias"."""
    rng = rng if rng is not None else np.random.default_rng()
    layers: list[Module] = [Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Linear(n_in, n_out, dtype=dtype, rng=rng))
        if i < len(sizes) - 2 or out_sigmoid:
            layers.append(Sigmoid())
    return Sequential(*layers)


# --8<-- [start:zoo]
def book_mlp(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """Flatten -> Linear(784, 30) -> Sigmoid -> Linear(30, 10) -> Sigmoid."""
    return _mlp([784, 30, 10], dtype, rng, out_sigmoid=True)


def book_mlp100(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """Flatten -> Linear(784, 100) -> Sigmoid -> Linear(100, 10) -> Sigmoid."""
    return _mlp([784, 100, 10], dtype, rng, out_sigmoid=True)


def mlp_3b1b(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """Flatten -> Linear(784, 16) -> Sigmoid -> Linear(16, 16) -> Sigmoid -> Linear(16, 10).

    The output is logits (its loss is softmax cross-entropy)."""
    return _mlp([784, 16, 16, 10], dtype, rng, out_sigmoid=False)


def linear_mask(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """Flatten -> Linear(784, 10): no non-linearity, so each row of W is a mask over the image."""
    return _mlp([784, 10], dtype, rng, out_sigmoid=False)


def latent3(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """Flatten -> Linear(784, 10) -> Sigmoid -> Linear(10, 3) -> Sigmoid -> Linear(3, 10).

    The 3 sigmoid units are the latent space; the output is logits."""
    return _mlp([784, 10, 3, 10], dtype, rng, out_sigmoid=False)


# --8<-- [end:zoo]


def _named(**children: Module) -> Sequential:
    """A ``Sequential`` whose children have names (``conv_stack``, ``fc_stack``), run in order."""
    seq = Sequential()
    for name, child in children.items():
        setattr(seq, name, child)
    return seq


def _conv_bn_relu(c_in: int, c_out: int, dtype, rng) -> list[Module]:
    """Conv2d 3x3, padding 1, no bias (BatchNorm's beta takes its place) -> BatchNorm2d -> ReLU."""
    return [Conv2d(c_in, c_out, 3, padding=1, bias=False, dtype=dtype, rng=rng), BatchNorm2d(c_out, dtype=dtype),
            ReLU()]


# --8<-- [start:cnn_zoo]
def book_conv(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """The book's chapter 6 network (network3's two ConvPoolLayers with ReLU, then ReLU FC, softmax).

    Children "0" ... "9"; the output is logits (its loss is softmax cross-entropy)::

        Conv2d(1, 20, 5)     (N, 1, 28, 28) -> (N, 20, 24, 24)
        MaxPool2d(2), ReLU   -> (N, 20, 12, 12)
        Conv2d(20, 40, 5)    -> (N, 40, 8, 8)
        MaxPool2d(2), ReLU   -> (N, 40, 4, 4)
        Flatten              -> (N, 640)
        Linear(640, 100), ReLU, Linear(100, 10) -> (N, 10)
    """
    rng = rng if rng is not None else np.random.default_rng()
    return Sequential(
        Conv2d(1, 20, 5, dtype=dtype, rng=rng), MaxPool2d(2), ReLU(),      # (N, 20, 12, 12)
        Conv2d(20, 40, 5, dtype=dtype, rng=rng), MaxPool2d(2), ReLU(),     # (N, 40, 4, 4)
        Flatten(),                                                          # (N, 640)
        Linear(640, 100, dtype=dtype, rng=rng), ReLU(),                     # (N, 100)
        Linear(100, 10, dtype=dtype, rng=rng),                              # (N, 10)
    )


def fashion_cnn(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """The Fashion-MNIST reference project's CNN, with its children's names (``conv_stack``, ``fc_stack``).

    Both Dropouts draw their masks from ``rng`` (after the weights)::

        conv_stack  Conv2d(1, 32, 3, p=1) BN ReLU MaxPool2d(2)    (N, 1, 28, 28) -> (N, 32, 14, 14)
                    Conv2d(32, 64, 3, p=1) BN ReLU MaxPool2d(2)   -> (N, 64, 7, 7)
                    Conv2d(64, 64, 3, p=1) BN ReLU                -> (N, 64, 7, 7)
        fc_stack    Flatten                                       -> (N, 3136)
                    Linear(3136, 256, bias=False) BN1d ReLU Dropout(0.5) -> (N, 256)
                    Linear(256, 128, bias=False) BN1d ReLU Dropout(0.4)  -> (N, 128)
                    Linear(128, 10)                               -> (N, 10) logits

    Convolutions have no bias: the BatchNorm after each has its own shift.
    """
    rng = rng if rng is not None else np.random.default_rng()
    conv_stack = Sequential(
        *_conv_bn_relu(1, 32, dtype, rng), MaxPool2d(2),                    # (N, 32, 14, 14)
        *_conv_bn_relu(32, 64, dtype, rng), MaxPool2d(2),                   # (N, 64, 7, 7)
        *_conv_bn_relu(64, 64, dtype, rng),                                 # (N, 64, 7, 7)
    )
    fc_stack = Sequential(
        Flatten(),                                                          # (N, 3136)
        Linear(3136, 256, bias=False, dtype=dtype, rng=rng), BatchNorm1d(256, dtype=dtype), ReLU(),
        Dropout(0.5, rng=rng),                                              # (N, 256)
        Linear(256, 128, bias=False, dtype=dtype, rng=rng), BatchNorm1d(128, dtype=dtype), ReLU(),
        Dropout(0.4, rng=rng),                                              # (N, 128)
        Linear(128, 10, dtype=dtype, rng=rng),                              # (N, 10)
    )
    return _named(conv_stack=conv_stack, fc_stack=fc_stack)


def cifar_cnn(dtype=np.float32, rng: np.random.Generator | None = None) -> Sequential:
    """The CIFAR-10 reference project's CNN: six 3x3 convolutions, a max-pool after the 3rd and 6th.

    Widths double as the maps shrink (32, 32, 64 at 32x32; 128, 128, 256 at 16x16), as in VGG::

        conv_stack  Conv2d(3, 32) BN ReLU, Conv2d(32, 32) BN ReLU, Conv2d(32, 64) BN ReLU
                    MaxPool2d(2)                                  (N, 3, 32, 32) -> (N, 64, 16, 16)
                    Conv2d(64, 128) BN ReLU, Conv2d(128, 128) BN ReLU, Conv2d(128, 256) BN ReLU
                    MaxPool2d(2)                                  -> (N, 256, 8, 8)
        fc_stack    Flatten                                       -> (N, 16384)
                    Linear(16384, 512) ReLU                       -> (N, 512)
                    Linear(512, 10)                               -> (N, 10) logits

    Every convolution is 3x3 with padding 1 and no bias (the BatchNorm after it shifts).
    """
    rng = rng if rng is not None else np.random.default_rng()
    conv_stack = Sequential(
        *_conv_bn_relu(3, 32, dtype, rng), *_conv_bn_relu(32, 32, dtype, rng), *_conv_bn_relu(32, 64, dtype, rng),
        MaxPool2d(2),                                                       # (N, 64, 16, 16)
        *_conv_bn_relu(64, 128, dtype, rng), *_conv_bn_relu(128, 128, dtype, rng),
        *_conv_bn_relu(128, 256, dtype, rng),
        MaxPool2d(2),                                                       # (N, 256, 8, 8)
    )
    fc_stack = Sequential(
        Flatten(),                                                          # (N, 16384)
        Linear(256 * 8 * 8, 512, dtype=dtype, rng=rng), ReLU(),             # (N, 512)
        Linear(512, 10, dtype=dtype, rng=rng),                              # (N, 10)
    )
    return _named(conv_stack=conv_stack, fc_stack=fc_stack)


# --8<-- [end:cnn_zoo]


_CNNS = ("book_conv", "fashion_cnn", "cifar_cnn")  # images only; the MLPs also take rows


def check_input_shape(name: str, shape: tuple[int, ...]) -> None:
    """Raise a ValueError naming the model, the expected and the actual shape, if ``shape`` does not fit.

    ``shape`` is a batch's ``(N, C, H, W)``; the MLPs also take rows ``(N, 784)``.
    """
    if name not in SPECS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(SPECS)}")
    expected = SPECS[name].input_shape
    sample = tuple(shape[1:])
    rows_ok = name not in _CNNS and sample == (int(np.prod(expected)),)
    if sample != expected and not rows_ok:
        rows = f" or (N, {int(np.prod(expected))})" if name not in _CNNS else ""
        raise ValueError(f"{name} expects images of shape (N, {', '.join(map(str, expected))}){rows}, "
                         f"got {tuple(shape)}")


def build(name: str, dtype=np.float32, rng: np.random.Generator | None = None) -> Module:
    """The zoo model called ``name``; an unknown name lists the known ones."""
    if name not in SPECS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(SPECS)}")
    return globals()[name](dtype=dtype, rng=rng)


# --8<-- [start:vae]
class VAE(Module):
    """PyTorch's VAE example, by hand: ``fc1`` (784 -> hidden, ReLU), ``fc21`` / ``fc22`` (hidden ->
    latent: ``mu``, ``logvar``), ``fc3`` (latent -> hidden, ReLU), ``fc4`` (hidden -> 784, sigmoid).

    ``forward(X, eps=None) -> (X_hat, mu, logvar)``: X ``(N, 784)`` (or images ``(N, 1, 28, 28)``),
    ``z = mu + exp(logvar / 2) * eps`` with ``eps`` ``(N, latent)`` from the model's generator
    unless given, ``X_hat`` ``(N, 784)`` in (0, 1). ``backward(dX_hat, dmu, dlogvar)`` accumulates
    every parameter's gradient: the decoder's path reaches ``mu`` and ``logvar`` through ``z``,
    and the loss's own ``dmu``, ``dlogvar`` (the KL term's) add to it there.
    """

    def __init__(self, latent_dim: int = 2, hidden: int = 400, dtype=np.float32,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if latent_dim < 1 or hidden < 1:
            raise ValueError(f"vae: latent_dim and hidden must be positive, got {latent_dim}, {hidden}")
        rng = rng if rng is not None else np.random.default_rng()
        self.latent_dim, self.hidden = latent_dim, hidden
        self.fc1 = Linear(784, hidden, dtype=dtype, rng=rng)
        self.fc21 = Linear(hidden, latent_dim, dtype=dtype, rng=rng)
        self.fc22 = Linear(hidden, latent_dim, dtype=dtype, rng=rng)
        self.fc3 = Linear(latent_dim, hidden, dtype=dtype, rng=rng)
        self.fc4 = Linear(hidden, 784, dtype=dtype, rng=rng)
        self.relu1, self.relu3, self.sigmoid = ReLU(), ReLU(), Sigmoid()
        self.sample = Reparameterize(rng)

    def encode(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, logvar)``, each ``(N, latent)``, for images ``X``."""
        h = self.relu1(self.fc1(X.reshape(len(X), -1)))
        return self.fc21(h), self.fc22(h)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """``X_hat`` ``(N, 784)`` for latent points ``z`` ``(N, latent)``."""
        return self.sigmoid(self.fc4(self.relu3(self.fc3(z))))

    def forward(self, X: np.ndarray, eps: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X_hat, mu, logvar)``; ``eps`` as in ``Reparameterize``."""
        self.release()
        mu, logvar = self.encode(X)
        return self.decode(self.sample(mu, logvar, eps)), mu, logvar

    def __call__(self, X: np.ndarray, eps: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``model(X, eps)`` is ``model.forward(X, eps)``."""
        return self.forward(X, eps)

    def backward(self, dX_hat: np.ndarray, dmu: np.ndarray | None = None,  # type: ignore[override]
                 dlogvar: np.ndarray | None = None, needs_input_grad: bool = False) -> np.ndarray | None:
        """Accumulate every parameter's gradient from the loss's three; ``dX`` if asked."""
        dz = self.fc3.backward(self.relu3.backward(self.fc4.backward(self.sigmoid.backward(dX_hat))))
        dmu_z, dlogvar_z = self.sample.backward(dz)
        if dmu is not None:
            ops.add(dmu_z, ops.contiguous(dmu, dmu_z.dtype), dmu_z)              # dmu_z += dmu
        if dlogvar is not None:
            ops.add(dlogvar_z, ops.contiguous(dlogvar, dlogvar_z.dtype), dlogvar_z)
        dh = self.fc21.backward(dmu_z)
        ops.add(dh, self.fc22.backward(dlogvar_z), dh)                          # dh += fc22's share
        return self.fc1.backward(self.relu1.backward(dh), needs_input_grad=needs_input_grad)


def vae(latent_dim: int = 2, hidden: int = 400, dtype=np.float32, rng: np.random.Generator | None = None) -> VAE:
    """The VAE of PyTorch's example (``VAE``), ``state_dict`` keys ``fc1`` ... ``fc4``."""
    return VAE(latent_dim, hidden, dtype=dtype, rng=rng)
# --8<-- [end:vae]
