"""``artic3d run``: one class end to end without Prefect (for debugging).

Calls :func:`artic3d_core.pipeline.reconstruct.reconstruct_class`, the same stage functions and
seeds the Prefect flow runs, into the same run folder (``pipeline.run_dir``): data (every image
set the dataset has) → input enhancement (methods that enhance) → features → skeleton → joint →
instances → evaluation. Prints a per-stage time table (pipeline stages and the optimisation
stages under them, :mod:`artic3d_core.pipeline.timing`), then one JSON line with the metrics per
image set and the seconds per pipeline stage: the JSON line is always the last line of stdout.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import typer

from artic3d_cli.common import DebugOpt, DeviceOpt, ParamsOpt, SetOpt, load_or_exit, user_error
from artic3d_core.data.config import DATASETS


def _ensure_synthetic(cfg, root: Path) -> None:
    """Generate the synthetic benchmark (``synth`` settings) when its folder is absent."""
    from artic3d_core.data.synthetic.generator import generate

    s = cfg.synth
    typer.echo(f"generating the synthetic benchmark in {root}")
    generate(root, s.classes, s.seed, s.preset, s.n_clean, s.n_occluded, s.image_size,
             s.supersample, s.contact_sheet, s.split)  # fmt: skip


HEADLINE_METRICS = (
    "pck",
    "pck_reference",
    "pck_bbox",
    "mask_iou",
    "part_iou",
    "clip_s1",
    "clip_s2",
    "joint3d_err_rel",
    "azim_err_mirror_deg",
)


def headline(metrics: dict) -> dict[str, dict[str, float]]:
    """``{set: {pck, mask_iou, ...}}`` from an evaluation's ``metrics.json``."""
    out: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        set_name, metric = key.split("/", 1)
        if metric in HEADLINE_METRICS:
            out.setdefault(set_name, {})[metric] = round(float(value), 2)
    return out


def image_counts(data_dir: Path) -> dict[str, int]:
    """``{set: images, ..., "total": images}`` from the data stage's index."""
    from collections import Counter

    from artic3d_core.pipeline.stage_files import read_crop_index

    counts = Counter(str(r["set"]) for r in read_crop_index(data_dir))
    return {**dict(sorted(counts.items())), "total": sum(counts.values())}


def run(
    dataset: str = typer.Option("synthetic", help=" | ".join(DATASETS)),
    cls: str = typer.Option("zebra", "--cls", help="class name"),
    method: str = typer.Option("hi-lassie", help="hi-lassie | hi-lassie+ | artic3d"),
    outputs: bool = typer.Option(True, help="write meshes, renders and GIFs per instance"),
    params: ParamsOpt = Path("params.yaml"),
    set_: SetOpt = None,
    device: DeviceOpt = None,
    debug: DebugOpt = False,
    fresh: bool = typer.Option(
        False,
        help="Start the method's run folder anew: move the old one aside to <method>.old-<time> "
        "(without it, a run folder made from other images or parameters is refused).",
    ),
) -> None:
    """Reconstruct one class end to end and print PCK@0.1 / mask IoU per image set.

    Instances: ``-s pipeline.max_instances=N`` (the rest are evaluated with the joint shape).
    The names, the parameter file and the class's images are checked before anything heavy is
    imported: a mistake is one or two lines and exit status 2 (``--debug``: the traceback)."""
    from artic3d_core.errors import BadInputError
    from artic3d_core.pipeline.inputs import check_choice, check_run_inputs, data_sets
    from artic3d_core.pipeline.methods import METHODS

    try:  # the names first: they need no parameter file
        check_choice("dataset", dataset, DATASETS, "--dataset")
        check_choice("method", method, METHODS, "--method")
    except BadInputError as exc:
        user_error(exc, debug)
    cfg = load_or_exit(params, set_, device, debug)
    try:
        root = check_run_inputs(cfg, dataset, cls, method)
    except BadInputError as exc:
        user_error(exc, debug)

    from artic3d_core.device import resolve_device
    from artic3d_core.pipeline.reconstruct import reconstruct_class
    from artic3d_core.run_lock import RunFolderBusyError

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    dev = resolve_device(cfg.device)
    t0 = time.time()
    if dataset == "synthetic" and not root.is_dir():
        _ensure_synthetic(cfg, root)
    typer.echo(f"{dataset}/{cls} {method}: image sets {', '.join(data_sets(cfg, dataset))}")
    try:
        res = reconstruct_class(
            cfg, cfg.pipeline.run_dir, dataset, cls, method, dev, log=typer.echo,
            outputs=outputs, fresh=fresh,
        )  # fmt: skip
    except (BadInputError, RunFolderBusyError) as exc:
        user_error(exc, debug)
    summary = {
        "dataset": dataset,
        "class": cls,
        "method": method,
        "images": image_counts(res.dirs["data"][0]),
        "sets": headline(res.metrics),
        "pck_per_keypoint": {
            k.split("/")[0]: v for k, v in res.metrics.items() if k.endswith("/pck_per_keypoint")
        },
        "notes": {k.split("/")[0]: v for k, v in res.metrics.items() if k.endswith("/notes")},
        "eval": str(res.dirs["eval"][0]),
        "minutes": round((time.time() - t0) / 60, 2),
        "stage_seconds": {k: round(v, 2) for k, v in res.seconds.items()},
    }
    from artic3d_core.pipeline.timing import format_time_table

    typer.echo(format_time_table(res.time_table()))
    typer.echo(json.dumps(summary))
