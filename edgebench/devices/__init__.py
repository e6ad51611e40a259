"""Device profiles: the YAML schema and the registry that finds profiles by name or path."""

from edgebench.devices import derive
from edgebench.devices.profile import (
    AgentConnection,
    CostModel,
    DeviceProfile,
    Runtime,
    Sourced,
)
from edgebench.devices.registry import get_device, list_devices, load_profile, profile_dirs, save_profile

__all__ = [
    "AgentConnection",
    "CostModel",
    "DeviceProfile",
    "Runtime",
    "Sourced",
    "derive",
    "get_device",
    "list_devices",
    "load_profile",
    "profile_dirs",
    "save_profile",
]
