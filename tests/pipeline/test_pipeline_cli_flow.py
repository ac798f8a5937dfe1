"""``artic3d run`` and the Prefect path run one pipeline: the CLI enhances the inputs of a
method that asks for it, each guidance reads its own prompt, every image set is scored, and the
CLI and the flow give the same metrics for the same cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from artic3d_core.config import load_params
from artic3d_core.data.synthetic import generate
from artic3d_core.pipeline import stage_files as sf
from artic3d_core.pipeline.layout import Cell, RunLayout

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "a drawing of a {species} on grass"


@pytest.fixture(scope="module")
def cell_overrides(tmp_path_factory, tiny_overrides) -> tuple[Path, list[str]]:
    """A 3 clean + 1 occluded synthetic zebra at 64² and the tiny settings pointing at it."""
    root = tmp_path_factory.mktemp("cli-flow")
    synth = root / "synthetic"
    generate(synth, ["zebra"], seed=0, preset="demo", n_clean=3, n_occluded=1, image_size=64,
             contact_sheet=False)  # fmt: skip
    return root, [
        *tiny_overrides,
        f"data.synthetic_root={synth}",
        "features.backend=oracle",
        "features.mask_size=64",
        "pipeline.max_instances=2",
        "pipeline.animate=false",
        f"guidance.dass.prompt={PROMPT}",
    ]


@pytest.fixture(scope="module")
def cli_result(cell_overrides) -> tuple[Path, dict, str]:
    """(run folder, JSON summary, stdout) of one ``artic3d run`` on the tiny settings."""
    from artic3d_cli.main import app

    root, ov = cell_overrides
    run_dir = root / "cli"
    args = ["run", "--dataset", "synthetic", "--cls", "zebra", "--method", "artic3d"]
    for o in [*ov, f"pipeline.run_dir={run_dir}"]:
        args += ["--set", o]
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    return run_dir, summary, res.output


@pytest.fixture(scope="module")
def cli_run(cli_result) -> tuple[Path, dict]:
    return cli_result[:2]


def test_cli_artic3d_enhances_inputs_and_uses_each_guidance_prompt(cli_run) -> None:
    run_dir, summary = cli_run
    lay, cell = RunLayout(run_dir), Cell("synthetic", "zebra")
    ids = [str(r["image_id"]) for r in sf.read_crop_index(lay.data_dir(cell))]
    assert len(ids) == 4
    for i in ids:  # one enhanced crop per image, made with the enhancement's own prompt
        rec = sf.read_enhance_record(lay.enhanced_dir(cell, "artic3d", i))
        assert rec["settings"]["prompt"] == "A photo of zebra"
    assert sf.read_features_info(lay.features_dir(cell, "artic3d"))["enhanced_inputs"]
    # DASS in the optimisation: guidance.dass.prompt (overridden), not a hard-coded text
    inst = sf.read_summary(lay.instance_dir(cell, "artic3d", 0))
    assert (inst["guidance"], inst["prompt"]) == ("dass", "a drawing of a zebra on grass")
    # every image set of the dataset is reconstructed and scored, each on its own
    assert set(summary["sets"]) == {"clean", "occluded"}
    assert {"pck", "mask_iou", "joint3d_err_rel", "azim_err_mirror_deg"} <= set(
        summary["sets"]["clean"]
    )


def test_sds_reads_its_own_prompt(make_params) -> None:
    from artic3d_core.pipeline.methods import get_method, guidance_prompt

    p = make_params(["guidance.sds.prompt=sds {cls}", f"guidance.dass.prompt={PROMPT}"])
    assert guidance_prompt(p.guidance, get_method("hi-lassie+"), "zebra") == "sds zebra"
    assert guidance_prompt(p.guidance, get_method("artic3d"), "zebra") == PROMPT.format(
        species="zebra"
    )
    assert guidance_prompt(p.guidance, get_method("hi-lassie"), "zebra") == ""


def test_cli_and_flow_give_the_same_metrics(cli_run, cell_overrides) -> None:
    from flows.pipeline import run_cell
    from tasks.context import StageContext

    root, ov = cell_overrides
    run_dir, _ = cli_run
    flow_dir = root / "flow"
    p = load_params(ROOT / "params.yaml", [*ov, f"pipeline.run_dir={flow_dir}"])
    ctx = StageContext(p, Cell("synthetic", "zebra"), "artic3d", "cpu", False, str(root))
    res = run_cell(ctx, as_tasks=False)
    assert res.eval_dir is not None
    cell = Cell("synthetic", "zebra")
    cli = sf.read_eval_summary(RunLayout(run_dir).stage_dir(cell, "artic3d", "eval"))
    flow = sf.read_eval_summary(res.eval_dir)
    assert {"clean/pck", "occluded/pck", "clean/mask_iou", "occluded/mask_iou"} <= set(cli)
    print(json.dumps({k: v for k, v in cli.items() if k.endswith(("/pck", "/mask_iou"))}))
    # each run's wall time is its own; every other number is bit-identical (same stage
    # functions, same seeds, same inputs)
    timed = {k for k in cli if k.endswith("/minutes")}
    assert timed == {"clean/minutes", "occluded/minutes"} == {k for k in flow if k in timed}
    assert all(cli[k] > 0 and flow[k] > 0 for k in timed)
    assert {k: v for k, v in cli.items() if k not in timed} == {
        k: v for k, v in flow.items() if k not in timed
    }


def test_cli_prints_a_per_stage_time_table(cli_result, cell_overrides) -> None:
    from artic3d_core.pipeline.methods import get_method, method_stages

    run_dir, summary, out = cli_result
    lines = out.strip().splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("stage "))
    assert lines[head].split() == [
        "stage", "phase", "count", "resumed", "iters", "image_size", "mesh_level", "batch",
        "seconds", "s_per_iter",
    ]  # fmt: skip
    rows = {}
    for ln in lines[head + 1 : -1]:
        cells = ln.split()
        rows[(cells[0], cells[1])] = cells
    print("\n".join(lines[head:-1]))
    pipeline = ["data", "rough_fg", "enhance", "features", "skeleton", "joint", "instance", "eval"]
    assert [k for k, ph in rows if ph == "pipeline"] == pipeline
    assert rows[("enhance", "pipeline")][2] == "4" and rows[("instance", "pipeline")][2] == "2"
    assert set(summary["stage_seconds"]) == set(pipeline)
    assert all(v >= 0 for v in summary["stage_seconds"].values())
    # the metrics' minutes: the stages before the evaluation (rounding: 0.01 s per stage)
    before = sum(v for k, v in summary["stage_seconds"].items() if k != "eval")
    metrics = sf.read_eval_summary(
        RunLayout(run_dir).stage_dir(Cell("synthetic", "zebra"), "artic3d", "eval")
    )
    assert metrics["clean/minutes"] == pytest.approx(before / 60, abs=0.1 / 60)
    # every optimisation stage of the schedule, joint ones with batch B, instance ones summed
    # over the 2 instances, fitted together (batch 2); figures from the schedule's stage specs
    p = load_params(ROOT / "params.yaml", cell_overrides[1])
    specs = method_stages(p, get_method("artic3d", p.guidance))
    for spec in specs:
        row = rows[(spec.name, spec.phase)]
        count, batch = ("1", "4") if spec.phase == "joint" else ("2", "2")
        assert row[2:8] == [count, "0", str(spec.iters), str(spec.image_size),
                            str(spec.mesh_level), batch]  # fmt: skip
        assert float(row[8]) >= 0 and float(row[9]) >= 0
    # the summaries record the same figures per stage
    cell = Cell("synthetic", "zebra")
    joint = sf.read_summary(RunLayout(run_dir).stage_dir(cell, "artic3d", "joint"))
    inst = sf.read_summary(RunLayout(run_dir).instance_dir(cell, "artic3d", 1))
    assert {t["batch"] for t in joint["timing"].values()} == {4}
    assert {t["batch"] for t in inst["timing"].values()} == {2}
    assert set(joint["timing"]) | set(inst["timing"]) == {s.name for s in specs}
    assert all(t["seconds"] > 0 and not t["resumed"] for t in inst["timing"].values())
