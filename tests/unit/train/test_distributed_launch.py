"""`--nproc N` and the world read from the environment, without starting processes."""

import sys

import pytest
import yaml
from typer.testing import CliRunner

from tunelab.cli import app
from tunelab.config_files import ConfigError
from tunelab.train.distributed import env_world
from tunelab.train.launch import torchrun_argv

runner = CliRunner()


def test_torchrun_command_reruns_tunelab_on_master_port(monkeypatch):
    monkeypatch.setenv("MASTER_PORT", "29876")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    argv = torchrun_argv(3, ["train", "r.yaml", "--set", "max_steps=2"])
    assert argv[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert argv[argv.index("--nproc-per-node") + 1] == "3"
    assert argv[argv.index("--master-port") + 1] == "29876"
    assert argv[argv.index("--master-addr") + 1] == "127.0.0.1"
    assert argv[-6:] == ["-m", "tunelab", "train", "r.yaml", "--set", "max_steps=2"]


def test_free_port_when_master_port_is_unset(monkeypatch):
    monkeypatch.delenv("MASTER_PORT", raising=False)
    a = torchrun_argv(2, ["train"])
    assert 0 < int(a[a.index("--master-port") + 1]) < 65536


def test_world_comes_from_the_standard_environment(monkeypatch):
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    assert not env_world().enabled and env_world().main
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    w = env_world()
    assert (w.rank, w.size, w.local_rank, w.enabled, w.main) == (3, 4, 1, True, False)


@pytest.mark.parametrize(("extra", "env", "message"), [
    (["--detach"], {}, "one process"),
    ([], {"WORLD_SIZE": "2"}, "already one of a distributed launch"),
])
def test_nproc_refuses_what_it_cannot_do(home, tmp_path, monkeypatch, extra, env, message):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"dataset": str(tmp_path / "d.jsonl"), "base_model": "tiny"}))
    result = runner.invoke(app, ["train", str(recipe), "--nproc", "2", *extra])
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())


def test_nproc_checks_the_recipe_before_launching(home, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"dataset": "d.jsonl", "batch_size": 0}))
    result = runner.invoke(app, ["train", str(recipe), "--nproc", "2"])  # `main()` turns it into exit 2
    assert isinstance(result.exception, ConfigError) and "batch_size" in str(result.exception)
