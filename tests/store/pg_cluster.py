"""A throw-away PostgreSQL cluster for the tests: ``initdb`` + ``pg_ctl`` in a temporary folder,
on a free loopback port, password authentication (scram-sha-256), as an unprivileged account.

As root (PostgreSQL refuses to run as root) the cluster runs as the system account ``postgres``
that Debian's package creates, else ``nobody``, in a folder that account owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from daisy_widgets.store.catalog_uri import POSTGRES_SETTINGS

SUPERUSER, PASSWORD = "daisy", "pg-test-secret"


def pg_bin() -> Path | None:
    """Folder of ``initdb``/``pg_ctl`` (PATH, else Debian's /usr/lib/postgresql/<major>/bin), or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return Path(dirs[-1]) if dirs else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self) -> None:
        self.bin = pg_bin()
        if self.bin is None:
            raise FileNotFoundError("PostgreSQL is not installed (no initdb): apt-get install postgresql")
        self.base = Path(tempfile.mkdtemp(prefix="daisy-pg-"))
        self.data, self.port = self.base / "data", free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user = name
                break
            info = pwd.getpwnam(self.user)
            os.chown(self.base, info.pw_uid, info.pw_gid)
            os.chmod(self.base, 0o700)
        pwfile = self.base / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.user:
            info = pwd.getpwnam(self.user)
            os.chown(pwfile, info.pw_uid, info.pw_gid)
        self._run(
            [
                self.bin / "initdb",
                "-D",
                self.data,
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
        opts = {
            **POSTGRES_SETTINGS,
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "''",
            # test-only: a throw-away cluster need not survive a power cut
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        self._run(
            [
                self.bin / "pg_ctl",
                "-D",
                self.data,
                "-l",
                self.base / "log",
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(f"-c {k}={v}" for k, v in opts.items()),
                "start",
            ]
        )

    def _run(self, cmd: list) -> None:
        kw = (
            {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid, "extra_groups": []}
            if self.user
            else {}
        )
        r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=self.base, **kw)
        if r.returncode:
            log = (self.base / "log").read_text() if (self.base / "log").exists() else ""
            raise RuntimeError(f"{cmd[0]} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n{log}")

    def uri(self, db: str, password: bool = True) -> str:
        pw = f":{PASSWORD}" if password else ""
        return f"postgresql://{SUPERUSER}{pw}@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URI (password included)."""
        import asyncio

        import asyncpg

        async def make() -> None:
            conn = await asyncpg.connect(
                host="127.0.0.1", port=self.port, user=SUPERUSER, password=PASSWORD, database="postgres"
            )
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(make())
        return self.uri(name)

    def stop(self) -> None:
        try:
            self._run([self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
