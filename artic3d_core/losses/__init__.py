"""Loss functions of docs/method.md §6 (every loss but DASS, which lives in ``guidance``)."""

from artic3d_core.losses.mesh import inflation_loss, laplacian_loss, normal_consistency_loss
from artic3d_core.losses.priors import (
    canonical_prior,
    global_prior,
    instance_prior,
    pose_prior,
    shape_prior,
)
from artic3d_core.losses.reconstruction import (
    part_centre_loss,
    semantic_chamfer_loss,
    silhouette_loss,
    texture_init_loss,
    texture_loss,
)

__all__ = [
    "canonical_prior",
    "global_prior",
    "inflation_loss",
    "instance_prior",
    "laplacian_loss",
    "normal_consistency_loss",
    "part_centre_loss",
    "pose_prior",
    "semantic_chamfer_loss",
    "shape_prior",
    "silhouette_loss",
    "texture_init_loss",
    "texture_loss",
]
