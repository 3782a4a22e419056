"""A throwaway PostgreSQL server for the test session: `initdb` into a temporary folder, `pg_ctl start`
on 127.0.0.1 and a free port, a fresh database per test (`CREATE DATABASE t_<n>`, cheap), and
`pg_ctl stop` at the end. The binaries are the newest of /usr/lib/postgresql/*/bin (Debian's
`postgresql` package), else the ones on PATH; with none, the PostgreSQL variants are skipped.

PostgreSQL refuses to run as root: under root, initdb and pg_ctl run as the `postgres` user
(which Debian's package creates; `nobody` otherwise) through `runuser`, in a folder that user owns.
A watchdog stops the server when the test process dies without its teardown (killed)."""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

INSTALL_HINT = ("PostgreSQL is not installed, so the PostgreSQL variants of the store tests are skipped; "
                "install its server binaries to run them (Debian/Ubuntu: apt-get install postgresql).")
SUPERUSER = "tunelab"  # the cluster's superuser; trust authentication on loopback only


def _major(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", bin_dir.parent.name)) or (0,)


def pg_bin_dir() -> Path | None:
    """The folder holding the newest initdb and pg_ctl, or None when there is none."""
    debian = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "initdb").is_file() and (d / "pg_ctl").is_file()]
    if debian:
        return max(debian, key=_major)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    return Path(initdb).parent if initdb and pg_ctl else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One PostgreSQL cluster under `root`, listening on 127.0.0.1:`port` (no Unix socket)."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir, self.root = bin_dir, root
        self.data, self.log = root / "data", root / "server.log"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._run_as: list[str] = []
        if os.geteuid() == 0:  # initdb and the server refuse root
            user = next((u for u in ("postgres", "nobody") if _user_exists(u)), None)
            if user is None:
                raise RuntimeError("running as root and there is no 'postgres' or 'nobody' user to run PostgreSQL as")
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
            self._run_as = ["runuser", "-u", user, "--"]

    def _pg(self, tool: str, *args: str, timeout: float = 120) -> None:
        out = subprocess.run([*self._run_as, str(self.bin_dir / tool), *args], capture_output=True, text=True,
                             timeout=timeout, cwd=self.root)
        if out.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({out.returncode}): {out.stdout[-2000:]}"
                               f"{out.stderr[-2000:]}\n{log}")

    def start(self) -> PostgresServer:
        # --no-sync and fsync=off: a test cluster need not survive a power cut, and it is much faster.
        self._pg("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                 "--no-locale", "--no-sync")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = ''\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        # A killed test run (a timeout, kill -9) skips the fixture's teardown: this watchdog, in a
        # session of its own, stops the server and removes its folder once this process is gone.
        stop = shlex.join([*self._run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        self._watchdog = subprocess.Popen(
            ["sh", "-c", f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; "
                         f"rm -rf {shlex.quote(str(self.root))}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        return self

    def stop(self) -> None:
        self._watchdog.terminate()
        self._watchdog.wait()
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg  # lazy: only the PostgreSQL variants need the driver

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        name = f"t_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server, started on first use and stopped at the end; skips the
    test, saying how to install PostgreSQL, when there are no binaries."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        pytest.skip(INSTALL_HINT)
    pytest.importorskip("psycopg", reason="the PostgreSQL driver is missing: pip install 'tunelab[postgres]'")
    # Not under pytest's tmp_path: its parent folders are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="tunelab-pg-"))
    server = PostgresServer(bin_dir, root)
    try:
        server.start()
        yield server
        server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


# A test module imports these two to run every test that uses `store` or `settings` (directly or
# through its fixtures) once on SQLite and once on PostgreSQL:
#     from pg_support import settings_on_each_backend, store_on_each_backend  # noqa: F401 - fixtures
@pytest.fixture(name="settings")
def settings_on_each_backend(any_settings):
    return any_settings


@pytest.fixture(name="store")
def store_on_each_backend(any_store):
    return any_store
