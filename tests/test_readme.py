"""The README's "Your own strategy" example runs as written and evolves the strategy it declares."""

from __future__ import annotations

import re
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
