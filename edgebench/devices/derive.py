"""A profile for a device edgebench does not ship, started from one it does: every cost-model number copied and
marked as a copied prior, ready to be replaced by measurements or ``edgebench calibrate``."""

from __future__ import annotations

from typing import Any

from edgebench.devices.profile import DeviceProfile

#: What every copied number's note says, so ``devices show`` and the YAML tell a copied prior from a measurement.
COPIED_NOTE = "copied prior, not this device's: replace with a measurement or run `edgebench calibrate`"


def _copy_numbers(node: Any, origin: str) -> Any:
    """``node`` (a dumped cost model) with every sourced number's source prefixed by ``origin`` and noted as copied."""
    if isinstance(node, dict):
        if {"value", "source"} <= node.keys():
            return {**node, "source": f"copied from {origin}: {node['source']}", "note": COPIED_NOTE}
        return {k: _copy_numbers(v, origin) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy_numbers(v, origin) for v in node]
    return node


def like(name: str, template: DeviceProfile) -> DeviceProfile:
    """A new, unreachable device ``name`` with ``template``'s runtimes and cost model as copied priors (its
    runtimes' op rates too): its calibrations are dropped (they were fitted on the template's measurements) and an
    ``auto`` channel, output or pixel block (which reads this machine's CPU) is written out as the block it resolves
    to here.

    Raises:
        pydantic.ValidationError: ``name`` is not a valid profile name.
    """
    data = template.model_dump(mode="json")
    cost = _copy_numbers({k: v for k, v in data["cost_model"].items() if k != "calibrations"}, template.name)
    runtimes = [
        {
            **_copy_numbers(r, template.name),
            **template.blocks(r["backend"]),
        }
        for r in data["runtimes"]
    ]
    return DeviceProfile.model_validate(
        {
            **data,
            "name": name,
            "description": f"{name}: not yet measured; every cost-model number is a prior copied from {template.name} "
            f"({template.description})",
            "runtimes": runtimes,
            "connection": "none",
            "cost_model": cost,
        }
    )
