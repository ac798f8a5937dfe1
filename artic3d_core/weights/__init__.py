"""The model registry: Stable Diffusion 2.1-base, DINO ViT-S/8 and CLIP ViT-B/32.

Three profiles build the same architectures:

* ``real`` — pretrained weights from a local path or an *existing* Hugging Face cache, offline.
  Never a download: a missing file fails fast with the path tried and the command that fetches
  it on a connected machine (:class:`MissingWeightsError`).
* ``tiny`` — small configs with seeded random weights, for CPU tests and the CPU demo.
* ``full-random`` — the real sizes with seeded random weights, for GPU timing.
* ``synthetic`` — the diffusion model trained on the synthetic animals (``artic3d prior train``,
  committed under ``weights.synthetic_path``), loaded by the ``real`` code path and recorded as
  the ``synthetic prior``; DINO and CLIP build as ``tiny``.

Weights load through safetensors, or ``torch.load(weights_only=True)`` where only a pickle
exists — never arbitrary pickles. Every loader returns a :class:`WeightsInfo` (profile, source,
fingerprint, ``random`` flag) that every artifact and metrics row records.

Heavy libraries (torch, diffusers, timm, open_clip, transformers) are imported inside the
functions, so ``import artic3d_core.config`` stays light.

Modules: :mod:`.config` (the params section, :class:`WeightsInfo`), :mod:`.resolve` (finding
real weights; ``weights check``), :mod:`.loading` (what the loaders share), :mod:`.tokenizer`,
and one loader per model: :mod:`.sd`, :mod:`.dino`, :mod:`.clip`. Every public name is
importable from this package.
"""

from artic3d_core.weights.clip import load_clip
from artic3d_core.weights.config import (
    DEFAULT_HUB_IDS,
    MODEL_NAMES,
    SYNTHETIC_PRIOR_NAME,
    SYNTHETIC_PRIOR_PATH,
    ModelName,
    ModelSource,
    Profile,
    WeightsConfig,
    WeightsInfo,
)
from artic3d_core.weights.dino import load_dino
from artic3d_core.weights.loading import load_state_dict_file
from artic3d_core.weights.resolve import (
    FETCH_HINT,
    MissingWeightsError,
    ResolvedWeights,
    WeightsStatus,
    check_weights,
    fingerprint_files,
    resolve_real,
    resolve_synthetic,
)
from artic3d_core.weights.sd import (
    SD_LATENT_SCALE,
    SD_SCHEDULER,
    DiffusionComponents,
    load_stable_diffusion,
)
from artic3d_core.weights.tokenizer import HFTokenizer, OpenClipTokenizer, write_clip_tokenizer

__all__ = [
    "DEFAULT_HUB_IDS",
    "FETCH_HINT",
    "MODEL_NAMES",
    "SD_LATENT_SCALE",
    "SD_SCHEDULER",
    "SYNTHETIC_PRIOR_NAME",
    "SYNTHETIC_PRIOR_PATH",
    "DiffusionComponents",
    "HFTokenizer",
    "MissingWeightsError",
    "ModelName",
    "ModelSource",
    "OpenClipTokenizer",
    "Profile",
    "ResolvedWeights",
    "WeightsConfig",
    "WeightsInfo",
    "WeightsStatus",
    "check_weights",
    "fingerprint_files",
    "load_clip",
    "load_dino",
    "load_stable_diffusion",
    "load_state_dict_file",
    "resolve_real",
    "resolve_synthetic",
    "write_clip_tokenizer",
]
