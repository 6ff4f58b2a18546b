"""Every subcommand's ``--help`` shows each option's default."""

from __future__ import annotations

import argparse

import pytest

from edgedrnn.cli import _subparsers, build_parser

PARSERS = _subparsers(build_parser())


def _help_of(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()
    return formatter._expand_help(action) if action.help else ""


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_option_with_a_default_shows_it(name):
    parser = PARSERS[name]
    missing = [
        "/".join(a.option_strings) or a.dest
        for a in parser._actions
        if a.default not in (None, False, argparse.SUPPRESS)
        and a.help != argparse.SUPPRESS
        and "default" not in _help_of(parser, a)
    ]
    assert not missing, f"edgedrnn {name} --help shows no default for {missing}"


def test_the_default_is_the_value_used(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 0,0.05,0.1,0.15,0.2,0.25,0.3,0.4,0.5)" in text
    assert "--backend {torch,reference,cpu,rtl}" in text and "(default: torch)" in text
