"""The command line's --version and --help: the installed version, and help in plain words."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import entry_points, version

import pytest

from breakerlab.cli import GROUP, main
from breakerlab.cli.helptext import PlainTextParser, plain_text

#: reST markup a terminal would show literally: double backticks and roles such as :class:`X`.
MARKUP = re.compile(r"``|:[a-z]+(?::[a-z]+)*:`")
COMMANDS = sorted(ep.name for ep in entry_points(group=GROUP))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "breakerlab.cli", *args], capture_output=True, text=True, timeout=60)


def test_version_prints_the_installed_distribution_version() -> None:
    """`breakerlab --version` prints the version importlib.metadata reports for the distribution and exits 0."""
    out = _cli("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"breakerlab {version('breakerlab')}"


def test_demo_help_has_no_rest_markup() -> None:
    """`breakerlab demo --help`, whose description is the module docstring, shows it without backticks."""
    out = _cli("demo", "--help")
    assert out.returncode == 0, out.stderr
    assert "fail_max=5 and reset_timeout=60" in out.stdout
    assert not MARKUP.search(out.stdout), out.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_is_plain_text(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every registered subcommand's --help exits 0 and contains no double backticks and no roles."""
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: breakerlab {command}" in out
    assert not MARKUP.search(out), out


def test_top_level_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    """`breakerlab --help` (the command list with every subcommand's one-line help) has no reST markup."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--version" in out and not MARKUP.search(out)


def test_plain_text_rewrites_literals_roles_and_links() -> None:
    """plain_text drops backticks, keeps a role's text (the last component after ~, the title
    before <target>), writes links as text (url), and keeps prose, stars in globs, line breaks
    and indentation."""
    text = (
        "``breakerlab demo``: see :class:`Breaker`, :func:`~breakerlab.model.driver.run`,\n"
        "  :py:meth:`the call <Breaker.call>` and `SimPy <https://simpy.readthedocs.io>`_.\n\n"
        "Reads *.toml files; **never** 2*3*4, results/* stays. Example::"
    )
    assert plain_text(text) == (
        "breakerlab demo: see Breaker, run,\n"
        "  the call and SimPy (https://simpy.readthedocs.io).\n\n"
        "Reads *.toml files; never 2*3*4, results/* stays. Example:"
    )
    assert plain_text("no markup, 50% done") == "no markup, 50% done"
    assert plain_text(None) is None


def test_option_help_from_a_docstring_is_plain_text() -> None:
    """An option's help and a group's description written in reST (as a field's doc is) print
    plain in --help: the parsers themselves strip the markup, so call sites pass docs as they are."""
    parser = PlainTextParser(prog="breakerlab demo")
    parser.add_argument("--fail-max", help="``fail_max`` of :class:`~breakerlab.model.BreakerConfig`")
    parser.add_argument_group("breaker options", "see :doc:`SEMANTICS`")
    out = parser.format_help()
    words = " ".join(out.split())  # argparse wraps to the terminal's width
    assert "fail_max of BreakerConfig" in words and "see SEMANTICS" in words
    assert not MARKUP.search(out) and out.endswith("\n")
