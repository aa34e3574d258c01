"""``Parameter``, ``Module`` and ``Sequential``: the bookkeeping every layer shares.

A module's ``forward`` caches what its ``backward`` needs; ``backward(dY)`` returns ``dX`` and
*adds* (``+=``) its parameters' gradients into ``.grad``, so gradients of several mini-batches
accumulate until ``zero_grad()``, exactly as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class Parameter:
    """A trainable array ``.data`` with its gradient ``.grad`` (same shape and dtype, zeros).

    ``zero_grad()`` only marks the gradient as zero: the next read of ``.grad`` fills it, and a
    layer whose kernel can overwrite instead of adding (``grad_and_beta``) never fills it. At
    the book's mini-batch of ten, clearing the 784 x 30 gradient costs as much as updating it.
    """

    def __init__(self, data: np.ndarray) -> None:
        self.data = np.ascontiguousarray(data)
        self.grad = np.zeros_like(self.data)

    @property
    def grad(self) -> np.ndarray:
        """The gradient, ``.data``'s shape and dtype (zeros since the last ``zero_grad()``)."""
        if self._grad_is_zero:
            self._grad.fill(0)
            self._grad_is_zero = False
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray) -> None:
        self._grad, self._grad_is_zero = value, False

    def zero_grad(self) -> None:
        """``.grad`` reads as zeros from now on (filled when first read)."""
        self._grad_is_zero = True

    def grad_and_beta(self) -> tuple[np.ndarray, float]:
        """The gradient array and ``beta`` for a kernel that computes ``grad = new + beta grad``:
        1.0 (accumulate, as backward does), or 0.0 right after ``zero_grad()`` (overwrite)."""
        beta = 0.0 if self._grad_is_zero else 1.0
        self._grad_is_zero = False
        return self._grad, beta

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class: children and parameters registered by attribute, as ``torch.nn.Module``.

    Subclasses implement ``forward(x)`` and ``backward(grad_out) -> grad_in``.
    """

    training: bool = True

    def __init__(self) -> None:
        object.__setattr__(self, "_params", {})
        object.__setattr__(self, "_children", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_work", {})  # reusable output arrays (see buffers.take)
        object.__setattr__(self, "_cache", {})  # what backward needs from the last forward
        self.training = True

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Parameter):
            self._params[name] = value
        elif isinstance(value, Module):
            self._children[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """A non-trainable array that belongs in ``state_dict`` (e.g. BatchNorm's running mean)."""
        self._buffers[name] = None
        object.__setattr__(self, name, value)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer's output for input ``x``; caches what ``backward`` needs."""
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """``dC/d(input)`` from ``dC/d(output)``; parameter gradients accumulate (``+=``).

        ``needs_input_grad=False`` (PyTorch: an input without ``requires_grad``) skips
        ``dC/d(input)`` and returns ``None``: the first layer of a network needs no ``dX``.
        """
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``module(x)`` is ``module.forward(x)``, as in torch."""
        return self.forward(x)

    def _release(self) -> None:
        """Drop what the last forward cached (here and in every child), so work arrays free up."""
        self._cache.clear()
        for child in self._children.values():
            child._release()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, Parameter)`` pairs in registration order, as torch names them."""
        for name, p in self._params.items():
            if p is not None:
                yield prefix + name, p
        for cname, child in self._children.items():
            yield from child.named_parameters(f"{prefix}{cname}.")

    def parameters(self) -> Iterator[Parameter]:
        """Every ``Parameter``, in ``named_parameters`` order."""
        for _, p in self.named_parameters():
            yield p

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to zero (see ``Parameter.zero_grad``)."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Set ``.training`` here and in every child (it matters for Dropout, BatchNorm)."""
        self.training = mode
        for child in self._children.values():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """``train(False)``."""
        return self.train(False)

    def _named_tensors(self, prefix: str = "") -> Iterator[tuple[str, object, str]]:
        """(name, owner, attribute) for every parameter and buffer, in torch's state_dict order."""
        for name, p in self._params.items():
            if p is not None:
                yield prefix + name, self, name
        for name in self._buffers:
            yield prefix + name, self, name
        for cname, child in self._children.items():
            yield from child._named_tensors(f"{prefix}{cname}.")

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed like ``torch.nn.Module.state_dict``."""
        out = {}
        for key, owner, attr in self._named_tensors():
            value = getattr(owner, attr)
            out[key] = (value.data if isinstance(value, Parameter) else np.asarray(value)).copy()
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters and buffers (cast like ``torch``'s ``copy_``).

        Keys must match exactly and shapes too; a floating parameter takes only real numbers.
        """
        name = type(self).__name__
        expected = {key: (owner, attr) for key, owner, attr in self._named_tensors()}
        missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        if missing or unexpected:
            raise KeyError(
                f"{name}.load_state_dict: missing keys {missing}, unexpected keys {unexpected}"
            )
        for key, (owner, attr) in expected.items():
            value = np.asarray(state[key])
            current = getattr(owner, attr)
            target = current.data if isinstance(current, Parameter) else current
            if value.shape != np.shape(target):
                raise ValueError(
                    f"{name}.load_state_dict: {key} has shape {value.shape}, "
                    f"expected {np.shape(target)}"
                )
            if value.dtype.kind not in "fiub" or (
                np.asarray(target).dtype.kind == "f" and value.dtype.kind == "b"
            ):
                raise TypeError(
                    f"{name}.load_state_dict: {key} has dtype {value.dtype}, "
                    f"expected {np.asarray(target).dtype} (shape {value.shape})"
                )
            if isinstance(current, Parameter):
                current.data[...] = value
            elif isinstance(current, np.ndarray):
                current[...] = value
            else:
                object.__setattr__(owner, attr, type(current)(value))

    def to(self, dtype) -> Module:
        """Cast every parameter (and floating buffer) to ``dtype``; gradients are reset."""
        dtype = np.dtype(dtype)
        for _, owner, attr in self._named_tensors():
            value = getattr(owner, attr)
            if isinstance(value, Parameter):
                value.data = value.data.astype(dtype)
                value.grad = np.zeros_like(value.data)
            elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
                object.__setattr__(owner, attr, value.astype(dtype))
        for m in self._modules():
            m._work.clear()
            m._release()
        return self

    def _modules(self) -> Iterator[Module]:
        yield self
        for child in self._children.values():
            yield from child._modules()

    def extra_repr(self) -> str:
        """What ``repr`` shows inside the parentheses."""
        return ""

    def __repr__(self) -> str:
        if not self._children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [
            f"  ({name}): {child!r}".replace("\n", "\n  ") for name, child in self._children.items()
        ]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied in order; children are named ``"0"``, ``"1"``, ... as in torch."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def __getitem__(self, i: int) -> Module:
        return list(self._children.values())[i]

    def __len__(self) -> int:
        return len(self._children)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._children.values()))

    # --8<-- [start:sequential]
    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` through every child in order."""
        children = self._children.values()
        for m in children:  # drop caches first: they would keep work arrays from being reused
            m._release()
        for m in children:
            x = m(x)
        return x

    def backward(self, grad_out: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """Children's backward in reverse order: each ``grad_in`` is the next ``grad_out``.

        With ``needs_input_grad=False`` the walk stops at the first child that has parameters,
        which is told it needs no ``dX``; returns ``None`` then.
        """
        children = list(self._children.values())
        if needs_input_grad:
            for m in reversed(children):
                grad_out = m.backward(grad_out)
            return grad_out
        first = 0
        while first < len(children) and not _has_parameters(children[first]):
            first += 1
        for i in range(len(children) - 1, first, -1):
            grad_out = children[i].backward(grad_out)
        if first < len(children):
            _backward_params_only(children[first], grad_out)
        return None

    # --8<-- [end:sequential]


def _has_parameters(m: Module) -> bool:
    """Whether ``m`` or any module inside it holds a ``Parameter`` (loops: this runs every step)."""
    for p in m._params.values():
        if p is not None:
            return True
    for c in m._children.values():
        if _has_parameters(c):
            return True
    return False


def _backward_params_only(m: Module, grad_out: np.ndarray) -> None:
    """``m.backward`` without ``dX``; a layer without the switch computes ``dX`` and drops it."""
    if "needs_input_grad" in m.backward.__code__.co_varnames:
        m.backward(grad_out, needs_input_grad=False)
    else:
        m.backward(grad_out)
