"""Procedural appearance: class coat patterns on the rest-pose surface, cluttered backgrounds,
and foreground occluders (E-variant). Everything is numpy with an explicit ``Generator``."""

from __future__ import annotations

import numpy as np

__all__ = [
    "animal_colours",
    "background",
    "coat_detail",
    "draw_occluders",
    "lattice_noise",
    "smooth_noise",
]


def smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """(h, w) bilinear value noise in [0, 1] with ``cells`` cells along the longer side."""
    gh, gw = max(2, round(cells * h / max(h, w)) + 2), max(2, round(cells * w / max(h, w)) + 2)
    grid = rng.random((gh, gw))
    y = np.linspace(0, gh - 1.001, h)
    x = np.linspace(0, gw - 1.001, w)
    y0, x0 = y.astype(int), x.astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    g00 = grid[y0][:, x0]
    g01 = grid[y0][:, x0 + 1]
    g10 = grid[y0 + 1][:, x0]
    g11 = grid[y0 + 1][:, x0 + 1]
    return (g00 * (1 - fx) + g01 * fx) * (1 - fy) + (g10 * (1 - fx) + g11 * fx) * fy


def _ellipse(h, w, cy, cx, ry, rx, ang=0.0) -> np.ndarray:
    """(h, w) bool filled ellipse; evaluated on its bounding window only."""
    out = np.zeros((h, w), bool)
    r = max(rx, ry, 1.0)
    y0, y1 = max(0, int(cy - r) - 1), min(h, int(cy + r) + 2)
    x0, x1 = max(0, int(cx - r) - 1), min(w, int(cx + r) + 2)
    if y0 >= y1 or x0 >= x1:
        return out
    yy = np.arange(y0, y1, dtype=np.float64)[:, None] - cy
    xx = np.arange(x0, x1, dtype=np.float64)[None, :] - cx
    ca, sa = np.cos(ang), np.sin(ang)
    u = (xx * ca + yy * sa) / max(rx, 1e-6)
    v = (-xx * sa + yy * ca) / max(ry, 1e-6)
    out[y0:y1, x0:x1] = u * u + v * v <= 1.0
    return out


def _paint(img, mask, colour, noise, tex=0.15):
    """Fill ``mask`` with ``colour`` modulated by the (h, w) ``noise`` field (amplitude ``tex``)."""
    col = np.asarray(colour, dtype=np.float64)
    img[mask] = np.clip(col[None] * (1 - tex + 2 * tex * noise[mask][:, None]), 0, 1)


def background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """(h, w, 3) cluttered outdoor-like background: sky/ground gradient, value noise, bushes,
    rocks, trunks and grass strokes."""
    horizon = rng.uniform(0.25, 0.6) * h
    sky = np.array([0.55, 0.7, 0.9]) * rng.uniform(0.75, 1.1) + rng.normal(0, 0.05, 3)
    ground = np.array(
        [[0.45, 0.55, 0.25], [0.6, 0.5, 0.32], [0.7, 0.62, 0.45], [0.35, 0.45, 0.3]][
            rng.integers(4)
        ]
    ) + rng.normal(0, 0.05, 3)
    yy = np.arange(h)[:, None, None]
    top = np.clip(sky * (0.8 + 0.25 * yy / h), 0, 1)
    low = np.clip(ground * (0.75 + 0.35 * (yy - horizon) / h), 0, 1)
    img = np.where(yy < horizon, top, low) * np.ones((1, w, 1))
    img = img * (0.8 + 0.4 * smooth_noise(rng, h, w, 6)[..., None])
    fine = smooth_noise(rng, h, w, 40)
    img = img * (0.9 + 0.2 * fine[..., None])
    tex = smooth_noise(rng, h, w, 24)
    for _ in range(int(rng.integers(8, 20))):
        kind = rng.integers(4)
        cy = rng.uniform(horizon - 0.1 * h, h) if kind != 2 else rng.uniform(0, h)
        cx = rng.uniform(0, w)
        s = rng.uniform(0.03, 0.14) * h
        if kind == 0:  # bush
            col = np.array([0.15, 0.35, 0.12]) + rng.normal(0, 0.06, 3)
            m = np.zeros((h, w), bool)
            for _k in range(int(rng.integers(2, 5))):
                m |= _ellipse(
                    h,
                    w,
                    cy + rng.normal(0, s / 2),
                    cx + rng.normal(0, s),
                    s,
                    s * rng.uniform(1, 1.8),
                )
            _paint(img, m, col, tex, 0.35)
        elif kind == 1:  # rock
            col = np.full(3, rng.uniform(0.35, 0.65)) + rng.normal(0, 0.03, 3)
            _paint(img, _ellipse(h, w, cy, cx, s * 0.6, s, rng.uniform(-0.3, 0.3)), col, tex, 0.2)
        elif kind == 2:  # distant tree trunk
            col = np.array([0.35, 0.25, 0.15]) + rng.normal(0, 0.05, 3)
            x0 = int(cx)
            m = np.zeros((h, w), bool)
            m[: int(horizon + rng.uniform(0, 0.2) * h), x0 : x0 + max(2, int(s / 4))] = True
            _paint(img, m, col, tex, 0.3)
            _paint(
                img,
                _ellipse(h, w, rng.uniform(0, horizon), cx, s * 1.2, s * 1.5),
                np.array([0.2, 0.4, 0.15]) + rng.normal(0, 0.05, 3),
                tex,
                0.4,
            )
        else:  # grass strokes
            col = np.array([0.3, 0.45, 0.15]) + rng.normal(0, 0.08, 3)
            for _k in range(int(rng.integers(10, 30))):
                x = int(rng.uniform(0, w))
                y1 = int(rng.uniform(horizon, h))
                ln = int(rng.uniform(0.02, 0.06) * h)
                img[max(0, y1 - ln) : y1, x : x + max(1, h // 256)] = col
    return np.clip(img, 0, 1)


def draw_occluders(
    rng: np.random.Generator, img: np.ndarray, box: tuple[float, float, float, float], n: int
) -> np.ndarray:
    """Paint ``n`` occluders over ``img`` (h, w, 3) in place, placed to overlap ``box`` = animal
    (x0, y0, x1, y1) in pixels; returns their coverage (h, w) bool."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    cover = np.zeros((h, w), bool)
    tex = smooth_noise(rng, h, w, 24)
    for _ in range(n):
        kind = rng.integers(4)
        cx = rng.uniform(x0 + 0.15 * bw, x1 - 0.15 * bw)
        m = np.zeros((h, w), bool)
        if kind == 0:  # tree trunk / pole in front
            half = rng.uniform(0.07, 0.16) * bw
            m[:, max(0, int(cx - half)) : int(cx + half)] = True
            col = np.array([0.4, 0.28, 0.16]) + rng.normal(0, 0.05, 3)
        elif kind == 1:  # bush in front of the lower body
            cy = rng.uniform(y0 + 0.55 * bh, y1 + 0.1 * bh)
            for _k in range(int(rng.integers(3, 6))):
                m |= _ellipse(
                    h,
                    w,
                    cy + rng.normal(0, 0.1 * bh),
                    cx + rng.normal(0, 0.2 * bw),
                    rng.uniform(0.15, 0.3) * bh,
                    rng.uniform(0.15, 0.3) * bw,
                )
            col = np.array([0.18, 0.42, 0.14]) + rng.normal(0, 0.06, 3)
        elif kind == 2:  # fence rails
            for _k in range(2):
                yc = rng.uniform(y0 + 0.3 * bh, y1)
                m[max(0, int(yc)) : int(yc + rng.uniform(0.04, 0.08) * bh), :] = True
            px = int(cx)
            m[int(y0 + 0.2 * bh) :, max(0, px) : px + max(3, int(0.05 * bw))] = True
            col = np.array([0.55, 0.45, 0.35]) + rng.normal(0, 0.05, 3)
        else:  # boulder
            cy = rng.uniform(y0 + 0.5 * bh, y1)
            m = _ellipse(
                h,
                w,
                cy,
                cx,
                rng.uniform(0.2, 0.35) * bh,
                rng.uniform(0.18, 0.3) * bw,
                rng.uniform(-0.4, 0.4),
            )
            col = np.full(3, rng.uniform(0.4, 0.6)) + rng.normal(0, 0.03, 3)
        _paint(img, m, np.clip(col, 0, 1), tex, 0.3)
        cover |= m
    return cover


_BASE = {
    "zebra": ([0.93, 0.92, 0.88], [0.05, 0.05, 0.06]),
    "tiger": ([0.9, 0.5, 0.13], [0.06, 0.04, 0.03]),
    "giraffe": ([0.93, 0.84, 0.62], [0.58, 0.33, 0.13]),
    "elephant": ([0.52, 0.5, 0.5], [0.4, 0.38, 0.38]),
    "kangaroo": ([0.72, 0.5, 0.32], [0.9, 0.8, 0.66]),
    "penguin": ([0.07, 0.07, 0.09], [0.95, 0.95, 0.93]),
    "flamingo": ([0.95, 0.58, 0.62], [0.12, 0.1, 0.1]),
    "badger": ([0.5, 0.5, 0.5], [0.96, 0.95, 0.93]),
}


def animal_colours(
    kind: str,
    rng: np.random.Generator,
    p_rest: np.ndarray,
    n_rest: np.ndarray,
    slot: np.ndarray,
    along: np.ndarray,
) -> np.ndarray:
    """Albedo (N, 3) of N surface points of class pattern ``kind``.

    p_rest, n_rest: (N, 3) rest-pose position / normal; slot: (N,) LASSIE part slot; along: (N,)
    position along the bone in [−1, 1] (local sphere y; −1 … +1 = the two bone ends).
    One ``rng`` draw per call: the instance's colour jitter and pattern phase.
    """
    base, second = (np.asarray(c, float) for c in _BASE[kind])
    jit = np.exp(rng.normal(0, 0.07, 3))
    base, second = np.clip(base * jit, 0, 1), np.clip(second * jit, 0, 1)
    phase, freq = rng.uniform(0, 1), rng.uniform(0.85, 1.15)
    leg = slot >= 9
    x, y, z = p_rest[:, 0], p_rest[:, 1], p_rest[:, 2]
    out = np.broadcast_to(base, p_rest.shape).copy()
    if kind in ("zebra", "tiger"):
        f, duty = (11.0, 0.45) if kind == "zebra" else (13.0, 0.28)
        s = np.where(leg, y * 1.2 + 0.03 * np.sin(25 * x), z + 0.12 * np.sin(8 * y + 6 * phase))
        s = np.where(slot == 2, z * 1.5 + 0.3 * y, s)
        stripe = np.mod(s * f * freq + phase, 1.0) < duty
        if kind == "tiger":
            stripe &= ~((slot == 3) & (n_rest[:, 1] < -0.55))
            belly = (n_rest[:, 1] < -0.45) | ((slot == 2) & (n_rest[:, 1] < -0.2))
            out[belly] = [0.95, 0.93, 0.88]
        out[stripe] = second
        if kind == "zebra":
            out[(slot == 2) & (along > 0.6)] = [0.15, 0.13, 0.13]  # dark muzzle
    elif kind == "giraffe":
        # cellular spots: jittered-grid Voronoi in 3D; cream lines where the two nearest sites
        # are almost equidistant, brown patches elsewhere
        cell = 0.075
        g = p_rest / cell + phase * 7.0
        base_cell = np.floor(g)
        best = np.full((len(g), 2), np.inf)
        for off in np.ndindex(3, 3, 3):
            c = base_cell + (np.asarray(off) - 1)
            h1 = np.sin(c @ np.array([12.9898, 78.233, 37.719])) * 43758.5453
            h2 = np.sin(c @ np.array([39.3468, 11.135, 83.155])) * 24634.6345
            h3 = np.sin(c @ np.array([73.156, 52.235, 9.151])) * 56445.2345
            site = c + 0.15 + 0.7 * np.stack([h - np.floor(h) for h in (h1, h2, h3)], -1)
            d = np.sqrt(((g - site) ** 2).sum(-1))
            closer = d < best[:, 0]
            best[:, 1] = np.where(closer, best[:, 0], np.minimum(best[:, 1], d))
            best[:, 0] = np.where(closer, d, best[:, 0])
        spot = (best[:, 1] - best[:, 0]) > 0.16
        spot &= ~(leg & (y < np.quantile(y, 0.12)))
        out[spot] = second
    elif kind == "elephant":
        wr = 0.5 + 0.5 * np.sin(60 * y + 20 * np.sin(9 * z) + phase * 6)
        out = out * (0.92 + 0.08 * wr[:, None])
        out[(slot == 2) & (along > 0.2)] *= 0.95
    elif kind == "kangaroo":
        belly = (n_rest[:, 2] > 0.45) & (slot == 3)
        out[belly] = second
        out[leg & (along > 0.6)] *= 0.6
        out[slot == 4] *= 0.85 + 0.15 * (along[slot == 4, None] < 0.5)
    elif kind == "penguin":
        front = (n_rest[:, 2] > 0.15) & (slot == 3)
        out[front] = second
        out[(slot == 2) & (n_rest[:, 2] > 0.5) & (n_rest[:, 1] < -0.1)] = second
        out[np.isin(slot, (11, 12, 15, 16))] = [0.95, 0.55, 0.12]  # feet; beak: generator
    elif kind == "flamingo":
        wing = np.isin(slot, (9, 10, 13, 14))
        out[wing & (along > 0.55)] = second  # dark flight-feather tips
        out[wing & (along <= 0.55)] *= [0.92, 0.8, 0.82]
        out[np.isin(slot, (11, 12, 15, 16))] *= [0.9, 0.75, 0.78]
    elif kind == "badger":
        # white face with a dark stripe through each eye, dark legs and belly
        head = slot == 2
        out[head] = second
        out[head & (np.abs(np.abs(x) - 0.06) < 0.035)] = [0.08, 0.08, 0.08]
        out[leg | ((slot == 3) & (n_rest[:, 1] < -0.5))] = [0.12, 0.11, 0.1]
    return np.clip(out, 0, 1)


def lattice_noise(rng: np.random.Generator, uv: np.ndarray, size: int = 64) -> np.ndarray:
    """(N,) bilinear value noise in [0, 1] at (N, 2) continuous lattice coordinates ``uv``
    (one cell per unit; the ``size``×``size`` random lattice tiles)."""
    grid = rng.random((size, size))
    i0 = np.floor(uv).astype(np.int64)
    f = uv - i0
    a0, b0 = i0[:, 0] % size, i0[:, 1] % size
    a1, b1 = (a0 + 1) % size, (b0 + 1) % size
    top = grid[a0, b0] * (1 - f[:, 1]) + grid[a0, b1] * f[:, 1]
    bot = grid[a1, b0] * (1 - f[:, 1]) + grid[a1, b1] * f[:, 1]
    return top * (1 - f[:, 0]) + bot * f[:, 0]


def coat_detail(
    rng: np.random.Generator,
    albedo: np.ndarray,
    local: np.ndarray,
    bone: np.ndarray,
    n_rest: np.ndarray,
) -> np.ndarray:
    """Fur-like anisotropy and shading gradients on an (N, 3) albedo (wide preset).

    local: (N, 3) hit points in each part's unit-sphere frame (y along the bone); bone: (N,)
    part index; n_rest: (N, 3) rest-pose normals. Fur: streaks of value noise that vary fast
    around the bone axis and slowly along it; gradient: a dorsal–ventral factor
    (counter-shading, random sign and strength) and darkening towards each part's silhouette
    rim (ambient occlusion between touching parts).
    """
    ang = np.arctan2(local[:, 2], local[:, 0]) / (2 * np.pi) + 0.5
    streak_density = rng.uniform(40, 90)
    uv = np.stack((ang * streak_density + 17.0 * bone, (local[:, 1] + 1) * 2.5), -1)
    fur = lattice_noise(rng, uv)
    fur_amp = rng.uniform(0.12, 0.3)
    dorsal = rng.uniform(-0.18, 0.25)
    rim = np.clip(np.sqrt(local[:, 0] ** 2 + local[:, 2] ** 2), 0, 1)
    f = (1 - fur_amp / 2 + fur_amp * fur) * (1 + dorsal * n_rest[:, 1]) * (1 - 0.12 * rim**4)
    return np.clip(albedo * f[:, None], 0, 1)
