import numpy as np
import torch
import trimesh

from artic3d_core.animate.render import render_sequence, write_gif, write_mp4
from artic3d_core.animate.sequences import self_interpolation
from artic3d_core.export.gltf_rig import write_rigged_glb
from artic3d_core.export.model_rig import model_animation, posed_world_vertices, rig_from_model
from artic3d_core.export.validate import validate_gltf
from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.skeleton.toy import quadruped_skeleton


def _model():
    sk = quadruped_skeleton()
    m = ArticulatedModel(sk, n_instances=2, seed=0)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        m.bone_rot.copy_(torch.randn(m.bone_rot.shape, generator=g) * 0.3)
        m.bone_rot_rest.copy_(torch.randn(m.bone_rot_rest.shape, generator=g) * 0.1)
        m.global_rot.copy_(torch.randn(m.global_rot.shape, generator=g) * 0.5)
        m.global_trans.copy_(torch.randn(m.global_trans.shape, generator=g) * 0.1)
        m.text_img.copy_(torch.randn(m.text_img.shape, generator=g))
        for p in m.parts.parameters():  # visible deformations
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
    return m


def test_model_rig_glb_reimports_to_the_model_vertices(tmp_path):
    m = _model()
    inst, level = 1, 2
    rig = rig_from_model(m, inst, level=level)
    poses = self_interpolation(m.bone_rot[inst].detach(), 16)
    anim = model_animation(m, poses, fps=8.0, name="self")
    path = write_rigged_glb(tmp_path / "zebra_1.glb", rig, [anim])
    rep = validate_gltf(path)
    assert rep.errors == 0, rep.messages
    want = posed_world_vertices(m, inst, level)  # (nb, V, 3) camera frame, frame 0 = own pose
    scene = trimesh.load(path, force="scene")
    V = want.shape[1]
    for b in range(m.nb):
        T, geom = scene.graph[f"bone_{b:02d}"]
        got = trimesh.transform_points(np.asarray(scene.geometry[geom].vertices)[:V], T)
        np.testing.assert_allclose(got, want[b], atol=1e-4)


def test_render_sequence_and_videos(tmp_path):
    m = _model()
    poses = self_interpolation(m.bone_rot[0].detach(), 4)
    seq = render_sequence(m, 0, poses, image_size=48, level=1, progress=False)
    assert seq.frames.shape == (4, 3, 48, 48)
    assert seq.pix_to_face.shape == (4, 48, 48) and (seq.pix_to_face >= 0).any()
    assert seq.verts_2d.shape[0] == 4 and int(seq.pix_to_face.max()) < seq.faces.shape[0]
    # frames differ as the pose changes; background stays white
    assert (seq.frames[0] - seq.frames[-1]).abs().max() > 0.1
    bg = seq.pix_to_face[0] < 0
    assert torch.allclose(seq.frames[0][:, bg], torch.ones(1))
    gif = write_gif(tmp_path / "a.gif", seq.frames, fps=8)
    mp4 = write_mp4(tmp_path / "a.mp4", seq.frames, fps=8)
    import imageio.v3 as iio

    assert iio.imread(gif).shape[0] == 4
    assert mp4.stat().st_size > 0 and not list(tmp_path.glob(".*"))
