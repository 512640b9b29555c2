"""Every ``arena`` help page is written for its users: what the command does, its options, one example.

The subcommands are read from the parser itself, so a command added later is held to the same shape.
"""

from __future__ import annotations

import argparse
import shlex

import pytest

from actors.cli import main
from actors.cli._main import _parser

LEAKS = ("Raises:", "Args:", "Returns:", "``", "Return the exit status", "parsed arguments")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    (commands,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(commands.choices)


def help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    status = main([*argv, "--help"])
    out, err = capsys.readouterr()
    assert (status, err) == (0, ""), err
    return out


def example_of(text: str) -> list[str]:
    """Return the words of the one command under ``Example:``, without the leading ``arena``."""
    lines = text.splitlines()
    assert lines.count("Example:") == 1, text
    command = lines[lines.index("Example:") + 1].strip()
    words = shlex.split(command)
    assert words[0] == "arena", command
    return words[1:]


def assert_every_option_has_help_with_its_default(parser: argparse.ArgumentParser, text: str) -> None:
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        assert action.help, f"{action.dest} has no help"
        assert action.help != argparse.SUPPRESS, action.dest
        if action.option_strings:
            for option in action.option_strings:
                assert option in text, option
            said = "required" if action.required else "default"
            assert said in action.help or "required" in action.help, f"{action.option_strings}: {action.help}"
        else:
            assert str(action.metavar) in text, action.dest


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_subcommand_help_says_what_it_does_lists_options_with_defaults_and_one_example_that_parses(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = subcommands()[name]

    text = help_of([name], capsys)

    usage, description, *_ = text.split("\n\n")
    assert usage.startswith(f"usage: arena {name} "), usage
    assert description[0].isupper(), description
    assert description.rstrip().endswith("."), description
    assert description.splitlines()[0] == (parser.description or "").splitlines()[0]
    assert_every_option_has_help_with_its_default(parser, text)
    example = example_of(text)
    assert example[0] == name
    parsed = _parser().parse_args(example)
    assert parsed.command is parser.get_default("command")
    for leak in LEAKS:
        assert leak not in text, leak


def test_the_top_level_help_lists_every_subcommand_and_one_example_that_parses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = help_of([], capsys)

    for name in subcommands():
        assert f"\n    {name} " in text, name
    assert_every_option_has_help_with_its_default(_parser(), text)
    _parser().parse_args(example_of(text))
    for leak in LEAKS:
        assert leak not in text, leak


def test_no_help_page_is_a_functions_docstring() -> None:
    for name, parser in subcommands().items():
        command = parser.get_default("command")

        assert parser.description, name
        assert command.__doc__ is None or parser.description.split()[:4] != command.__doc__.split()[:4], name
