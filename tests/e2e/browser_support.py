"""What the browser tests share: Debian's Chromium through Playwright (never a downloaded browser),
a real `tunelab serve` process on loopback with the tiny model, a page that records every console
error and failed request (a test fails on any it did not expect), and screenshots saved under
`TUNELAB_SCREENSHOTS` (default: tests/e2e/screenshots) for a person to look at."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

CHROMIUM = os.environ.get("TUNELAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
SHOTS = Path(os.environ.get("TUNELAB_SCREENSHOTS", Path(__file__).parent / "screenshots"))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dashboard:
    """`tunelab serve` in its own process (one job worker, the tiny model), as a user starts it."""

    def __init__(self, home: Path, *, model: str = "tiny", embeddings: bool = True, extra_env: dict | None = None):
        self.home, self.port = home, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "TUNELAB_HOME": str(home), "TUNELAB_HUB_OFFLINE": "1",
                    "TUNELAB_JOB_HEARTBEAT_S": "1", **(extra_env or {})}
        self.log_path = home / "serve.log"
        home.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "tunelab", "serve", "--model", model, "--port", str(self.port),
                "--engine", "batching", "--log-level", "warning"]
        if not embeddings:
            args.append("--no-embeddings")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 180
        while not self._up():
            if self.proc.poll() is not None:
                raise RuntimeError("tunelab serve exited while starting:\n" + self.log_path.read_text()[-4000:])
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("tunelab serve did not start in 180 s")
            time.sleep(0.3)

    def _up(self) -> bool:
        try:
            return httpx.get(self.url + "/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, timeout=60, headers=headers)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tunelab", *args], env=self.env, capture_output=True,
                              text=True, timeout=300)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class Watch:
    """Every console error, uncaught page error and failed request of a page; `allow(status, pattern)`
    for the ones a test provokes on purpose (a bad upload's 400)."""

    def __init__(self, page) -> None:
        self.problems: list[str] = []
        self.allowed: list[tuple[int, re.Pattern]] = []
        page.on("console", lambda m: m.type == "error" and not self._allowed_console(m.text)
                and self.problems.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self._failed(r))
        page.on("response", lambda r: r.status >= 400 and not self._ok(r.status, r.url)
                and self.problems.append(f"HTTP {r.status}: {r.request.method} {r.url}"))

    def allow(self, status: int, pattern: str) -> None:
        self.allowed.append((status, re.compile(pattern)))

    def _ok(self, status: int, url: str) -> bool:
        return any(s == status and p.search(url) for s, p in self.allowed)

    def _allowed_console(self, text: str) -> bool:
        # Chromium logs each 4xx/5xx response as a console error too; those are judged as responses.
        return "Failed to load resource: the server responded with a status of" in text

    def _failed(self, request) -> None:
        failure = request.failure or ""
        # A stream the page closed itself (Stop button, leaving the page) is not a failure.
        if "ERR_ABORTED" in failure or "net::ERR_ABORTED" in failure:
            return
        self.problems.append(f"request failed: {request.method} {request.url}: {failure}")


def shot(page, name: str, *, full_page: bool = True) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
