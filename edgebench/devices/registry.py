"""Find, load and list device profiles: by name from the profile directories, or from a YAML path."""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from edgebench.atomic import write_text_atomic
from edgebench.devices.profile import DeviceProfile
from edgebench.exceptions import ConfigError, UnknownNameError

#: Shipped profiles are package data, found the same way in a wheel and in an editable install.
SHIPPED_DIR = Path(str(resources.files("edgebench.devices") / "profiles"))
#: Extra profile directories, separated by os.pathsep, searched before the shipped ones.
PATH_ENV = "EDGEBENCH_DEVICE_PATH"


def profile_dirs() -> list[Path]:
    """Directories searched for ``NAME.yaml``, in priority order."""
    extra = [Path(p) for p in os.environ.get(PATH_ENV, "").split(os.pathsep) if p]
    return [*extra, SHIPPED_DIR]


def _sentence(message: str) -> str:
    """Pydantic's message as a clause: its first letter lower-cased, names such as L3 or HardSwish kept."""
    return message[:1].lower() + message[1:]


def _format_loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def load_profile(path: str | Path) -> DeviceProfile:
    """Parse one profile file strictly; any problem raises ConfigError naming the file and field."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read device profile ({e.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}:{where} is not valid YAML ({problem}); fix the syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a device profile must be a YAML mapping of fields")
    try:
        profile = DeviceProfile.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"field '{_format_loc(err['loc'])}': {_sentence(err['msg'])}" for err in e.errors())
        raise ConfigError(f"{path}: {problems}") from None
    if path.suffix in (".yaml", ".yml") and profile.name != path.stem:
        raise ConfigError(f"{path}: field 'name': '{profile.name}' must match the file name '{path.stem}'")
    return profile


def _is_path(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or os.sep in name


def profile_paths() -> dict[str, Path]:
    """Every profile name on the search path mapped to its file; earlier directories win."""
    found: dict[str, Path] = {}
    for d in reversed(profile_dirs()):
        for p in sorted(d.glob("*.yaml")) if d.is_dir() else []:
            found[p.stem] = p
    return dict(sorted(found.items()))


def device_path(name_or_path: str) -> Path | None:
    """The file a profile name (or path) refers to, if any."""
    return Path(name_or_path) if _is_path(name_or_path) else profile_paths().get(name_or_path)


def get_device(name_or_path: str) -> DeviceProfile:
    """Load a profile by registered name or by path to a YAML file.

    Raises:
        UnknownNameError: no profile of that name; the message suggests the closest.
        ConfigError: the profile file is malformed.
    """
    if _is_path(name_or_path):
        return load_profile(name_or_path)
    paths = profile_paths()
    if name_or_path not in paths:
        raise UnknownNameError("device", name_or_path, paths)
    return load_profile(paths[name_or_path])


def list_devices() -> list[DeviceProfile]:
    """All registered profiles, by name."""
    return [load_profile(p) for p in profile_paths().values()]


def leading_comments(path: Path) -> list[str]:
    """The comment lines at the top of a profile file, without their '#'."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip())
    return lines


def save_profile(profile: DeviceProfile, path: Path, header: Sequence[str] = ()) -> None:
    """Write a profile as YAML that :func:`load_profile` reads back, behind ``header`` as comment lines."""
    body = yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=120)
    comments = "".join(f"# {line}\n" for line in header)
    write_text_atomic(path, comments + body)  # a probe or calibration killed mid-write leaves the old file whole
