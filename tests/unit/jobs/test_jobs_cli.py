"""`tunelab jobs ...` and `--detach` in-process: queue, list, show, move, cancel, retry, logs; bad
input is one line and exit 2, with nothing queued."""

import json

import yaml
from typer.testing import CliRunner

from tunelab.cli import app
from tunelab.cli.common import store
from tunelab.store import JOBS

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def write(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


def test_submit_list_show_move_cancel_retry_logs(home, tmp_path):
    recipe = write(tmp_path / "r.yaml", {"dataset": str(tmp_path / "d.jsonl"), "base_model": "tiny"})
    first = run("jobs", "submit", "train", str(recipe), "--set", "learning_rate=1e-3")
    assert first.exit_code == 0, first.output
    a = first.stdout.splitlines()[0]
    assert a.startswith("job-")
    b = run("train", str(recipe), "--detach").stdout.splitlines()[0]
    shown = json.loads(run("jobs", "show", a).stdout)
    assert shown["status"] == "queued" and shown["config"]["recipe"]["learning_rate"] == 1e-3
    assert shown["position"] == 1
    listed = run("jobs", "list", "--kind", "train").stdout
    assert a in listed and b in listed and "2 of 2 jobs" in listed
    assert "place 1" in run("jobs", "move", b, "--to", "1").stdout
    assert json.loads(run("jobs", "show", a).stdout)["position"] == 2
    assert "cancelled" in run("jobs", "cancel", a).stdout
    assert "place 2" in run("jobs", "retry", a).stdout
    assert run("jobs", "list", "--status", "cancelled").stdout.count("job-") == 0
    assert run("jobs", "logs", a).exit_code == 0  # no log before a worker ran it


def test_bad_input_is_one_line_exit_2_and_nothing_queued(home, tmp_path):
    bad = write(tmp_path / "bad.yaml", {"dataset": "d.jsonl", "base_model": "tiny", "epochs": 0})
    for args in (("jobs", "submit", "train", str(bad)),  # (`train --detach`: main() prints, as for `train`)
                 ("jobs", "submit", "nope", str(bad)),
                 ("jobs", "submit", "ingest", str(write(tmp_path / "i.yaml", {"collection": "c"}))),
                 ("ingest", "x.txt", "-c", "c", "--vector-url", "http://h:1", "--detach"),
                 ("jobs", "show", "job-missing"), ("jobs", "retry", "job-missing")):
        out = run(*args)
        assert out.exit_code == 2, (args, out.output)
        assert out.stderr.startswith("error:") and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "epochs" in run("jobs", "submit", "train", str(bad)).stderr
    assert "sources" in run("jobs", "submit", "ingest", str(tmp_path / "i.yaml")).stderr
    assert JOBS.page(store())[1] == 0


def test_detach_queues_the_same_input_the_command_would_run(home, tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("hello")
    out = run("ingest", str(doc), "-c", "docs", "--chunk-size", "200", "--detach")
    assert out.exit_code == 0, out.output
    job = JOBS.by_key(store(), out.stdout.splitlines()[0])
    assert job.kind == "ingest" and job.config["sources"] == [str(doc)] and job.config["chunk_size"] == 200
    q = run("quickstart", "--max-steps", "3", "--detach")
    assert JOBS.by_key(store(), q.stdout.splitlines()[0]).config["max_steps"] == 3
    resume = run("train", "--resume", "sft-x", "--detach")
    assert JOBS.by_key(store(), resume.stdout.splitlines()[0]).config == {"resume": "sft-x"}
    assert "tunelab jobs logs" in resume.stderr
