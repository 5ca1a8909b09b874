"""Every registered method explains itself (parametrised over METHODS: a new method without an
explanation fails), and the CLI prints the same text."""
from __future__ import annotations

import json
import re

import pytest

from dclab.cli.main import main
from dclab.methods import list_methods
from dclab.methods.explain import get_explanation, list_explained
from dclab.registry import UnknownNameError


@pytest.mark.parametrize("name", list_methods())
def test_every_method_has_an_explanation(name):
    e = get_explanation(name)
    assert e.method == name
    assert 3 <= len(e.loop) <= 5 and all(step.strip() for step in e.loop)
    assert "\\" in e.objective and "$" not in e.objective  # LaTeX, without math delimiters
    assert re.search(r"(19|20)\d\d", e.paper) and "arXiv:" in e.paper
    assert len(e.watch) > 40 and e.title


def test_no_explanation_of_an_unregistered_method():
    assert set(list_explained()) == set(list_methods())
    with pytest.raises(UnknownNameError):
        get_explanation("no_such_method")


@pytest.mark.parametrize("name", ["dc", "dm"])
def test_cli_explain(name, capsys):
    assert main(["methods", "--explain", name]) == 0
    out = capsys.readouterr().out
    e = get_explanation(name)
    assert e.paper in out and e.loop[0] in out and e.objective in out
    assert main(["methods", "--explain", name, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["loop"] == list(e.loop)


def test_cli_explain_unknown_method_is_one_line(capsys):
    assert main(["methods", "--explain", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown method" in err
