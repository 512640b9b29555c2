"""The README's examples run as written: a custom strategy evolves, a subscriber sees a recorded event."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def example(section: str) -> str:
    """Return the first ``python`` code block under the README heading ``section``."""
    text = README.read_text(encoding="utf-8")
    found = re.search(
        rf"^## {re.escape(section)}\n(.*?)^```python\n(.*?)^```$", text, re.DOTALL | re.MULTILINE
    )
    assert found is not None, f"README.md has no python block under '## {section}'"
    return found.group(2)


def test_the_custom_strategy_example_breeds_children_with_mutated_parameters(
    capsys: pytest.CaptureFixture[str],
):
    namespace: dict[str, object] = {"__name__": "readme_example"}

    exec(compile(example("Your own strategy"), str(README), "exec"), namespace)  # noqa: S102  (our own README)

    agents = namespace["state"].agents.values()
    children = [agent for agent in agents if agent.parent_id is not None]
    assert children, "no cycle bred a child"
    assert {agent.genome["strategy"] for agent in agents} == {"dip"}
    parents = {agent.agent_id: agent.genome["params"] for agent in agents}
    assert any(child.genome["params"] != parents[child.parent_id] for child in children)
    for agent in agents:
        assert set(agent.genome["params"]) == {"drop", "fraction"}
        assert 0.0 <= agent.genome["params"]["drop"] <= 0.02
        assert 0.05 <= agent.genome["params"]["fraction"] <= 0.5
    assert "bred from a-" in capsys.readouterr().out


def test_the_subscription_example_sees_the_allocation_and_the_recorded_note():
    # in a fresh interpreter: registering an event type is for the life of a process
    code = example("Subscriptions and your own events") + "\nprint([(e.seq, e.event_type) for e in seen])\n"
    done = subprocess.run(  # noqa: S603  (our own interpreter and README)
        [sys.executable, "-c", code],
        cwd=README.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[(3, 'CapitalAllocated'), (4, 'lab.Note')]"
