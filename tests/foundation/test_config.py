from pathlib import Path

import pytest

from artic3d_core.config import ConfigError, Params, apply_overrides, load_params, params_hash

ROOT = Path(__file__).resolve().parents[2]


def test_project_params_yaml_loads():
    p = load_params(ROOT / "params.yaml")
    assert isinstance(p, Params)
    assert p.weights.profile in ("tiny", "full-random", "real")


def test_unknown_key_names_key_and_file(tmp_path):
    f = tmp_path / "params.yaml"
    f.write_text("seed: 1\nweights:\n  profle: tiny\n")
    with pytest.raises(ConfigError) as exc:
        load_params(f)
    msg = str(exc.value)
    assert str(f) in msg and "weights.profle" in msg and "unknown key" in msg


def test_mistyped_value_names_key(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("seed: not-a-number\n")
    with pytest.raises(ConfigError, match=r"key 'seed'.*not-a-number"):
        load_params(f)


def test_bad_literal_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"weights\.profile"):
        load_params(None, ["weights.profile=huge"])
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")


def test_overrides_parse_yaml_values():
    p = load_params(None, ["seed=7", "weights.sd.path=/x/y", "weights.hf_cache=null"])
    assert p.seed == 7 and p.weights.sd.path == "/x/y" and p.weights.hf_cache is None
    raw = apply_overrides({"a": {"b": 1}}, ["a.c=[1, 2]"])
    assert raw == {"a": {"b": 1, "c": [1, 2]}}
    with pytest.raises(ConfigError, match=r"expected section\.key=value"):
        apply_overrides({}, ["seed"])
    with pytest.raises(ConfigError, match="not a section"):
        apply_overrides({"seed": 1}, ["seed.x=1"])


def test_params_hash_tracks_content():
    a, b = load_params(None), load_params(None, ["seed=1"])
    assert params_hash(a) == params_hash(load_params(None))
    assert params_hash(a) != params_hash(b)
    assert params_hash(a, ["weights"]) == params_hash(b, ["weights"])
