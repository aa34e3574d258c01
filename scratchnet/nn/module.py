"""``Parameter``, ``Module`` and ``Sequential``: the bookkeeping every layer shares.

The contract every ``scratchnet.nn`` module follows is written once, in ``Module``'s docstring.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..kernels import ops


# --8<-- [start:reuse]
def reuse_or_new(work: dict[str, np.ndarray], key: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """``work[key]`` again if it is an array of the active kernel tier with ``shape`` and ``dtype``
    and nothing else refers to it; else a new uninitialised one (``ops.empty``: NumPy's, or the
    GPU's), kept in ``work[key]`` for the next call.

    The one place arrays are reused (``Module.output_array``, ``Parameter.grad_to_write``, the
    losses' gradients). "Nothing else refers to it" is CPython's reference count: an array that a
    caller kept (``y1 = model(X1); y2 = model(X2)``), or that a module saved for a backward, is
    never handed out again. A training loop at a fixed batch size then allocates nothing per step
    for these arrays.
    """
    buf = work.get(key)
    if (buf is not None and buf.shape == shape and (buf.dtype is dtype or buf.dtype == dtype)
            and type(buf) is ops.ARRAY and _refcount(buf) <= _UNSHARED):
        return buf
    buf = work[key] = ops.empty(shape, dtype)
    return buf
# --8<-- [end:reuse]


_refcount = sys.getrefcount


def _unshared_count() -> int:
    """The reference count ``reuse_or_new`` sees for an array only its ``work`` dict holds."""
    work = {"k": np.empty(1)}
    buf = work.get("k")
    return _refcount(buf)


_UNSHARED = _unshared_count()


class Parameter:
    """A trainable array ``.data`` and its gradient ``.grad``: ``None`` ("unset") or an array of
    ``.data``'s shape and dtype, as in ``torch`` after ``zero_grad(set_to_none=True)``.

    Both are arrays of the kernel tier active when the parameter was made: NumPy arrays, or on the
    ``cuda`` tier device arrays, which stay on the GPU from step to step (``data`` is copied there).

    A backward writes the gradient when it is unset and adds to it otherwise, through one of
    the two methods below, so nothing ever clears an array: at the book's mini-batch of ten,
    clearing the 784 x 30 gradient costs as much as computing it.
    """

    def __init__(self, data: np.ndarray) -> None:
        self.data = ops.contiguous(data)
        self.grad: np.ndarray | None = None
        self._work: dict[str, np.ndarray] = {}  # the last gradient array, for reuse_or_new

    def zero_grad(self) -> None:
        """Unset the gradient (``.grad = None``); the next backward writes a new one (into the old
        array when nothing else holds it: ``reuse_or_new``)."""
        self.grad = None

    def grad_to_write(self) -> tuple[np.ndarray, float]:
        """Where a kernel computing ``out = new + beta * out`` puts this gradient, and ``beta``.

        Set: ``(.grad, 1.0)``, accumulate. Unset: a new uninitialised array (now ``.grad``) and
        ``0.0``, so the kernel overwrites it and never reads its old contents (the GEMMs do so).
        """
        if self.grad is None:
            self.grad = reuse_or_new(self._work, "grad", self.data.shape, self.data.dtype)
            return self.grad, 0.0
        return self.grad, 1.0

    def grad_to_add(self) -> np.ndarray:
        """``.grad`` for a kernel that only adds (``+=``): zeros first when it is unset."""
        if self.grad is None:
            self.grad = reuse_or_new(self._work, "grad", self.data.shape, self.data.dtype)
            ops.fill(self.grad, 0)
        return self.grad

    @property
    def shape(self) -> tuple[int, ...]:
        """``.data``'s shape."""
        return self.data.shape

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class: children and parameters registered by attribute, as ``torch.nn.Module``.

    The contract every layer follows:

    - ``forward(X) -> Y`` (also ``module(X)``) computes the output and keeps what its backward
      needs with ``self.save(name=array, ...)``, which replaces whatever the last forward kept.
      That is the only state a forward leaves behind: ``self.saved`` (a dict), dropped here and
      in every child by ``release()``. ``Sequential.forward`` releases its children before it
      runs, so one step's saved arrays are freed before the next step allocates its own.
    - ``backward(dY, needs_input_grad=True) -> dX`` takes ``dC/dY`` (shaped like the last
      output) and returns ``dC/dX``; with ``needs_input_grad=False`` (torch: an input without
      ``requires_grad``) it skips ``dX`` and returns ``None``. Every module takes the switch.
      It reads ``self.saved`` through ``self.saved_for_backward()``: a backward without a forward
      (or after ``release()``) is a ``RuntimeError`` naming the module.
    - Parameter gradients: ``zero_grad()`` unsets them (``Parameter.grad is None``, torch's
      ``set_to_none=True``); a backward then *writes* each gradient (``beta = 0`` in the GEMMs)
      and afterwards *adds* to it (``+=``, ``beta = 1``), so the gradients of several backwards
      accumulate until the next ``zero_grad()``. An optimizer skips a parameter whose gradient
      is unset, as ``torch.optim`` does.
    - A caller may keep any result. Layers take their output arrays from
      ``self.output_array(key, shape, dtype)``, which hands the last call's array out again only
      when nothing else refers to it (``reuse_or_new``, the one reuse mechanism): kept outputs and
      saved arrays are never overwritten, and a training loop at a fixed batch size allocates
      nothing per step for them.
    - ``name`` (a property) is how errors name the module: ``Linear(784, 30)``, ``ReLU``.
    """

    training: bool = True

    def __init__(self) -> None:
        object.__setattr__(self, "_params", {})
        object.__setattr__(self, "_children", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "saved", {})  # what backward needs from the last forward
        object.__setattr__(self, "_work", {})  # output arrays for reuse (output_array)
        self.training = True

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Parameter):
            self._params[name] = value
        elif isinstance(value, Module):
            self._children[name] = value
        object.__setattr__(self, name, value)

    @property
    def name(self) -> str:
        """How errors name this module (the class name; layers with sizes add them)."""
        return type(self).__name__

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """A non-trainable array that belongs in ``state_dict`` (e.g. BatchNorm's running mean)."""
        self._buffers[name] = None
        object.__setattr__(self, name, value)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer's output for input ``x``; keeps what ``backward`` needs (``save``)."""
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

    def save(self, **values: Any) -> None:
        """Keep ``values`` for the backward of this forward, replacing what the last one kept."""
        object.__setattr__(self, "saved", values)

    def output_array(self, key: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """An uninitialised ``(shape, dtype)`` array for output ``key``: the last call's when
        nothing else refers to it any more, else a new one (``reuse_or_new``)."""
        return reuse_or_new(self._work, key, shape, dtype)

    def saved_for_backward(self) -> dict[str, Any]:
        """What the last forward saved; a ``RuntimeError`` naming the module if there is none."""
        if not self.saved:
            raise RuntimeError(
                f"{self.name}: backward called before forward (or after release())"
            )
        return self.saved

    def release(self) -> None:
        """Drop what the last forward saved, here and in every child (frees its arrays)."""
        object.__setattr__(self, "saved", {})
        for child in self._children.values():
            child.release()

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
        """Unset every parameter's gradient (``.grad = None``, see ``Parameter.zero_grad``)."""
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
        """NumPy copies of every parameter and buffer (from the GPU on the cuda tier), keyed like
        ``torch.nn.Module.state_dict``."""
        out = {}
        for key, owner, attr in self._named_tensors():
            value = getattr(owner, attr)
            out[key] = ops.to_host(value.data if isinstance(value, Parameter) else value)
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters and buffers (cast like ``torch``'s ``copy_``; onto the
        GPU for a model made on the cuda tier).

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
            is_array = isinstance(target, ops.ARRAYS)
            shape = tuple(target.shape) if is_array else np.shape(target)
            dtype = target.dtype if is_array else np.asarray(target).dtype
            if value.shape != shape:
                raise ValueError(
                    f"{name}.load_state_dict: {key} has shape {value.shape}, expected {shape}"
                )
            if value.dtype.kind not in "fiub" or (dtype.kind == "f" and value.dtype.kind == "b"):
                raise TypeError(
                    f"{name}.load_state_dict: {key} has dtype {value.dtype}, "
                    f"expected {dtype} (shape {value.shape})"
                )
            if is_array:
                ops.copy_into(target, value)
            else:
                object.__setattr__(owner, attr, type(current)(value))

    def to(self, dtype) -> Module:
        """Cast every parameter (and floating buffer) to ``dtype``; gradients are unset."""
        dtype = np.dtype(dtype)
        for _, owner, attr in self._named_tensors():
            value = getattr(owner, attr)
            if isinstance(value, Parameter):
                value.data = ops.contiguous(value.data, dtype)
                value.grad = None
            elif isinstance(value, ops.ARRAYS) and value.dtype.kind == "f":
                object.__setattr__(owner, attr, ops.contiguous(value, dtype))
        self.release()
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
        self.release()  # the last step's saved arrays go before this step allocates its own
        for m in self._children.values():
            x = m(x)
        return x

    def backward(self, grad_out: np.ndarray, needs_input_grad: bool = True) -> np.ndarray | None:
        """Children's backward in reverse order: each ``grad_in`` is the next ``grad_out``.

        With ``needs_input_grad=False`` the walk stops at the first child that has parameters,
        which is told it needs no ``dX``; returns ``None`` then.
        """
        children = list(self._children.values())
        first = 0  # children before the first one with parameters need no backward then
        if not needs_input_grad:
            while first < len(children) and not _has_parameters(children[first]):
                first += 1
        for i in range(len(children) - 1, first - 1, -1):
            grad_out = children[i].backward(grad_out, needs_input_grad or i > first)
        return grad_out if needs_input_grad else None

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
