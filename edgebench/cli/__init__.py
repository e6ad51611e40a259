"""The ``edgebench`` command: one thin module per command (parse, call one api function, render); errors become one
line and exit 2. Every option means the same in every command: see ``common``."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from edgebench.cli import (
    agent,
    bench,
    calibrate,
    devices,
    estimator,
    predict,
    profile,
    prune,
    report,
    run,
    search,
    train,
)

app = typer.Typer(
    help="Pick the student network to deploy on an edge device, and know its accuracy and latency cost.\n\n"
    "Example: edgebench search --device myriadx --latency 15ms",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
) -> None:
    """edgebench: which student network should I deploy on this device, and what will it cost?"""
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("edgebench").setLevel(logging.DEBUG if debug else logging.WARNING)


app.add_typer(devices.app, name="devices")
app.add_typer(train.teacher_app, name="teacher")
for command in (
    bench.bench, profile.profile, calibrate.calibrate, predict.predict, prune.prune, train.train,
    estimator.estimator, search.search, run.run, report.report, agent.agent,
):  # fmt: skip
    app.command(command.__name__)(command)

__all__ = ["app"]
