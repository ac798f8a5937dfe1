"""Named methods and the guidance section of params.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from artic3d_core.guidance.config import GuidanceConfig
from artic3d_core.pipeline.methods import METHODS, get_method


def test_methods_as_named_configurations():
    assert {"hi-lassie", "hi-lassie+", "artic3d", "artic3d-enhance", "artic3d-dass"} == METHODS
    h, hp, a = (get_method(n) for n in ("hi-lassie", "hi-lassie+", "artic3d"))
    assert (h.enhance_inputs, h.guidance, h.stages) == (False, "none", ())
    assert (hp.enhance_inputs, hp.guidance) == (False, "sds")
    assert (a.enhance_inputs, a.guidance) == (True, "dass")
    assert hp.guided("instance_refine") and a.guided("instance_refine")
    assert not h.guided("instance_refine") and not a.guided("joint_all")
    enh, dass = get_method("artic3d-enhance"), get_method("artic3d-dass")
    assert (enh.enhance_inputs, enh.guidance, enh.stages) == (True, "none", ())
    assert (dass.enhance_inputs, dass.guidance, dass.stages) == (
        False,
        "dass",
        ("instance_refine",),
    )
    custom = get_method("artic3d", GuidanceConfig(guided_stages=["shape", "texture"]))
    assert custom.stages == ("shape", "texture")


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(
        ValueError, match=r"'artic'.*artic3d, artic3d-dass, artic3d-enhance, hi-lassie, hi-lassie\+"
    ):
        get_method("artic")


def test_params_yaml_guidance_block_matches_code_defaults():
    raw = yaml.safe_load((Path(__file__).parents[2] / "params.yaml").read_text())
    cfg = GuidanceConfig.model_validate(raw["guidance"])
    # params.yaml is the CPU demo: a 64² prior resolution and foreground-keeping enhancement
    # (random weights); every other value is the paper's default
    assert cfg.image_size == 64 and cfg.enhance.keep_foreground
    paper = cfg.model_copy(
        update={
            "image_size": GuidanceConfig().image_size,
            "enhance": cfg.enhance.model_copy(update={"keep_foreground": False}),
        }
    )
    assert paper == GuidanceConfig()
    assert (cfg.enhance.t, cfg.enhance.n, cfg.enhance.g, cfg.enhance.bg_noise) == (
        100,
        10,
        12,
        0.05,
    )
    assert (cfg.dass.t, cfg.dass.n, cfg.dass.g, cfg.dass.weight) == (250, 3, 12, 5e-5)
    assert (cfg.tdass.t, cfg.tdass.n, cfg.tdass.g) == (250, 3, 12)


def test_config_rejects_bad_values():
    with pytest.raises(ValidationError, match="extra"):
        GuidanceConfig.model_validate({"dass": {"steps": 3}})
    with pytest.raises(ValidationError, match="t_min"):
        GuidanceConfig.model_validate({"sds": {"t_min": 600, "t_max": 500}})
    with pytest.raises(ValidationError, match="multiple of 8"):
        GuidanceConfig(image_size=100)
    with pytest.raises(ValidationError):
        GuidanceConfig(guided_params=["texture", "lights"])
