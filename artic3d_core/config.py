"""Typed configuration: ``params.yaml`` → pydantic models.

``params.yaml`` is the single source of parameters (DVC reads the same file). Every section is a
strict model (``extra="forbid"``): an unknown or mistyped key fails with a message that names
the key and the file. Overrides use the CLI form ``section.key=value`` (the value is parsed as
YAML, so ``3``, ``0.5``, ``true``, ``[1, 2]`` and ``null`` work).

YAML is read with a bounded loader: a document whose aliases expand to more than
:data:`MAX_YAML_NODES` nodes (a "billion laughs" bomb) or refer to themselves is refused
before anything is built from it, and error messages show user input shortened to a few
hundred characters, so a small hostile file or ``--set`` value costs milliseconds, not gigabytes.

Each package owns the model of its own section (``artic3d_core/<package>/config.py``); this
module composes them into :class:`Params` and holds the loader.
"""

from __future__ import annotations

import copy
import hashlib
import json
import reprlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from artic3d_core.animate.config import AnimateConfig
from artic3d_core.data.config import DataConfig, SynthConfig
from artic3d_core.data.safe_paths import check_name
from artic3d_core.eval.config import EvalConfig
from artic3d_core.features.config import FeaturesConfig
from artic3d_core.guidance.config import GuidanceConfig
from artic3d_core.losses.config import LossesConfig
from artic3d_core.model.config import ModelConfig
from artic3d_core.optim.config import OptimConfig
from artic3d_core.prior.config import PriorConfig
from artic3d_core.render.config import RenderConfig
from artic3d_core.skeleton.config import SkeletonConfig
from artic3d_core.strict import StrictModel
from artic3d_core.weights import WeightsConfig

__all__ = [
    "MAX_YAML_NODES",
    "ConfigError",
    "Params",
    "PipelineConfig",
    "apply_overrides",
    "load_params",
    "params_hash",
    "safe_yaml_load",
]

DEFAULT_PARAMS_FILE = "params.yaml"
# Nodes a YAML document may hold once its aliases are expanded; params.yaml holds a few hundred.
MAX_YAML_NODES = 100_000
_MAX_SHOWN = 300  # characters of user input an error message shows
_MAX_ERRORS = 20  # validation errors listed in one message


class ConfigError(ValueError):
    """A configuration problem, with the file and the key in the message."""


class _YamlTooLarge(yaml.YAMLError):
    pass


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for kv in node.value for n in kv]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expanded_size(root: yaml.Node, limit: int) -> None:
    """Raise _YamlTooLarge when ``root`` expands (aliases copied out) to more than ``limit``
    nodes or an alias refers to a node that contains it. Iterative, each node visited once."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            size = 1 + sum(sizes[id(c)] for c in _children(node))
            if size > limit:
                raise _YamlTooLarge(
                    f"aliases expand to more than {limit} nodes (an alias bomb?); "
                    "write the values out instead"
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _YamlTooLarge("an alias refers to a node that contains it")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that checks the composed document's expanded size before constructing it."""

    def compose_document(self) -> yaml.Node:
        node = super().compose_document()
        if node is not None:
            _check_expanded_size(node, MAX_YAML_NODES)
        return node


def safe_yaml_load(text: str) -> Any:
    """``yaml.safe_load`` with alias expansion bounded (see the module docstring).

    Raises ``yaml.YAMLError`` for invalid YAML, a document over :data:`MAX_YAML_NODES` expanded
    nodes, a self-referring alias, or nesting too deep for the parser.
    """
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader subclass
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None


_repr = reprlib.Repr()
_repr.maxlevel = 3
_repr.maxdict = _repr.maxlist = _repr.maxtuple = _repr.maxset = 6
_repr.maxstring = _repr.maxother = 120


def _shorten(text: str, limit: int = _MAX_SHOWN) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _show(value: Any) -> str:
    """A bounded ``repr`` of user input: nested containers are elided, never expanded in full."""
    return _shorten(_repr.repr(value))


class PipelineConfig(StrictModel):
    """What the orchestration runs (``pipeline`` section; owned by flows/ and tasks/).

    ``cells`` lists the enabled ``dataset/class`` pairs (datasets: synthetic, lassie, e-lassie,
    pascal_part, folder); every cell runs every method in ``methods``. DVC expands the same two
    lists into its stage matrix, so this is the one place that enables a dataset.
    """

    run_dir: str = "runs"
    metrics_dir: str = "metrics"
    reports_dir: str = "reports"
    cells: list[str] = Field(default_factory=lambda: ["synthetic/zebra", "synthetic/kangaroo"])
    methods: list[str] = Field(default_factory=lambda: ["hi-lassie", "hi-lassie+", "artic3d"])
    # Image sets read for the synthetic dataset (lassie: clean; e-lassie: clean + occluded).
    synthetic_sets: list[Literal["clean", "occluded"]] = Field(
        default_factory=lambda: ["clean", "occluded"]
    )
    crop_size: int | None = Field(None, ge=32)  # null: 1024 for the DINO HR pass, else mask size
    max_instances: int | None = Field(None, ge=1)  # null: optimise every instance
    animate: bool = False  # run the animation stage (T-DASS) after instance optimisation
    max_concurrency: int = Field(1, ge=1)  # cells run at once by the benchmark flow
    gpus: list[str] = Field(default_factory=list)  # e.g. [cuda:0, cuda:1]; [] = params.device
    dask_address: str | None = None  # tcp://host:8786 of a Dask scheduler; null = local
    schedule_cron: str = "0 3 * * 1"  # the scheduled benchmark rerun (Prefect deployment)

    @field_validator("cells")
    @classmethod
    def _check_cells(cls, cells: list[str]) -> list[str]:
        known = {"synthetic", "lassie", "e-lassie", "pascal_part", "folder"}
        for c in cells:
            parts = c.split("/")
            if len(parts) != 2 or not all(parts):
                raise ValueError(f"cell {c!r}: expected 'dataset/class'")
            if parts[0] not in known:
                raise ValueError(f"cell {c!r}: unknown dataset (expected one of {sorted(known)})")
            check_name(parts[1], f"cell {c!r}: class")  # it names folders under the roots
        if len(set(cells)) != len(cells):
            raise ValueError("cells: duplicates")
        return cells


class Params(StrictModel):
    """The whole ``params.yaml``."""

    seed: int = 0
    device: str = "auto"
    weights: WeightsConfig = Field(default_factory=WeightsConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    synth: SynthConfig = Field(default_factory=SynthConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    skeleton: SkeletonConfig = Field(default_factory=SkeletonConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    render: RenderConfig = Field(default_factory=RenderConfig)
    losses: LossesConfig = Field(default_factory=LossesConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    guidance: GuidanceConfig = Field(default_factory=GuidanceConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    animate: AnimateConfig = Field(default_factory=AnimateConfig)
    prior: PriorConfig = Field(default_factory=PriorConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)

    def crop_size(self) -> int:
        """Side of the square crops preprocessing reads: ``pipeline.crop_size``, else 1024 for
        the DINO HR pass, else the mask (render) size. The optimiser resizes per stage."""
        f = self.features
        if self.pipeline.crop_size:
            return self.pipeline.crop_size
        return f.hr_size if (f.backend == "dino" and f.hr_pass) else f.mask_size

    def eval_render_size(self) -> int:
        """Side of the PCK / mask-IoU renders: ``eval.render_size``, else the largest image size
        of the optimisation schedule's stages."""
        return self.eval.render_size or max(s.image_size for s in self.optim.stages())


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    errors = err.errors(include_url=False)
    for e in errors[:_MAX_ERRORS]:
        key = _shorten(".".join(str(p) for p in e["loc"]) or "<root>", 120)
        if e["type"] == "extra_forbidden":
            lines.append(f"  unknown key '{key}'")
        else:
            got = e.get("input")
            got_s = "" if isinstance(got, dict) else f" (got {_show(got)})"
            lines.append(f"  key '{key}': {_shorten(e['msg'])}{got_s}")
    if len(errors) > _MAX_ERRORS:
        lines.append(f"  … and {len(errors) - _MAX_ERRORS} more")
    return "\n".join(lines)


def _parse_override(item: str) -> tuple[list[str], Any]:
    shown = _show(item)
    if "=" not in item:
        raise ConfigError(f"override {shown}: expected section.key=value")
    key, raw = item.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise ConfigError(f"override {shown}: empty key")
    try:
        value = safe_yaml_load(raw) if raw.strip() != "" else ""
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"override {shown}: value is not valid YAML ({_shorten(str(exc))})"
        ) from None
    return path, value


def apply_overrides(raw: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """Return a copy of ``raw`` with ``section.key=value`` overrides applied.

    A key that does not exist in the schema is caught later by validation (with its name).
    """
    out = copy.deepcopy(raw)
    for item in overrides or []:
        path, value = _parse_override(item)
        node = out
        for p in path[:-1]:
            nxt = node.get(p)
            if nxt is None:
                nxt = {}
                node[p] = nxt
            if not isinstance(nxt, dict):
                raise ConfigError(f"override {_show(item)}: '{_shorten(p, 120)}' is not a section")
            node = nxt
        node[path[-1]] = value
    return out


def load_params(
    path: str | Path | None = DEFAULT_PARAMS_FILE, overrides: list[str] | None = None
) -> Params:
    """Load ``params.yaml`` (or defaults when ``path`` is None) and apply overrides.

    Raises :class:`ConfigError` naming the file and the offending key.
    """
    source = "<defaults>" if path is None else str(path)
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{source}: parameter file not found")
        try:
            loaded = safe_yaml_load(p.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML ({_shorten(str(exc))})") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{source}: top level must be a mapping, got {type(loaded).__name__}")
        raw = loaded
    raw = apply_overrides(raw, overrides)
    if overrides:
        source = f"{source} (with overrides {_shorten(', '.join(overrides))})"
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source)) from None


def params_hash(params: Params, sections: list[str] | None = None) -> str:
    """Short, stable hash of the whole config, or of the named sections only."""
    data = params.model_dump(mode="json")
    if sections is not None:
        data = {k: data[k] for k in sections}
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
