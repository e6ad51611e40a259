"""Where a device's numbers come from, decided once: a :class:`Target` resolved from its profile's ``connection``.

``local`` devices are timed on this machine, devices with ``connection: {agent: URL}`` through their agent, and
devices with ``connection: none`` are estimated by their profile's cost model. A target opens converted artifacts
where they run (an estimated device's are run here, to score their outputs, never to time them), names the CPU
and runtime version behind its numbers, and labels them with their :class:`~edgebench.types.Source`. Nothing else
asks whether a device is reachable.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from edgebench.agent_client import AgentClient, RemoteSession
from edgebench.backends import get_backend
from edgebench.backends.base import Artifact, Opened
from edgebench.devices import AgentConnection, DeviceProfile
from edgebench.devices.local import cpu_model
from edgebench.exceptions import UnreachableDeviceError, UnsupportedError
from edgebench.spelling import option
from edgebench.types import Source


@dataclass(frozen=True)
class Target(ABC):
    """A device as edgebench reaches it."""

    #: The label of the latencies this target gives: measured here, through the agent, or estimated.
    source: ClassVar[Source]
    profile: DeviceProfile

    @property
    def measures(self) -> bool:
        """Whether latencies are timed (here or on the device), rather than estimated."""
        return self.source is not Source.ESTIMATED

    @abstractmethod
    def open(self, artifact: Artifact, threads: int) -> Opened:
        """A session of ``artifact`` where this target runs it (to score its outputs and, if it measures, time it).

        Raises:
            UnsupportedError: a processor this machine cannot run the artifact on.
        """

    @abstractmethod
    def facts(self, backend: str) -> tuple[str, str]:
        """The CPU and ``backend``'s runtime version behind this target's numbers.

        Raises:
            UnsupportedError: the agent has no such runtime. BackendUnavailableError: neither has this machine.
        """

    def require_measurable(self) -> Target:
        """This target, if it can time networks; UnreachableDeviceError naming the ways out if not."""
        return self


@dataclass(frozen=True)
class Local(Target):
    """A device this machine is: its CPU runs and times the artifacts."""

    source = Source.MEASURED

    def open(self, artifact: Artifact, threads: int) -> Opened:
        device = self.profile.runtime(artifact.backend).device
        if device != "CPU":
            raise UnsupportedError(
                f"device '{self.profile.name}' runs {artifact.backend} on {device}, which edgebench times only "
                "through an agent; set connection: {agent: URL} in its profile, or device: CPU"
            )
        return get_backend(artifact.backend).open(artifact, threads)

    def facts(self, backend: str) -> tuple[str, str]:
        return _facts_here(backend)


@dataclass(frozen=True)
class Agent(Target):
    """A device with an edgebench agent: artifacts are sent to it, run and timed there."""

    source = Source.AGENT
    client: AgentClient

    def open(self, artifact: Artifact, threads: int) -> Opened:
        return RemoteSession(self.client, artifact, threads, self.profile.runtime(artifact.backend).device)

    def facts(self, backend: str) -> tuple[str, str]:
        info = self.client.info()
        runtimes = info["runtimes"]
        if backend not in runtimes:
            raise UnsupportedError(
                f"agent {self.client.url} has no {backend} runtime (it has {', '.join(runtimes) or 'none'}); "
                "install it on the device and restart the agent"
            )
        return str(info["cpu"]), str(runtimes[backend])


@dataclass(frozen=True)
class Estimated(Target):
    """A device not reachable from here: its latencies are its cost model's; artifacts run here only to be scored."""

    source = Source.ESTIMATED

    def open(self, artifact: Artifact, threads: int) -> Opened:
        return get_backend(artifact.backend).open(artifact, threads)

    def facts(self, backend: str) -> tuple[str, str]:
        return _facts_here(backend)  # where the artifact is scored

    def require_measurable(self) -> Target:
        raise UnreachableDeviceError(
            f"device '{self.profile.name}' is not attached to this machine (connection: none), so it cannot be "
            f"measured here: {option('device', 'host')} measures this machine, `edgebench predict` estimates this "
            "device, and "
            "the edgebench agent on the device with connection: {agent: URL} in its profile measures it there"
        )


def _facts_here(backend: str) -> tuple[str, str]:
    return cpu_model(), get_backend(backend).version()


def _kind(profile: DeviceProfile) -> type[Target]:
    if profile.connection == "local":
        return Local
    return Agent if isinstance(profile.connection, AgentConnection) else Estimated


def target_for(profile: DeviceProfile) -> Target:
    """The target a profile's ``connection`` names.

    Raises:
        UnreachableDeviceError: a device behind an agent whose token is not set (before any work starts).
    """
    kind = _kind(profile)
    if kind is Agent:
        assert isinstance(profile.connection, AgentConnection)
        return Agent(profile, AgentClient.for_connection(profile.connection, profile.name))
    return kind(profile)


def source_of(profile: DeviceProfile) -> Source:
    """The label a profile's latencies carry, without reaching the device (for listings, plans and cached tables)."""
    return _kind(profile).source
