"""Procedural animal templates: a rest skeleton with per-bone part scales (the model's part
representation, docs/method.md §4.4), LASSIE part slots, pose limits, and the 14 keypoints attached to bones.

Frame (as the model and skeleton discovery use it): head towards +z, up +y, the animal's left
side at +x (so left/right partners mirror in x). Units: runtime NDC (1 = half the render width).
Legs are chains girdle → upper → middle (→ lower); the knee keypoint is the joint after the upper
segment, the ankle the joint after the middle segment (docs/method.md §1.2 names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from artic3d_core.data.records import KEYPOINT_NAMES
from artic3d_core.skeleton.skeleton import Skeleton

__all__ = ["TEMPLATES", "AnimalTemplate", "KeypointDef"]

Texture = Literal[
    "zebra", "tiger", "giraffe", "elephant", "kangaroo", "penguin", "flamingo", "badger"
]


@dataclass(frozen=True)
class KeypointDef:
    """A keypoint attached to bone ``bone``.

    kind 'joint': the bone's child joint (internal point); 'along': the point at fraction ``t``
    from parent to child joint (internal); 'surface': from the axis point at ``t`` along rest
    direction ``direction`` to the part's ellipsoid surface (visible only when facing the camera).
    """

    bone: int
    kind: Literal["joint", "along", "surface"]
    t: float = 1.0
    direction: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass
class AnimalTemplate:
    """A class template: rest skeleton, per-bone scales, slots, pose limits (deg), keypoints."""

    name: str
    biped: bool
    texture: Texture
    names: list[str]
    joints: np.ndarray  # (nj, 3)
    parents: list[int]
    part_scale_xz: list[float]  # per bone
    part_scale_y: list[float]
    slots: list[int]  # per bone: LASSIE 16-slot part label
    limits: np.ndarray  # (nb, 3) max |Euler| per bone in degrees ('YZX' order)
    bias: np.ndarray  # (nb, 3) rest offset in degrees
    keypoints: dict[str, KeypointDef] = field(default_factory=dict)

    @property
    def nb(self) -> int:
        return len(self.parents) - 1

    def skeleton(self) -> Skeleton:
        return Skeleton(
            joints=self.joints.astype(np.float32),
            parents=list(self.parents),
            part_scale_xz=list(self.part_scale_xz),
            part_scale_y=list(self.part_scale_y),
            part_dino=[min(s, 7) for s in _dino_groups(self.slots)],
            names=list(self.names),
            meta={"source": "synthetic template", "class": self.name},
        )


def _dino_groups(slots: list[int]) -> list[int]:
    """A plausible 8-cluster assignment per bone (head, neck, torso, tail, 4 leg groups)."""
    table = {0: 2, 1: 1, 2: 0, 3: 2, 4: 3, 9: 4, 10: 4, 11: 5, 12: 5, 13: 6, 14: 6, 15: 7, 16: 7}
    return [table.get(s, 2) for s in slots]


class _Builder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.names = ["root"]
        self.joints = [(0.0, 0.0, 0.0)]
        self.parents = [0]
        self.xz: list[float] = []
        self.y: list[float] = []
        self.slots: list[int] = []
        self.lim: list[tuple[float, float, float]] = []
        self.bias: list[tuple[float, float, float]] = []
        self.kps: dict[str, KeypointDef] = {}

    def add(self, name, parent, pos, xz, y=1.0, slot=3, lim=(0, 0, 0), bias=(0, 0, 0)) -> int:
        p = self.names.index(parent) if isinstance(parent, str) else parent
        self.names.append(name)
        self.joints.append(tuple(float(v) for v in pos))
        self.parents.append(p)
        self.xz.append(xz)
        self.y.append(y)
        self.slots.append(slot)
        self.lim.append(lim)
        self.bias.append(bias)
        return len(self.names) - 2  # bone index

    def bone(self, joint_name: str) -> int:
        return self.names.index(joint_name) - 1

    def leg(self, side, front, attach, girdle, knee, ankle, foot, xz, kp_prefix) -> None:
        """Girdle + 2 or 3 segments; side 'l' (x > 0) or 'r'."""
        sx = 1.0 if side == "l" else -1.0
        tag = f"{side}{'f' if front else 'b'}"
        upper, lower = (9, 13) if side == "r" else (10, 14)
        if not front:
            upper, lower = upper + 2, lower + 2
        g = self.add(f"{tag}_girdle", attach, (sx * girdle[0], girdle[1], girdle[2]), xz[0], 1.0, 3)
        self.add(
            f"{tag}_knee", g + 1, (sx * knee[0], knee[1], knee[2]), xz[1], 1.1, upper, (8, 5, 28)
        )
        b_mid = self.add(
            f"{tag}_ankle",
            f"{tag}_knee",
            (sx * ankle[0], ankle[1], ankle[2]),
            xz[2],
            1.1,
            lower,
            (5, 5, 25),
            (0, 0, 0),
        )
        if foot is not None:
            self.add(
                f"{tag}_foot",
                f"{tag}_ankle",
                (sx * foot[0], foot[1], foot[2]),
                xz[3],
                1.1,
                lower,
                (3, 3, 20),
            )
        self.kps[f"{kp_prefix}uleg".replace("X", side)] = KeypointDef(
            self.bone(f"{tag}_knee"), "joint"
        )
        self.kps[f"{kp_prefix}lleg".replace("X", side)] = KeypointDef(b_mid, "joint")

    def build(self, biped: bool, texture: Texture) -> AnimalTemplate:
        for k in self.kps:
            if k not in KEYPOINT_NAMES:
                raise ValueError(f"template {self.name}: unknown keypoint {k}")
        return AnimalTemplate(
            name=self.name,
            biped=biped,
            texture=texture,
            names=self.names,
            joints=np.asarray(self.joints, dtype=np.float64),
            parents=self.parents,
            part_scale_xz=self.xz,
            part_scale_y=self.y,
            slots=self.slots,
            limits=np.asarray(self.lim, dtype=np.float64),
            bias=np.asarray(self.bias, dtype=np.float64),
            keypoints=dict(self.kps),
        )


def _head_keypoints(b: _Builder, head: int, ears: bool, ear_bones: tuple[int, int] | None) -> None:
    b.kps["leye"] = KeypointDef(head, "surface", 0.3, (0.8, 0.45, 0.2))
    b.kps["reye"] = KeypointDef(head, "surface", 0.3, (-0.8, 0.45, 0.2))
    if ears and ear_bones is not None:
        b.kps["lear"] = KeypointDef(ear_bones[0], "along", 0.5)
        b.kps["rear"] = KeypointDef(ear_bones[1], "along", 0.5)


def _quadruped(
    name: str,
    texture: Texture,
    body: float,
    leg: float,
    neck: tuple[float, float],
    head: float,
    tail: float,
    thick: float,
    leg_xz: float,
    ear: float = 0.07,
    trunk: float = 0.0,
    ear_xz: float = 0.35,
) -> AnimalTemplate:
    """A quadruped: body length ``body``, leg length ``leg``, neck (length, angle° above
    horizontal), head length, tail length, torso thickness factor, leg thickness factor."""
    b = _Builder(name)
    half = body / 2
    b.add("chest", 0, (0, 0.02, half), thick, 1.35, 3, (4, 3, 5))
    b.add("rump", 0, (0, 0.0, -half), thick, 1.35, 3, (4, 3, 5))
    nl, na = neck
    ca, sa = np.cos(np.radians(na)), np.sin(np.radians(na))
    neck_top = (0, 0.02 + nl * sa, half + nl * ca)
    b.add("neck", "chest", neck_top, 0.28 if nl < 0.5 else 0.16, 1.1, 1, (18, 5, 18))
    head_end = (0, neck_top[1] - 0.35 * head, neck_top[2] + 0.94 * head)
    h = b.add("head", "neck", head_end, 0.33, 1.12, 2, (14, 8, 14))
    ears = []
    for side, sx in (("l", 1), ("r", -1)):
        e = b.add(
            f"{side}_ear",
            "neck",
            (sx * ear * 0.9, neck_top[1] + ear, neck_top[2] - 0.02),
            ear_xz,
            1.0,
            2,
            (0, 0, 0),
        )
        ears.append(e)
    _head_keypoints(b, h, True, (ears[0], ears[1]))
    if trunk > 0:
        t1 = b.add(
            "trunk1",
            "head",
            (0, head_end[1] - 0.55 * trunk, head_end[2] + 0.12 * trunk),
            0.22,
            1.05,
            2,
            (10, 10, 20),
        )
        t2 = b.add(
            "trunk2",
            "trunk1",
            (0, head_end[1] - 1.0 * trunk, head_end[2] + 0.2 * trunk),
            0.18,
            1.05,
            2,
            (10, 10, 25),
        )
        del t1
        b.kps["muzzle"] = KeypointDef(t2, "joint")
    else:
        b.kps["muzzle"] = KeypointDef(h, "surface", 1.0, (0.0, -0.15, 1.0))
    t = b.add(
        "tail1",
        "rump",
        (0, 0.02 - 0.35 * tail, -half - 0.55 * tail),
        0.1,
        1.05,
        4,
        (25, 15, 20),
        (0, 0, 0),
    )
    b.add(
        "tail2", "tail1", (0, 0.02 - 0.85 * tail, -half - 0.75 * tail), 0.09, 1.05, 4, (25, 15, 25)
    )
    b.kps["tail"] = KeypointDef(t, "along", 0.0)
    w = 0.12 * thick / 0.45
    y_top = -0.05
    for side in ("l", "r"):
        for front, z in ((True, half * 0.9), (False, -half * 0.9)):
            b.leg(
                side,
                front,
                "chest" if front else "rump",
                (w, y_top, z),
                (w, y_top - 0.48 * leg, z + (0.02 if front else -0.06)),
                (w, y_top - 0.9 * leg, z - (0.01 if front else -0.02)),
                (w, y_top - 1.0 * leg, z + 0.03),
                (0.5, leg_xz, leg_xz * 0.8, leg_xz * 0.9),
                f"{side}{'f' if front else 'b'}",
            )
    return b.build(False, texture)


def _kangaroo() -> AnimalTemplate:
    b = _Builder("kangaroo")
    b.add("chest", 0, (0, 0.32, 0.12), 0.5, 1.3, 3, (4, 4, 8))
    b.add("rump", 0, (0, -0.22, -0.1), 0.62, 1.3, 3, (4, 4, 6))
    b.add("neck", "chest", (0, 0.52, 0.2), 0.3, 1.1, 1, (15, 5, 15))
    h = b.add("head", "neck", (0, 0.55, 0.45), 0.3, 1.12, 2, (15, 8, 12))
    ears = [
        b.add(f"{s}_ear", "neck", (sx * 0.05, 0.72, 0.18), 0.22, 1.0, 2)
        for s, sx in (("l", 1), ("r", -1))
    ]
    _head_keypoints(b, h, True, (ears[0], ears[1]))
    b.kps["muzzle"] = KeypointDef(h, "surface", 1.0, (0.0, -0.1, 1.0))
    t = b.add("tail1", "rump", (0, -0.5, -0.5), 0.17, 1.05, 4, (10, 10, 10))
    b.add("tail2", "tail1", (0, -0.62, -0.95), 0.1, 1.05, 4, (8, 10, 10))
    b.kps["tail"] = KeypointDef(t, "along", 0.0)
    for side, sx in (("l", 1), ("r", -1)):
        # arms (front "legs"): girdle, upper arm, forearm
        b.leg(
            side,
            True,
            "chest",
            (0.1, 0.3, 0.22),
            (0.11, 0.12, 0.3),
            (0.1, 0.02, 0.42),
            None,
            (0.3, 0.2, 0.16),
            f"{side}f",
        )
        # legs: girdle, thigh, shin, long foot forward
        b.leg(
            side,
            False,
            "rump",
            (0.13, -0.25, -0.05),
            (0.14, -0.38, 0.15),
            (0.12, -0.72, -0.12),
            (0.12, -0.76, 0.22),
            (0.4, 0.38, 0.17, 0.12),
            f"{side}b",
        )
        del sx
    return b.build(True, "kangaroo")


def _bird_limbs(b: _Builder, wing: tuple, leg: tuple) -> None:
    """Both sides' wings (front limbs on the chest) and legs (back limbs on the rump); ``wing`` /
    ``leg`` = (girdle, knee, ankle, foot or None, thickness per segment) as :meth:`_Builder.leg`."""
    for side in ("l", "r"):
        b.leg(side, True, "chest", *wing, f"{side}f")
        b.leg(side, False, "rump", *leg, f"{side}b")


def _penguin() -> AnimalTemplate:
    b = _Builder("penguin")
    b.add("chest", 0, (0, 0.34, 0.02), 0.78, 1.3, 3, (3, 3, 6))
    b.add("rump", 0, (0, -0.3, 0.0), 0.85, 1.3, 3, (3, 3, 6))
    b.add("neck", "chest", (0, 0.5, 0.03), 0.9, 1.1, 1, (10, 5, 8))
    h = b.add("head", "neck", (0, 0.66, 0.12), 0.65, 1.3, 2, (20, 6, 12))
    _head_keypoints(b, h, False, None)
    beak = b.add("beak", "head", (0, 0.62, 0.3), 0.18, 1.05, 2, (3, 3, 5))
    b.kps["muzzle"] = KeypointDef(beak, "joint")
    t = b.add("tail1", "rump", (0, -0.58, -0.2), 0.25, 1.05, 4, (8, 8, 8))
    b.kps["tail"] = KeypointDef(t, "along", 0.0)
    _bird_limbs(
        b,
        ((0.18, 0.32, 0.0), (0.24, 0.1, -0.02), (0.26, -0.14, -0.04), None, (0.3, 0.22, 0.18)),
        ((0.1, -0.45, 0.02), (0.1, -0.6, 0.06), (0.1, -0.66, 0.2), None, (0.3, 0.45, 0.3)),
    )
    return b.build(True, "penguin")


def _flamingo() -> AnimalTemplate:
    """A long-necked wading bird: horizontal body, an S-shaped two-bone neck, folded wings (the
    front limbs) and long thin legs with a forward foot."""
    b = _Builder("flamingo")
    b.add("chest", 0, (0, 0.05, 0.26), 0.85, 1.3, 3, (4, 4, 6))
    b.add("rump", 0, (0, 0.0, -0.28), 0.8, 1.3, 3, (4, 4, 6))
    b.add("neck", "chest", (0, 0.36, 0.34), 0.16, 1.1, 1, (15, 5, 15))
    b.add("neck2", "neck", (0, 0.64, 0.22), 0.13, 1.1, 1, (15, 5, 15))
    h = b.add("head", "neck2", (0, 0.68, 0.36), 0.42, 1.12, 2, (15, 8, 12))
    _head_keypoints(b, h, False, None)
    beak = b.add("beak", "head", (0, 0.6, 0.47), 0.22, 1.05, 2, (3, 3, 5))
    b.kps["muzzle"] = KeypointDef(beak, "joint")
    t = b.add("tail1", "rump", (0, 0.02, -0.45), 0.3, 1.05, 4, (8, 8, 8))
    b.kps["tail"] = KeypointDef(t, "along", 0.0)
    _bird_limbs(
        b,
        ((0.17, 0.1, 0.14), (0.2, 0.12, -0.06), (0.18, 0.08, -0.3), None, (0.3, 0.33, 0.28)),
        ((0.07, -0.12, 0.0), (0.07, -0.5, 0.03), (0.07, -0.95, 0.0), (0.07, -0.98, 0.1),
         (0.3, 0.11, 0.09, 0.2)),
    )  # fmt: skip
    return b.build(True, "flamingo")


def _templates() -> dict[str, AnimalTemplate]:
    return {
        "zebra": _quadruped("zebra", "zebra", 0.8, 0.62, (0.42, 50), 0.34, 0.34, 0.42, 0.2),
        "tiger": _quadruped(
            "tiger", "tiger", 0.95, 0.42, (0.18, 20), 0.24, 0.6, 0.36, 0.26, ear=0.09, ear_xz=0.45
        ),
        "giraffe": _quadruped(
            "giraffe", "giraffe", 0.6, 0.85, (0.9, 62), 0.3, 0.35, 0.42, 0.14, ear=0.08
        ),
        "elephant": _quadruped(
            "elephant",
            "elephant",
            0.85,
            0.6,
            (0.12, 15),
            0.34,
            0.3,
            0.55,
            0.38,
            ear=0.16,
            trunk=0.45,
            ear_xz=0.9,
        ),
        "kangaroo": _kangaroo(),
        "penguin": _penguin(),
        # the two body plans of the wide preset: a short-legged carnivore and a long-necked bird
        "badger": _quadruped(
            "badger", "badger", 0.9, 0.28, (0.12, 15), 0.26, 0.2, 0.42, 0.3, ear=0.06
        ),
        "flamingo": _flamingo(),
    }


TEMPLATES: dict[str, AnimalTemplate] = _templates()
