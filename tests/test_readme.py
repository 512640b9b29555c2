"""The README's commands are the ones CI and users actually run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^    (python3 -m venv .+)$", text, flags=re.MULTILINE)


def test_readme_has_exactly_two_setup_commands_a_main_job_and_the_tests():
    commands = readme_commands()

    assert len(commands) == 2
    assert "arena simulate" in commands[0]
    assert "arena verify" in commands[0]
    assert commands[1].endswith("pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()

    assert readme_commands()[1] in ci


def test_the_readme_embedding_example_runs(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert example is not None
    monkeypatch.chdir(tmp_path)

    exec(compile(example.group(1), "README.md", "exec"), {})  # noqa: S102  (our own README's example)

    printed = capsys.readouterr().out
    assert "ok=True" in printed
    assert (tmp_path / "demo.db").exists()
