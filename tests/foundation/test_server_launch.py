"""The user-server launcher: jsonschema's IRI grammar is built on first use, with the same answers.

Each check runs in a fresh interpreter (the stand-in must be in place before jsonschema is
imported, and the test process may already have imported it)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: IRIs and non-IRIs, checked as "iri" and "iri-reference"
SAMPLES = [
    "http://example.org/äöü?q=1#frag",
    "https://[::1]:8080/a/b",
    "urn:isbn:0451450523",
    "//host/path",
    "relative/path?x",
    "not an iri",
    "http://exa mple.org/",
    "",
]

CHECK = textwrap.dedent(
    """
    import json, sys
    from daisy_widgets import server_launch
    deferred = server_launch.defer_iri_grammar()
    import jsonschema, jupyter_events  # what jupyter_server imports at start
    built_at_import = "rfc3987_syntax.syntax_helpers" in sys.modules
    fc = jsonschema.FormatChecker()
    samples = json.loads(sys.argv[1])
    answers = [[fc.conforms(v, f) for f in ("iri", "iri-reference")] for v in samples]
    print(json.dumps({
        "deferred": deferred,
        "built_at_import": built_at_import,
        "formats": sorted(f for f in fc.checkers if f.startswith("iri")),
        "answers": answers,
        "built_after_use": "rfc3987_syntax.syntax_helpers" in sys.modules,
    }))
    """
)


def _run(code: str, *args: str, **env: str) -> dict:
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=full_env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def both() -> tuple[dict, dict]:
    pytest.importorskip("rfc3987_syntax")
    samples = json.dumps(SAMPLES)
    return _run(CHECK, samples), _run(CHECK, samples, DAISY_DEFER_IRI_GRAMMAR="0")


def test_grammar_not_built_at_import(both):
    deferred, plain = both
    assert deferred["deferred"] is True and deferred["built_at_import"] is False
    assert plain["deferred"] is False and plain["built_at_import"] is True


def test_same_formats_and_answers_as_the_real_package(both):
    deferred, plain = both
    assert deferred["formats"] == plain["formats"] == ["iri", "iri-reference"]
    assert deferred["answers"] == plain["answers"]
    assert deferred["built_after_use"] is True
    # the answers are real ones, not all the same
    assert deferred["answers"][0] == [True, True]
    assert deferred["answers"][5] == [False, False]
    assert deferred["answers"][3] == [False, True]


def test_other_names_load_the_real_package():
    pytest.importorskip("rfc3987_syntax")
    code = textwrap.dedent(
        """
        import json, sys
        from daisy_widgets import server_launch
        server_launch.defer_iri_grammar()
        import rfc3987_syntax
        tree = rfc3987_syntax.parse("iri", "http://example.org/x")
        print(json.dumps({"rule": tree.data, "real": type(sys.modules["rfc3987_syntax"]).__name__}))
        """
    )
    got = _run(code)
    assert got == {"rule": "iri", "real": "module"}


def test_launcher_runs_a_program_and_a_module(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(
        "import sys, json\n"
        "print(json.dumps({'argv': sys.argv, 'stand_in': type(sys.modules.get('rfc3987_syntax')).__name__}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-m", "daisy_widgets.server_launch", str(script), "--flag", "x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["argv"] == [str(script), "--flag", "x"]
    installed = importlib.util.find_spec("rfc3987_syntax") is not None
    assert got["stand_in"] == ("_DeferredGrammarModule" if installed else "NoneType")
    out = subprocess.run(
        [sys.executable, "-m", "daisy_widgets.server_launch", "-m", "json.tool", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0 and "json.tool" in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "daisy_widgets.server_launch"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode != 0 and "usage: python -m daisy_widgets.server_launch" in out.stderr
