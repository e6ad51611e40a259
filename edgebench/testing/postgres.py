"""A throwaway PostgreSQL server for tests of shared studies: its own cluster (``initdb``), reached only through a
Unix socket in a private folder (no TCP port), trusted for the ``postgres`` role, removed when stopped."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SOCKET_PORT = 5432  # names the socket file only: the server listens on no TCP address


def binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (on PATH, else Debian's ``/usr/lib/postgresql/*/bin``), or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return debian[0].parent if debian else None


@dataclass
class Postgres:
    """A running throwaway cluster; ``url(db)`` is the SQLAlchemy URL of one of its databases."""

    bin_dir: Path
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@/{database}?host={self.root}&port={SOCKET_PORT}"

    def _run(self, *args: str) -> None:
        # PostgreSQL refuses to run as root: as root, run it as its own system user
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True)

    def start(self) -> Postgres:
        options = f"-k {self.root} -p {SOCKET_PORT} -c listen_addresses='' -c fsync=off -c max_connections=300"
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                  "-w", "start")  # fmt: skip
        return self

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        self._run(str(self.bin_dir / "createdb"), "-h", str(self.root), "-p", str(SOCKET_PORT), "-U", "postgres", name)
        return self.url(name)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(bin_dir: Path) -> Postgres:
    """``initdb`` a cluster in a new private folder under the system temp folder (short enough for a socket path,
    and reachable by the ``postgres`` user when running as root) and start it."""
    root = Path(tempfile.mkdtemp(prefix="eb-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = Postgres(bin_dir, root)
    server._run(str(bin_dir / "initdb"), "-D", str(server.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    return server.start()
