"""Each loss against its torch form: the value and the gradient with respect to the prediction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from parity_harness import DTYPES, assert_close, to_torch
from registry import LOSSES


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", sorted(LOSSES))
@given(data=st.data())
def test_loss(name: str, dtype, data) -> None:
    ours, torch_fn, y_hat, target = LOSSES[name].make(data.draw, dtype)
    value = ours(y_hat, target)
    yt = to_torch(y_hat, requires_grad=True)
    ref = torch_fn(yt, to_torch(target))
    assert_close(f"{name} value", np.array(value), ref, dtype, "forward", k_terms=y_hat.size)
    ref.backward()
    assert_close(f"{name} gradient", ours.backward(), yt.grad, dtype, "grad", k_terms=1)
