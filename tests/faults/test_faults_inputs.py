"""Bad inputs fail fast with one clear error naming the file and the problem: ids that would
leave their dataset root, malformed annotation CSVs, YAML alias bombs, empty optimisation
schedules, a full disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artic3d_core.data.records import DataError

ROOT = Path(__file__).resolve().parents[2]

KPS = json.dumps(
    [
        {"x": 10.0, "y": 20.0, "keypointlabels": ["Left eye"]},
        {"x": 60.0, "y": 70.0, "keypointlabels": ["Muzzle (tip of nose)"]},
    ]
)


def _png(path: Path, w: int = 40, h: int = 30) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w, 3), 128, dtype=np.uint8)).save(path)


def _lassie(tmp_path: Path, csv_text: str, ids=("1", "2")) -> Path:
    """A LASSIE root of class 'zebra' with images ``ids`` and ``annotations/zebra.csv``."""
    root = tmp_path / "root" / "lassie"
    for i in ids:
        _png(root / "images" / "zebra" / f"input_{i}.png")
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "zebra.csv").write_text(csv_text)
    return root


def _csv(*rows: str) -> str:
    return "id,img_url,kps\n" + "".join(r + "\n" for r in rows)


def _row(i: str, url: str = "http://example.invalid/x.jpg") -> str:
    return f'{i},{url},"{KPS.replace(chr(34), chr(34) * 2)}"'


# --- 1. ids and paths stay inside their dataset root ------------------------------------------


@pytest.mark.fault(
    "annotation id with '..' or a separator",
    result="clean error naming file and line",
    data_lost="none (nothing read or written)",
)
@pytest.mark.parametrize(
    ("bad_id", "problem"),
    [
        ("x/../../../outside", "path separator"),
        ("..", "'..'"),
        ("/etc/passwd", "path separator"),
        ("a\\..\\b", "path separator"),
        ("..evil", "'..'"),
    ],
)
def test_lassie_id_escaping_the_root_fails_the_load(tmp_path, bad_id, problem):
    from artic3d_core.data.lassie import load_lassie

    root = _lassie(tmp_path, _csv(_row("1"), _row("2"), _row(bad_id)))
    # the image an escaping id points at exists: the load must still refuse it
    _png(tmp_path / "root" / "outside.png")
    _png(root / "images" / "zebra" / "input_x" / "outside.png")
    with pytest.raises(DataError) as exc:
        load_lassie(root, "zebra", policy="skip")
    msg = str(exc.value)
    assert "zebra.csv:4" in msg and "id" in msg and problem in msg


@pytest.mark.fault("class name escaping the dataset root", result="clean error", data_lost="none")
def test_class_name_escaping_the_root_fails_every_loader(tmp_path):
    from artic3d_core.data.loaders import load_class

    root = _lassie(tmp_path, _csv(_row("1"), _row("2")))
    for ds in ("lassie", "e-lassie", "pascal_part", "folder", "synthetic"):
        with pytest.raises(DataError, match=r"class '\.\./lassie' contains a path separator"):
            load_class(ds, root / "images", "../lassie")
    from artic3d_core.data.folder import load_folder

    with pytest.raises(DataError, match=r"class '\.\.'"):
        load_folder(root / "images" / "zebra", "..")


@pytest.mark.fault(
    "Pascal-Part list entry escaping the root",
    result="clean error naming file and line",
    data_lost="none",
)
def test_pascal_list_entry_must_be_a_plain_name(tmp_path):
    from artic3d_core.data.pascal_part import load_pascal_part

    root = tmp_path / "pascal"
    (root / "image_sets").mkdir(parents=True)
    (root / "image_sets" / "horse.txt").write_text("2008_000001\n..\\..\\secret.jpg\n")
    with pytest.raises(DataError, match=r"horse\.txt:2: image .* path separator"):
        load_pascal_part(root, "horse", policy="skip")


@pytest.mark.fault(
    "synthetic ground-truth id escaping the root", result="clean error", data_lost="none"
)
def test_synthetic_ground_truth_id_must_be_a_plain_name(tmp_path):
    from artic3d_core.data.synthetic.ground_truth import load_ground_truth

    gdir = tmp_path / "ground_truth" / "zebra"
    gdir.mkdir(parents=True)
    (gdir / "gt.json").write_text(json.dumps({"images": [{"id": "../../../x"}]}))
    (gdir / "skeleton.json").write_text("{}")
    with pytest.raises(DataError, match=r"gt\.json: id '\.\./\.\./\.\./x' contains a path"):
        load_ground_truth(tmp_path, "zebra")


@pytest.mark.fault(
    "data fetch with an escaping id",
    result="refused before any download",
    data_lost="none (nothing written)",
)
def test_fetch_refuses_an_escaping_id_before_downloading(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from artic3d_cli.main import app
    from artic3d_core.data import fetch

    root = _lassie(tmp_path, _csv(_row("1"), _row("3"), _row("x/../../../../pwned")), ids=("1",))
    calls: list[Path] = []
    monkeypatch.setattr(fetch, "_download", lambda url, dest, timeout: calls.append(dest))
    with pytest.raises(DataError, match=r"zebra\.csv:4: id 'x/\.\./.*path separator"):
        fetch.fetch_lassie(root, ["zebra"])
    assert calls == []
    res = CliRunner().invoke(
        app, ["data", "fetch", "lassie", "--root", str(root), "--classes", "zebra"]
    )
    assert res.exit_code == 2, res.output
    assert "zebra.csv:4" in res.output and "Traceback" not in res.output
    assert calls == [] and not (tmp_path / "pwned.png").exists()
    assert not list(tmp_path.rglob("input_x*"))


# --- 3. CSV inputs ----------------------------------------------------------------------------


@pytest.mark.fault(
    "CSV with an unterminated quote",
    result="clean error naming file and line",
    data_lost="none (no row swallowed)",
)
def test_unterminated_quote_names_file_and_line(tmp_path):
    from artic3d_core.data.lassie import load_lassie

    # the open quote on line 3 would swallow the rows after it into one cell
    text = _csv(_row("1"), '2,"http://example.invalid/2.jpg,[]', _row("3"))
    root = _lassie(tmp_path, text, ids=("1", "2", "3"))
    with pytest.raises(DataError, match=r"zebra\.csv:3: .*quote left open"):
        load_lassie(root, "zebra")
    # closed only at the very end of the file
    root = _lassie(tmp_path, _csv(_row("1"), '2,"http://x,[]', "3,http://y,[]"))
    with pytest.raises(DataError, match=r"zebra\.csv:3: .*quote left open"):
        load_lassie(root, "zebra")


@pytest.mark.fault(
    "CSV cell with a line break or > 64 Ki chars",
    result="clean error naming file and line",
    data_lost="none",
)
def test_cell_with_a_line_break_or_oversized_is_an_error(tmp_path):
    from artic3d_core.data.lassie import MAX_CELL_CHARS, load_lassie

    text = _csv(_row("1"), '2,"http://x\n3,http://y",[]')
    root = _lassie(tmp_path, text)
    with pytest.raises(DataError, match=r"zebra\.csv:3: a cell spans lines 3-4"):
        load_lassie(root, "zebra")
    root = _lassie(tmp_path, _csv(_row("1"), f"2,http://{'x' * (MAX_CELL_CHARS + 1)},[]"))
    with pytest.raises(DataError, match=r"zebra\.csv:3: .*characters"):
        load_lassie(root, "zebra")
    root = _lassie(tmp_path, _csv(_row("1"), f"2,http://{'x' * 200_000},[]"))
    with pytest.raises(DataError, match=r"zebra\.csv:3: "):
        load_lassie(root, "zebra")


@pytest.mark.fault(
    "kps cell nested 20,000-50,000 deep", result="clean error naming file and row", data_lost="none"
)
def test_deeply_nested_kps_cell_names_file_and_row(tmp_path):
    from artic3d_core.data.lassie import load_lassie, parse_kps_cell

    deep = "[" * 50_000 + "]" * 50_000
    root = _lassie(tmp_path, _csv(_row("1"), f"2,http://x,{deep}", _row("3")), ids=("1", "2", "3"))
    with pytest.raises(DataError, match=r"zebra\.csv:3: a cell has 100000 characters"):
        load_lassie(root, "zebra")
    deep = "[" * 20_000 + "]" * 20_000  # within the cell limit: the nesting bound applies
    root = _lassie(tmp_path, _csv(_row("1"), f"2,http://x,{deep}", _row("3")), ids=("1", "2", "3"))
    with pytest.raises(DataError, match=r"zebra\.csv:3 \(id 2\): 'kps' cell is nested deeper"):
        load_lassie(root, "zebra", policy="stop")
    recs = load_lassie(root, "zebra", policy="skip")
    assert [r.image_id for r in recs] == ["1", "3"]
    for cell in ("{'a': " * 50_000 + "1" + "}" * 50_000, '[{"x": "' + "[" * 100 + '"}]'):
        with pytest.raises(DataError, match=r"f\.csv:2"):
            parse_kps_cell(cell, "f.csv:2")
    # brackets inside strings do not count
    ok = json.dumps([{"x": 1.0, "y": 2.0, "keypointlabels": ["[" * 20]}])
    assert parse_kps_cell(ok) == [("[" * 20, 1.0, 2.0)]


# --- 2. YAML alias bombs ----------------------------------------------------------------------


def _bomb(levels: int = 8) -> str:
    """A flow-style "billion laughs" list: 9**levels strings from ~300 bytes."""
    names = "abcdefghij"
    items = ['&a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    items += [f"&{names[i]} [{','.join([f'*{names[i - 1]}'] * 9)}]" for i in range(1, levels)]
    return "[" + ", ".join(items) + "]"


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _assert_fast_and_small(fn, match: str) -> str:
    import time

    from artic3d_core.config import ConfigError

    rss0, t0 = _peak_rss_mb(), time.process_time()
    with pytest.raises(ConfigError, match=match) as exc:
        fn()
    # CPU time, not wall time (the machine may be shared); an unbounded bomb takes minutes
    assert time.process_time() - t0 < 5.0
    assert _peak_rss_mb() - rss0 < 100.0
    msg = str(exc.value)
    assert len(msg) < 1500 and msg.count("lol") <= 9  # at most the input as written
    return msg


@pytest.mark.fault(
    "YAML alias bomb in params.yaml", result="refused, < 5 s CPU, < 100 MB", data_lost="none"
)
def test_alias_bomb_in_params_file_is_refused(tmp_path):
    from artic3d_core.config import load_params

    f = tmp_path / "params.yaml"
    f.write_text(f"pipeline:\n  cells: {_bomb()}\n")
    msg = _assert_fast_and_small(lambda: load_params(f), "alias bomb")
    assert str(f) in msg


@pytest.mark.fault(
    "YAML alias bomb in a --set value", result="refused, < 5 s CPU, < 100 MB", data_lost="none"
)
def test_alias_bomb_in_set_override_is_refused(tmp_path):
    from typer.testing import CliRunner

    from artic3d_cli.main import app
    from artic3d_core.config import load_params

    item = f"pipeline.cells={_bomb()}"
    assert len(item) < 340
    _assert_fast_and_small(lambda: load_params(None, [item]), r"pipeline\.cells.*alias bomb")
    _assert_fast_and_small(lambda: load_params(None, ["seed=&a [*a]"]), "refers to a node")
    out = tmp_path / "synth"
    res = CliRunner().invoke(
        app, ["synth", "--out", str(out), "-p", str(tmp_path / "none.yaml"), "-s", item]
    )
    assert res.exit_code == 2 and "alias bomb" in res.output, res.output
    assert "Traceback" not in res.output and not out.exists()


@pytest.mark.fault("long input in a config error", result="message shortened", data_lost="none")
def test_benign_aliases_and_long_inputs_in_messages(tmp_path):
    from artic3d_core.config import ConfigError, load_params

    f = tmp_path / "params.yaml"
    f.write_text("seed: &s 3\nsynth:\n  seed: *s\n")
    assert load_params(f).synth.seed == 3
    big = "[" + ",".join(str(i) for i in range(5_000)) + "]"
    with pytest.raises(ConfigError, match=r"key 'seed'") as exc:
        load_params(None, [f"seed={big}"])
    assert len(str(exc.value)) < 1500
    with pytest.raises(ConfigError, match=r"key 'pipeline\.cells\.0'") as exc:
        load_params(None, [f"pipeline.cells=[{','.join(['[1]'] * 500)}]"])
    assert len(str(exc.value)) < 3000 and "more" in str(exc.value)


# --- 4. empty schedules and stages without iterations ------------------------------------------


@pytest.mark.fault(
    "empty schedule / stage with iters 0", result="config error naming the key", data_lost="none"
)
@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("optim.schedules.demo=[]", r"key 'optim\.schedules'.*schedule 'demo' has no stages"),
        ("optim.schedules.x=[{name: a, iters: 0}]", r"key 'optim\.schedules\.x\.0\.iters'"),
        (
            "optim.schedules.x=[{name: a, phase: instance, params: [mlp_instance]}]",
            r"schedule 'x' has no joint stage",
        ),
    ],
)
def test_schedule_without_optimisation_is_a_config_error(override, match):
    from artic3d_core.config import ConfigError, load_params

    with pytest.raises(ConfigError, match=match):
        load_params(None, [override])


@pytest.mark.fault(
    "artic3d run with an empty schedule", result="exit 2, one line", data_lost="none"
)
def test_cli_rejects_an_empty_schedule():
    from typer.testing import CliRunner

    from artic3d_cli.main import app

    res = CliRunner().invoke(
        app,
        ["run", "-p", str(ROOT / "params.yaml"), "-s", "optim.schedules.demo=[]"],
    )
    assert res.exit_code == 2, res.output
    assert "optim.schedules" in res.output and "no stages" in res.output


# --- 5. a full disk says so --------------------------------------------------------------------


def _partial_then(exc: BaseException):
    def writer(tmp: str) -> None:
        Path(tmp).write_bytes(b"PK\x03\x04 half an archive")
        raise exc

    return writer


@pytest.mark.fault(
    "disk full while writing an artifact",
    result="'no space left on device'",
    data_lost="none (no temp file, target kept)",
)
@pytest.mark.parametrize(
    "exc",
    [
        OSError(28, "No space left on device"),
        RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 64 vs 0"),
    ],
)
def test_full_disk_is_reported_and_leaves_nothing_behind(tmp_path, monkeypatch, exc):
    import errno
    import shutil

    from artic3d_core import atomic

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        atomic.shutil, "disk_usage", lambda p: usage._replace(free=0, used=usage.total)
    )
    target = tmp_path / "out" / "model.pt"
    target.parent.mkdir()
    target.write_bytes(b"previous artifact")
    with pytest.raises(atomic.DiskFullError) as info:
        atomic.atomic_write(target, _partial_then(exc))
    err = info.value
    assert isinstance(err, OSError) and err.errno == errno.ENOSPC
    assert "no space left on device" in str(err) and str(target) in str(err)
    assert type(exc).__name__ in str(err) and "\n" not in str(err)
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.pt"]
    assert target.read_bytes() == b"previous artifact"


@pytest.mark.fault(
    "disk full inside torch.save",
    result="'no space left on device'",
    data_lost="none (no temp file, target kept)",
)
def test_enospc_in_the_cause_chain_or_from_torch_save(tmp_path, monkeypatch):
    import errno
    import shutil

    import torch

    from artic3d_core import atomic

    def writer(tmp: str) -> None:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as e:
            raise RuntimeError("unexpected pos 128 vs 0") from e

    with pytest.raises(atomic.DiskFullError, match="no space left on device"):
        atomic.atomic_write(tmp_path / "a.pt", writer)
    assert list(tmp_path.iterdir()) == []

    # torch.save's real failure on a full device (/dev/full), the filesystem reported full
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda p: usage._replace(free=4096))
    with pytest.raises(atomic.DiskFullError, match=r"b\.pt: no space left on device"):
        atomic.atomic_write(
            tmp_path / "b.pt", lambda t: torch.save(torch.zeros(10**5), "/dev/full")
        )
    assert list(tmp_path.iterdir()) == []


def test_other_write_failures_are_not_called_disk_full(tmp_path):
    from artic3d_core import atomic

    with pytest.raises(RuntimeError, match="unexpected pos"):
        atomic.atomic_write(tmp_path / "c.pt", _partial_then(RuntimeError("unexpected pos 1")))
    with pytest.raises(ValueError, match="bad"):
        atomic.atomic_write(tmp_path / "d.pt", _partial_then(ValueError("bad")))
    assert list(tmp_path.iterdir()) == []
