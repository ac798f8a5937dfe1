"""Flow ``prior-train``: train the synthetic prior (``python -m flows.prior``; the DVC stage
``prior`` and ``artic3d prior train`` run the same library function)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows import PROJECT_ROOT
from flows.common import fail, load
from tasks.errors import BadInputError, StageUnavailableError
from tasks.prior import prior_train_task


@flow(name="prior-train")
def prior_train(
    params_file: str = "params.yaml",
    overrides: list[str] | None = None,
    project_root: str = str(PROJECT_ROOT),
) -> dict[str, Any]:
    from artic3d_core.prior.card import card_markdown

    card = prior_train_task(load(params_file, overrides, project_root), project_root)
    create_markdown_artifact(card_markdown(card), key="synthetic-prior-card")
    return card


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m flows.prior", description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--set", dest="overrides", action="append", default=None)
    a = ap.parse_args(argv)
    logging.getLogger("artic3d.prior").setLevel(logging.INFO)
    try:
        card = prior_train(a.params, a.overrides)
        print(f"synthetic prior: {card['total_seconds']} s, UNet loss {card['unet']['final_loss']}")
    except (BadInputError, StageUnavailableError, ValueError) as exc:
        fail(exc)


if __name__ == "__main__":
    main()
