"""Part networks: multiplicative-filter MLPs with frequency truncation (docs/method.md §4.3),
batched over parts.

All nb parts are evaluated at once: weights are stored as (nb, layers, …) tensors split into a
shared low-frequency block (layers < f_instance) and an instance-specific block, so freezing the
shared layers is ``requires_grad_(False)`` on whole parameters.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class PartMLPs(nn.Module):
    """nb multiplicative-filter networks F_b: R³ → R³.

    h₀ = γ₁(x); h_{i+1} = γ_{i+2}(x) ⊙ (W_i h_i + b_i); F(x; s) = Σ_{i ≤ min(s, L−1)} U_i h_{i+1},
    γ_k(x) = [sin(ω_k x), cos(ω_k x)], ω_k = 0.3πk. Heads: Xavier-uniform, gain 1e-3, no bias.
    """

    def __init__(
        self,
        n_parts: int,
        layers: int = 10,
        width: int = 6,
        omega_scale: float = 0.3,
        head_gain: float = 1e-3,
        split: int = 5,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if width != 6:
            raise ValueError("width must be 6 (= sin/cos of the 3 coordinates)")
        self.n_parts, self.layers, self.split = n_parts, layers, min(split, layers)
        self.register_buffer(
            "omega", omega_scale * math.pi * torch.arange(1, layers + 2, dtype=torch.float32)
        )
        bound = 1.0 / math.sqrt(width)  # PyTorch nn.Linear default init
        W = (torch.rand(n_parts, layers, width, width, generator=generator) * 2 - 1) * bound
        b = (torch.rand(n_parts, layers, width, generator=generator) * 2 - 1) * bound
        hb = head_gain * math.sqrt(6.0 / (width + 3))
        U = (torch.rand(n_parts, layers, 3, width, generator=generator) * 2 - 1) * hb
        s = self.split
        self.W_lo, self.W_hi = nn.Parameter(W[:, :s]), nn.Parameter(W[:, s:])
        self.b_lo, self.b_hi = nn.Parameter(b[:, :s]), nn.Parameter(b[:, s:])
        self.U_lo, self.U_hi = nn.Parameter(U[:, :s]), nn.Parameter(U[:, s:])

    def shared_parameters(self) -> list[nn.Parameter]:
        return [self.W_lo, self.b_lo, self.U_lo]

    def instance_parameters(self) -> list[nn.Parameter]:
        return [self.W_hi, self.b_hi, self.U_hi]

    def freeze_shared(self, frozen: bool = True) -> None:
        """``freeze_layers(f_instance)``: layers < split get no gradient."""
        for p in self.shared_parameters():
            p.requires_grad_(not frozen)

    @property
    def stacked(self) -> int | None:
        """K when the instance block holds K instances' copies (leading dim), else None."""
        return self.W_hi.shape[0] if self.W_hi.ndim == 5 else None

    def stack_instances(self, k: int) -> None:
        """Give the instance block a leading dim of ``k`` copies (K instances fitted together,
        each with its own instance layers and the one shared block)."""
        if self.stacked is not None:
            raise ValueError("the instance block is already stacked")
        for name in ("W_hi", "b_hi", "U_hi"):
            p = getattr(self, name)
            stacked = p.detach()[None].repeat(k, *[1] * p.ndim)
            setattr(self, name, nn.Parameter(stacked, requires_grad=p.requires_grad))

    def _gamma(self, x: torch.Tensor, k: int) -> torch.Tensor:
        wx = self.omega[k] * x
        return torch.cat([torch.sin(wx), torch.cos(wx)], -1)

    def forward(self, x: torch.Tensor, stop_at: int = 10) -> torch.Tensor:
        """x: (nb, V, 3) or (V, 3) shared → offsets (nb, V, 3), summing heads 0..min(stop_at, L−1).

        Stacked (K instances): x (K, nb, V, 3), (K, V, 3) or (V, 3) → (K, nb, V, 3), instance
        k through the shared block and its own instance block.

        The encodings γ_k(x) are computed on x as given and broadcast over the parts and
        instances that share it, so a shared template costs one sin/cos per vertex, not nb·K.
        The layers are batched matrix products h·Wᵀ (``@``; on CPU faster than the equivalent
        einsum, which permutes its operands first)."""
        K = self.stacked
        V = x.shape[-2]
        if K is None:
            full = (self.n_parts, V)
            xg = x[None] if x.ndim == 2 else x  # (1 | nb, V, 3)
            W_lo, b_lo, U_lo = self.W_lo, self.b_lo, self.U_lo
            cat = 1
        else:
            full = (K, self.n_parts, V)
            xg = {2: x[None, None], 3: x[:, None]}.get(x.ndim, x)  # (1 | K, 1 | nb, V, 3)
            W_lo, b_lo, U_lo = (p.expand(K, *p.shape) for p in self.shared_parameters())
            cat = 2
        W = torch.cat([W_lo, self.W_hi], cat)
        b = torch.cat([b_lo, self.b_hi], cat)
        U = torch.cat([U_lo, self.U_hi], cat)
        h = self._gamma(xg, 0).expand(*full, -1)
        out = None
        last = min(stop_at, self.layers - 1)
        for i in range(last + 1):
            Wi, bi, Ui = W.select(cat, i), b.select(cat, i), U.select(cat, i)
            h = self._gamma(xg, i + 1) * (h @ Wi.transpose(-1, -2) + bi[..., None, :])
            head = h @ Ui.transpose(-1, -2)
            out = head if out is None else out + head
        if out is None:  # stop_at < 0: no head
            return x.new_zeros(*full, 3)
        return out
