"""The HTML report of a results table: computed (:mod:`.data`), drawn (:mod:`.plots`), rendered (:mod:`.render`)."""

from edgebench.reporting.render import write_report

__all__ = ["write_report"]
