import numpy as np
import pytest
import torch

from artic3d_core.device import autocast_dtype, resolve_device
from artic3d_core.seeding import derive_seed, seed_everything


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    auto = resolve_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="expected auto, cpu or cuda:N"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_half_precision_only_on_gpu():
    assert autocast_dtype(torch.device("cpu"), "fp16") == torch.float32
    assert autocast_dtype(torch.device("cuda"), "bf16") == torch.bfloat16


def test_seed_everything_reproducible():
    seed_everything(3)
    a = (torch.rand(3), np.random.rand(3))  # noqa: NPY002
    seed_everything(3)
    b = (torch.rand(3), np.random.rand(3))  # noqa: NPY002
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert derive_seed(0, "zebra", 1) == derive_seed(0, "zebra", 1) != derive_seed(0, "zebra", 2)
