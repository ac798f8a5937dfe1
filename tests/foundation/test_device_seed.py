import numpy as np
import pytest
import torch

from artic3d_core.device import autocast_dtype, resolve_device
from artic3d_core.seeding import (
    GeneratorGroup,
    derive_seed,
    randint,
    randn,
    seed_everything,
)


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


def _gather_backward_grad() -> torch.Tensor:
    """The rasteriser's pattern: advanced-index gather of a few vertices by many (pixel, face)
    pairs; its backward accumulates into the vertices (index_put_ with accumulate)."""
    g = torch.Generator().manual_seed(0)
    src = torch.randn(64, 3, generator=g, requires_grad=True)
    idx = torch.randint(0, 64, (400_000,), generator=g)
    w = torch.randn(400_000, 3, generator=g)
    (src[idx] * w).sum().backward()
    return src.grad


def test_seed_everything_makes_cpu_accumulation_bitwise_reproducible():
    threads = torch.get_num_threads()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    was_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(2)
    try:
        torch.use_deterministic_algorithms(False)
        loose = [_gather_backward_grad() for _ in range(6)]
        seed_everything(0)  # deterministic=True by default
        assert torch.are_deterministic_algorithms_enabled()
        exact = [_gather_backward_grad() for _ in range(6)]
        assert all(torch.equal(exact[0], e) for e in exact[1:])
        # without the flag the runs differ in the last bits (observed on the 2-core CI machine;
        # not asserted: whether the atomics collide differently is up to the scheduler);
        # the deterministic sum equals theirs up to float rounding
        assert torch.allclose(exact[0], loose[0], atol=1e-3)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)


def test_generator_group_draws_each_chunk_from_its_own_stream():
    def g(s):
        return torch.Generator().manual_seed(s)

    group = GeneratorGroup([g(1), g(2)])
    x = randn((4, 3), group)
    assert torch.equal(x[:2], torch.randn(2, 3, generator=g(1)))
    assert torch.equal(x[2:], torch.randn(2, 3, generator=g(2)))
    t = randint(0, 1000, GeneratorGroup([g(5), g(6)]), batch=6)
    a, b = (int(torch.randint(0, 1000, (1,), generator=g(s))) for s in (5, 6))
    assert t.tolist() == [a, a, a, b, b, b]
    assert randint(0, 1000, g(5)) == a
    with pytest.raises(ValueError, match="does not split over 2"):
        randn((3, 2), group)
