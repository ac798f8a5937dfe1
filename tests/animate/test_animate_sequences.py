import torch

from artic3d_core.animate.sequences import (
    bone_map,
    instance_interpolation,
    ping_pong,
    retarget,
    self_interpolation,
)
from artic3d_core.skeleton.skeleton import Skeleton

J = [[0, 0, 0], [0, 0.3, 0.5], [0, 0.1, -0.7], [0.2, -0.4, 0.3], [-0.2, -0.4, 0.3]]
P = [0, 0, 0, 0, 0]


def test_self_interpolation_endpoints():
    th = torch.randn(4, 3)
    seq = self_interpolation(th, 16)
    assert seq.shape == (16, 4, 3)
    assert torch.allclose(seq[0], th) and torch.allclose(seq[-1], -th)
    assert torch.allclose(seq[7] + seq[8], torch.zeros_like(th), atol=1e-6)  # symmetric about rest
    # the reference's w = v / 7.5 for 16 frames
    assert torch.allclose(seq[3], (1 - 3 / 7.5) * th)


def test_instance_interpolation_and_ping_pong():
    a, b = torch.zeros(4, 3), torch.ones(4, 3)
    seq = instance_interpolation(a, b, 5)
    assert torch.allclose(seq[:, 0, 0], torch.tensor([0, 0.25, 0.5, 0.75, 1.0]))
    assert ping_pong(seq).shape[0] == 8 and torch.equal(ping_pong(seq)[5], seq[3])
    assert ping_pong([0, 1, 2]) == [0, 1, 2, 1]


def test_retarget_by_topology_names_and_structure():
    src = Skeleton(joints=torch.tensor(J, dtype=torch.float32), parents=P)
    seq = torch.randn(6, 4, 3)
    big = Skeleton(joints=torch.tensor(J, dtype=torch.float32) * 2, parents=P)
    assert torch.equal(retarget(seq, src, big), seq)
    # the same animal with its joints listed in another order: matched by names
    names = ["root", "neck", "tail", "leg_r", "leg_l"]
    src_n = Skeleton(joints=torch.tensor(J, dtype=torch.float32), parents=P, names=names)
    order = [0, 3, 4, 1, 2]
    dst_n = Skeleton(
        joints=torch.tensor([J[i] for i in order], dtype=torch.float32),
        parents=P,
        names=[names[i] for i in order],
    )
    out = retarget(seq, src_n, dst_n)
    assert torch.equal(out[:, 0], seq[:, 2]) and torch.equal(out[:, 3], seq[:, 1])
    # structural match: a skeleton without a tail keeps the others, nothing drives missing bones
    no_tail = Skeleton(
        joints=torch.tensor([J[0], J[1], J[3], J[4]], dtype=torch.float32), parents=[0, 0, 0, 0]
    )
    m = bone_map(src, no_tail)
    assert m == [0, 2, 3]
    back = bone_map(no_tail, src)
    assert back == [0, -1, 1, 2]
    assert torch.equal(retarget(seq[:, [0, 2, 3]], no_tail, src)[:, 1], torch.zeros(6, 3))


def test_texture_and_pose_transfer_across_skeletons():
    from artic3d_core.animate.transfer import transfer_pose, transfer_texture

    src = Skeleton(joints=torch.tensor(J, dtype=torch.float32), parents=P)
    no_tail = Skeleton(
        joints=torch.tensor([J[0], J[1], J[3], J[4]], dtype=torch.float32), parents=[0, 0, 0, 0]
    )
    tex = torch.arange(4.0)[:, None, None, None].expand(4, 3, 8, 8)
    out = transfer_texture(tex, src, no_tail)
    assert out.shape == (3, 3, 8, 8)
    assert torch.equal(out[:, 0, 0, 0], torch.tensor([0.0, 2.0, 3.0]))
    back = transfer_texture(out, no_tail, src, texture_dst=torch.full((4, 3, 4, 4), -1.0))
    assert back.shape == (4, 3, 4, 4) and torch.equal(
        back[:, 0, 0, 0], torch.tensor([0.0, -1, 2, 3])
    )
    pose = torch.randn(4, 3)
    assert torch.equal(transfer_pose(pose, src, no_tail), pose[[0, 2, 3]])
