"""``python -m edgebench`` runs the CLI."""

from edgebench.cli import app

app(prog_name="edgebench")
