"""Plain text for ``--help`` from docstrings written in reStructuredText.

Docstrings quote code as ``` ``name`` ``` and cross-reference with roles (``:class:`Breaker```);
a terminal shows that markup literally. Every parser of the ``breakerlab`` command is a
``PlainTextParser``, whose help goes through ``plain_text`` once formatted, so a command may
build its description or an option's help from a docstring (or a field's doc) and still print
plain words, with nothing to call at the call site.
"""

from __future__ import annotations

import argparse
import re
from typing import overload

__all__ = ["PlainTextParser", "plain_text"]

# :role:`text`, :domain:role:`text`; the text may be "Title <target>" or "~dotted.path"
_ROLE = re.compile(r":(?:[A-Za-z][\w+-]*:)+`(?P<body>[^`]+)`")
# `text <https://...>`_ and `text`_ (hyperlinks), also with a double underscore
_LINK = re.compile(r"`(?P<text>[^`<]+?)\s*<(?P<target>[^`>]+)>`__?")
_REF = re.compile(r"`(?P<text>[^`\n]+)`__?")
_LITERAL = re.compile(r"``(?P<body>.+?)``", re.DOTALL)
# one line at most: a lone star or backtick in one line must not pair with another far below
_INTERPRETED = re.compile(r"(?<![\w`])`(?P<body>[^`\s](?:[^`\n]*[^`\s])?)`(?![\w`])")
_STRONG = re.compile(r"(?<![\w*])\*\*(?P<body>[^*\s](?:[^*\n]*[^*\s])?)\*\*(?![\w*])")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?P<body>[^*\s](?:[^*\n]*[^*\s])?)\*(?![\w*])")
# a paragraph ending in "::" introduces a literal block: "Example::" reads "Example:", and a
# "::" after a space (or alone on its line) is dropped
_LITERAL_BLOCK_AFTER_WORD = re.compile(r"(?<=[^\s:])::$", re.MULTILINE)
_LITERAL_BLOCK_ALONE = re.compile(r"[ \t]*(?:^|(?<=\s))::$", re.MULTILINE)


def _role_text(match: re.Match[str]) -> str:
    body = match.group("body")
    titled = re.fullmatch(r"(?P<title>.+?)\s*<[^>]+>", body)
    if titled:
        return titled.group("title")
    if body.startswith("~"):  # Sphinx shows only the last component
        return body[1:].rpartition(".")[2]
    return body.lstrip("!")


@overload
def plain_text(text: str) -> str: ...


@overload
def plain_text(text: None) -> None: ...


def plain_text(text: str | None) -> str | None:
    """``text`` without reST inline markup; everything else (line breaks, indentation) is kept
    (``None`` stays ``None``).

    Literals and interpreted text lose their backticks, roles keep only their text (``~a.b.C``
    shows ``C``, ``Title <target>`` shows ``Title``), hyperlinks read ``text (url)``, strong and
    emphasised words lose their stars (a glob such as ``*.toml`` keeps its star), and a ``::``
    that closes a line becomes ``:`` (after a word) or goes (after a space).
    """
    if text is None:
        return None
    out = _ROLE.sub(_role_text, text)
    out = _LITERAL.sub(lambda m: m.group("body"), out)
    out = _LINK.sub(lambda m: f"{m.group('text')} ({m.group('target')})", out)
    out = _REF.sub(lambda m: m.group("text"), out)
    out = _INTERPRETED.sub(lambda m: m.group("body"), out)
    out = _STRONG.sub(lambda m: m.group("body"), out)
    out = _EMPHASIS.sub(lambda m: m.group("body"), out)
    out = _LITERAL_BLOCK_AFTER_WORD.sub(":", out)
    return _LITERAL_BLOCK_ALONE.sub("", out)


class PlainTextParser(argparse.ArgumentParser):
    """An argument parser whose help is plain text: the formatted help, whoever wrote its parts
    (a description, an option's help, a subcommand's one-line help), goes through ``plain_text``.

    ``add_subparsers`` makes its subcommands' parsers of the same class, so giving the top-level
    parser this class covers every command.
    """

    def format_help(self) -> str:
        """The help as argparse formats it, without reST markup."""
        return plain_text(super().format_help())
