"""FOR_Nikhil.md stays true as the code changes: every repository path it names (tunelab/, tests/,
bench/, docs/, examples/, scripts/) exists, and every `tunelab ...` command it quotes is a command of
the CLI's own typer app, with the sub-commands and options it shows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer.main

from tunelab.cli import app

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "FOR_Nikhil.md"

# A path starts at a top-level folder of the repository; not inside a longer word, a URL or ~/.tunelab.
PATH = re.compile(r"(?<![\w./~-])((?:tunelab|tests|bench|docs|examples|scripts)/[\w./-]*)")
# The command `tunelab`, followed by a space or the end: not tunelab/..., tunelab.jobs, tunelab_x, 'tunelab[x]'.
COMMAND = re.compile(r"(?<![\w./~-])tunelab(?=\s|$)")
OPTION = re.compile(r"^--?[A-Za-z][\w-]*")


def code_snippets(text: str) -> list[str]:
    """The lines of fenced code blocks and the inline code spans (a span broken over lines is joined)."""
    snippets = []
    for block in re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S):
        snippets.extend(block.splitlines())
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    snippets.extend(" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose))
    return snippets


def paths_in(text: str) -> list[str]:
    return sorted({m.rstrip(".,;:") for m in PATH.findall(text)})


def commands_in(text: str) -> list[list[str]]:
    """Each quoted command as its words after `tunelab` (a trailing `# comment` left out)."""
    found = []
    for snippet in code_snippets(text):
        for m in COMMAND.finditer(snippet):
            rest = snippet[m.end():].split(" #", 1)[0]
            try:
                words = shlex.split(rest)
            except ValueError:  # an unbalanced quote: plain words are enough to check names
                words = rest.split()
            found.append(words)
    return found


def option_names(command) -> set[str]:
    names = {"--help"}
    for param in command.params:
        names.update(getattr(param, "opts", []))
        names.update(getattr(param, "secondary_opts", []))
    return names


def command_problem(words: list[str], root) -> str | None:
    """What is wrong with `tunelab WORDS` (None when the CLI has it): an unknown sub-command of a
    group (alternatives as `list|show` are each checked) or an option the command does not take."""
    command, path = root, ["tunelab"]
    rest = list(words)
    while hasattr(command, "commands") and rest and not OPTION.match(rest[0]):
        names = rest.pop(0).split("|")
        for name in names:
            if name not in command.commands:
                return f"`{' '.join(path)}` has no command '{name}' (it has: {', '.join(sorted(command.commands))})"
        if len(names) > 1:
            return None  # alternatives: what follows belongs to one of them
        command = command.commands[names[0]]
        path.append(names[0])
    for word in rest:
        if word.startswith("|"):
            break  # a shell pipe: the rest is another program
        if (m := OPTION.match(word)) and m.group(0) not in option_names(command):
            return f"`{' '.join(path)}` takes no option {m.group(0)}"
    return None


def test_every_path_it_names_exists():
    paths = paths_in(DOC.read_text(encoding="utf-8"))
    assert len(paths) >= 20, paths  # the document names many; finding few means the pattern broke
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"FOR_Nikhil.md names paths that do not exist (fix the passage): {missing}"


def test_every_command_it_quotes_is_a_cli_command():
    root = typer.main.get_command(app)
    commands = commands_in(DOC.read_text(encoding="utf-8"))
    assert len(commands) >= 10, commands
    problems = [p for words in commands if (p := command_problem(words, root))]
    assert not problems, "FOR_Nikhil.md quotes commands the CLI does not have (fix the passage):\n" + "\n".join(problems)


def test_the_checks_catch_a_wrong_command_a_wrong_option_and_a_missing_path():
    root = typer.main.get_command(app)
    text = ("Run `tunelab trian x.yaml`, then `tunelab serve --prot 8000`, `tunelab jobs list|shw`, and read "
            "`tunelab/engine/nope.py`; `tunelab models list|show` and `pip install 'tunelab[postgres]'` are fine.")
    problems = [p for words in commands_in(text) if (p := command_problem(words, root))]
    assert len(problems) == 3, problems
    assert "'trian'" in problems[0] and "--prot" in problems[1] and "'shw'" in problems[2]
    assert paths_in(text) == ["tunelab/engine/nope.py"] and not (ROOT / "tunelab/engine/nope.py").exists()
