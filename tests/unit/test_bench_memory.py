"""Where a worker's memory goes: the layer-by-layer import ladder of `make bench`."""

import sys

import pytest

from sre import bench, bench_memory
from sre.cli import main


def layer_names(kind):
    return [layer.name for layer in bench_memory.LAYERS if kind in layer.kinds]


@pytest.mark.parametrize(
    ("kind", "url"),
    [("sqlite", "sqlite:///{tmp}/ladder.sqlite3"), ("postgres", "postgresql://nobody@127.0.0.1/x")],
)
def test_ladder_reads_every_layer_in_one_fresh_interpreter(kind, url, tmp_path):
    """Our app is configured as the benchmark runs it but never connected to: the PostgreSQL
    ladder needs no server."""
    rows = bench_memory.import_ladder(kind, url.format(tmp=tmp_path))

    assert [row["layer"] for row in rows] == layer_names(kind)
    readings = [row["rss_mb"] for row in rows]
    # Each layer only adds modules; gunicorn, Flask and SQLAlchemy alone add tens of MB.
    assert readings == sorted(readings)
    assert readings[-1] > readings[0] + 20
    assert sum(row["added_mb"] for row in rows) == pytest.approx(readings[-1], abs=0.01)
    # The libraries the stack's floor is made of come first, the driver last among them.
    flags = [row["stack"] for row in rows]
    assert flags == sorted(flags, reverse=True)
    driver = "psycopg" if kind == "postgres" else "sqlite3"
    assert rows[flags.count(True) - 1]["layer"].startswith(driver)


def test_ladder_says_which_interpreter_failed_and_why(tmp_path):
    """Outside the project `import application` fails: the error names it."""
    with pytest.raises(bench_memory.LadderError, match="No module named 'application'"):
        bench_memory.import_ladder("sqlite", f"sqlite:///{tmp_path}/x.db", root=tmp_path)


def test_ladder_table_shows_the_libraries_subtotal_then_ours():
    rows = [
        {"layer": "Python", "rss_mb": 9.7, "added_mb": 9.7, "stack": True},
        {"layer": "Flask", "rss_mb": 18.4, "added_mb": 8.7, "stack": True},
        {"layer": "Flask-WTF", "rss_mb": 19.5, "added_mb": 1.1, "stack": False},
        {"layer": "our modules and create_app()", "rss_mb": 22.4, "added_mb": 2.9, "stack": False},
    ]
    lines = bench_memory.ladder_table("sqlite", rows, after_run_mb=25.0).splitlines()
    assert lines[1:] == [
        "     9.7 MB  Python",
        "    +8.7     Flask",
        "    18.4 MB  = the libraries alone",
        "    +1.1     Flask-WTF",
        "    +2.9     our modules and create_app()",
        "    22.4 MB  = our app before its first request; 25.0 MB per worker after the run",
    ]


def test_worker_peak_is_the_largest_worker_of_that_database():
    targets = {
        "app_1k_postgres": {"rss_mb_per_worker": 70.1},
        "app_1m_postgres": {"rss_mb_per_worker": 75.4},
        "create_postgres": {"rss_mb_per_worker": 70.8},
        "app_1m_sqlite": {"rss_mb_per_worker": 80.0},
    }
    assert bench.worker_peak(targets, "postgres") == 75.4


def test_bench_memory_command_prints_both_ladders(capsys):
    assert main(["bench-memory"]) == 0
    out = capsys.readouterr().out
    assert "where a worker's memory goes, sqlite" in out
    assert "where a worker's memory goes, postgres" in out
    assert out.count("= the libraries alone") == 2


def test_bench_memory_command_fails_with_the_reason_on_a_broken_interpreter(tmp_path, capsys):
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'no such library' >&2\nexit 1\n")
    broken.chmod(0o755)
    assert main(["bench-memory", "--kind", "sqlite", "--python", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "the sqlite layers did not import in" in err
    assert "no such library" in err
    assert sys.executable not in err
