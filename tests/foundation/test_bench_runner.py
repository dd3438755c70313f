"""``make bench``'s runner (``benchmarks/run_all.py``) on a folder of tiny fake benchmark scripts.

It discovers every script (not ``_*.py``), gives each its quick arguments (from its own
``QUICK_ARGS``, or ``--quick`` when it has that option, or none), runs them all even when one
fails or runs too long, writes a dated results file with every output, and replaces only the
generated section of the doc (the hand-written text around it stays). No real benchmark runs.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("daisy_bench_run_all", ROOT / "benchmarks" / "run_all.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


TABLE_SCRIPT = """import sys
QUICK_ARGS = ["--n", "7"]
print("progress line that the summary may drop")
print()
print("measurement   ours   peer")
print("speed (s)     1.00   " + sys.argv[2])
"""
QUICK_SCRIPT = """import argparse
ap = argparse.ArgumentParser()
ap.add_argument("--quick", action="store_true")
print("quick" if ap.parse_args().quick else "full", "size")
"""
FAILING_SCRIPT = """import sys
print("half a table")
sys.exit(3)
"""
SLOW_SCRIPT = """import time
print("started", flush=True)
time.sleep(60)
"""


@pytest.fixture
def bench_dir(tmp_path):
    d = tmp_path / "benchmarks"
    d.mkdir()
    (d / "alpha.py").write_text(TABLE_SCRIPT)
    (d / "beta.py").write_text(QUICK_SCRIPT)
    (d / "gamma.py").write_text(FAILING_SCRIPT)
    (d / "_helpers.py").write_text("raise SystemExit('a helper module is not a benchmark')\n")
    return d


def test_discovery_and_quick_arguments(runner, bench_dir):
    scripts = runner.discover(bench_dir)
    assert [s.name for s in scripts] == ["alpha.py", "beta.py", "gamma.py"]
    table = {}
    assert runner.quick_args(bench_dir / "alpha.py", table) == ["--n", "7"]
    assert runner.quick_args(bench_dir / "beta.py", table) == ["--quick"]
    assert runner.quick_args(bench_dir / "gamma.py", table) == []
    assert runner.quick_args(bench_dir / "gamma.py", {"gamma": ["--x", "1"]}) == ["--x", "1"]
    (bench_dir / "delta.py").write_text("QUICK_ARGS = ['--n', 2]\n")
    with pytest.raises(ValueError, match="delta.py: QUICK_ARGS must be a list of strings"):
        runner.quick_args(bench_dir / "delta.py", table)


def test_the_real_benchmarks_are_all_discovered(runner):
    names = {s.stem for s in runner.discover()}
    assert {"tomography_app", "hxmt_app", "apps_interactive", "engine"} <= names
    assert "run_all" not in names
    assert set(runner.QUICK_ARGS) <= names  # no quick size for a benchmark that is gone


def test_a_run_writes_the_dated_table_and_the_doc_summary(runner, bench_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "QUICK_ARGS", {})
    doc = tmp_path / "docs" / "performance.md"
    doc.parent.mkdir()
    doc.write_text(
        "# Performance\n\nHand-written notes.\n\n"
        f"{runner.BEGIN}\nold generated text\n{runner.END}\n\n## Notes after\n\nkept too\n"
    )
    results = tmp_path / "results"
    rc = runner.main(["--bench-dir", str(bench_dir), "--results-dir", str(results), "--doc", str(doc)])
    assert rc == 1  # gamma failed; the others ran and everything is written

    (result_file,) = results.glob("*.md")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d{6}Z\.md", result_file.name)
    text = result_file.read_text()
    assert "| `alpha` | `--n 7` | ok |" in text
    assert "| `beta` | `--quick` | ok |" in text
    assert "| `gamma` | `(defaults)` | failed (exit 3) |" in text
    assert "progress line that the summary may drop" in text  # the whole output
    assert "speed (s)     1.00   7" in text
    assert "quick size" in text and "half a table" in text

    new = doc.read_text()
    assert new.startswith("# Performance\n\nHand-written notes.\n\n")
    assert new.rstrip().endswith("## Notes after\n\nkept too")
    assert "old generated text" not in new
    assert new.count(runner.BEGIN) == 1 and new.count(runner.END) == 1
    section = new.split(runner.BEGIN, 1)[1].split(runner.END, 1)[0]
    assert "### alpha" in section and "speed (s)     1.00   7" in section
    assert "failed (exit 3)" in section


def test_summary_keeps_the_last_lines_and_a_missing_doc_is_created(runner, bench_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "QUICK_ARGS", {})
    monkeypatch.setattr(runner, "SUMMARY_LINES", 2)
    doc = tmp_path / "performance.md"
    rc = runner.main(
        [
            "--bench-dir",
            str(bench_dir),
            "--results-dir",
            str(tmp_path / "r"),
            "--doc",
            str(doc),
            "--only",
            "alpha",
        ]
    )
    assert rc == 0
    text = doc.read_text()
    assert text.startswith("# Performance")  # the default head, with how to regenerate
    assert "make bench" in text
    section = text.split(runner.BEGIN, 1)[1]
    assert "speed (s)     1.00   7" in section
    assert "progress line" not in section  # only the last 2 lines of the output


def test_a_benchmark_over_the_timeout_is_stopped_and_reported(runner, bench_dir, tmp_path, monkeypatch):
    (bench_dir / "slow.py").write_text(SLOW_SCRIPT)
    outcome = runner.run_one(bench_dir / "slow.py", [], timeout=3)
    assert outcome.returncode is None and outcome.status == "timed out"
    assert "started" in outcome.output and "stopped after 3 s" in outcome.output
    assert outcome.seconds < 30


def test_only_with_an_unknown_name_is_refused(runner, bench_dir, capsys):
    with pytest.raises(SystemExit):
        runner.main(["--bench-dir", str(bench_dir), "--only", "nope", "--no-doc"])
    assert "no benchmark named nope" in capsys.readouterr().err
