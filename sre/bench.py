"""`python -m sre bench`: redirect and creation throughput of the real app, side by side
with nginx's ceiling and Flask's floor, on SQLite and PostgreSQL; writes out/bench.json."""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sre import bench_data as data
from sre import bench_memory as memory
from sre import bench_servers as servers
from sre import bench_wrk as wrk
from sre.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out"

REDIRECT_TARGETS = (
    "nginx_302",
    "flask_floor",
    "app_1k_sqlite",
    "app_1m_sqlite",
    "app_1k_postgres",
    "app_1m_postgres",
)
CREATE_TARGETS = ("create_sqlite", "create_postgres")
TARGETS = REDIRECT_TARGETS + CREATE_TARGETS
SIZES = {"1k": 1_000, "1m": 1_000_000}

# The targets: (ratio or figure, comparison, bound).
APP_TO_FLOOR_MIN = 0.9
SIZE_RATIO_MIN = 0.9
P99_TO_FLOOR_MAX = 1.5
RSS_MAX_MB = 60.0
CREATE_RPS_MIN = 300.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="benchmarks; writes out/bench.json")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each target (5)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="seconds of warm-up per target, before its first round (10)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=3.0,
        help="seconds of quiet before each run, for the last target's visit flush (3)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=data.SAMPLE_SIZE,
        help=f"codes drawn at random from each table for wrk ({data.SAMPLE_SIZE:,})",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_DATABASE_URL", data.DEFAULT_POSTGRES_URL),
        help="PostgreSQL database for the 1M data set; _1k and _create siblings are made",
    )
    parser.add_argument("--out", type=Path, default=OUT / "bench.json")
    parser.set_defaults(func=run)


def commit_id() -> str:
    """The commit measured, marked -dirty when the tree has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def datasets(postgres_url: str, data_dir: Path) -> dict[str, data.Dataset]:
    """The data sets by target name (creation gets empty databases of its own)."""
    _head, _, base = postgres_url.rpartition("/")
    found = {}
    for label, size in SIZES.items():
        found[f"app_{label}_sqlite"] = data.sqlite_dataset(data_dir, f"links-{label}", size)
        name = base if label == "1m" else f"{base}_{label}"
        found[f"app_{label}_postgres"] = data.postgres_dataset(
            postgres_url, name, f"links-{label}-pg", size
        )
    found["create_sqlite"] = data.sqlite_dataset(data_dir, "create", 0)
    found["create_postgres"] = data.postgres_dataset(postgres_url, f"{base}_create", "create-pg", 0)
    return found


def aggregate(
    runs: list[wrk.WrkResult], rss: list[float], cpu_us: list[float], pss: list[float] = ()
) -> dict:
    """One target's figures over its runs: median rates and latencies, all errors, peak RSS
    (the target) and PSS (for reading: shared pages split between the processes sharing
    them), and the workers' CPU time per request (steadier than rates on a shared machine).

    Medians, because this shared machine now and then slows everything for a round or two
    (the floor and nginx's fixed 302 as much as our app): with five rounds, two such rounds
    of one target do not move its figure. The mean rate is kept beside it.
    """
    return {
        "rps": round(statistics.median(r.rps for r in runs), 1),
        "rps_mean": round(statistics.mean(r.rps for r in runs), 1),
        "p50_ms": round(statistics.median(r.p50_ms for r in runs), 3),
        "p99_ms": round(statistics.median(r.p99_ms for r in runs), 3),
        "errors": sum(r.errors for r in runs),
        "rss_mb_per_worker": round(max(rss), 1) if rss else None,
        "pss_mb_per_worker": round(max(pss), 1) if pss else None,
        "runs": [round(r.rps, 1) for r in runs],
        "worker_cpu_us_per_request": round(statistics.mean(cpu_us), 1),
    }


def ratios(targets: dict[str, dict]) -> dict[str, float]:
    """The issue's ratios (app_1m_sqlite against the floor), and the size ratio per database."""
    app, floor = targets["app_1m_sqlite"], targets["flask_floor"]
    per_db = {
        kind: targets[f"app_1m_{kind}"]["rps"] / targets[f"app_1k_{kind}"]["rps"]
        for kind in ("sqlite", "postgres")
    }
    return {
        "app_to_floor": round(app["rps"] / floor["rps"], 3),
        "size_1m_to_1k": round(min(per_db.values()), 3),
        "size_1m_to_1k_sqlite": round(per_db["sqlite"], 3),
        "size_1m_to_1k_postgres": round(per_db["postgres"], 3),
        "p99_to_floor": round(app["p99_ms"] / floor["p99_ms"], 3),
    }


def checks(targets: dict[str, dict], ratio: dict[str, float]) -> list[tuple[str, bool]]:
    """Each target of the issue, and whether this run met it."""
    app_names = [n for n in TARGETS if n.startswith(("app_", "create_"))]
    return [
        (f"app_to_floor ≥ {APP_TO_FLOOR_MIN}", ratio["app_to_floor"] >= APP_TO_FLOOR_MIN),
        (
            f"1M ≥ {SIZE_RATIO_MIN} × 1k on SQLite",
            ratio["size_1m_to_1k_sqlite"] >= SIZE_RATIO_MIN,
        ),
        (
            f"1M ≥ {SIZE_RATIO_MIN} × 1k on PostgreSQL",
            ratio["size_1m_to_1k_postgres"] >= SIZE_RATIO_MIN,
        ),
        (f"p99_to_floor ≤ {P99_TO_FLOOR_MAX}", ratio["p99_to_floor"] <= P99_TO_FLOOR_MAX),
        ("0 errors", all(targets[n]["errors"] == 0 for n in app_names)),
        (
            f"≤ {RSS_MAX_MB:.0f} MB per worker",
            all((targets[n]["rss_mb_per_worker"] or 0) <= RSS_MAX_MB for n in app_names),
        ),
        (
            f"creation ≥ {CREATE_RPS_MIN:.0f}/s on both databases",
            all(targets[n]["rps"] >= CREATE_RPS_MIN for n in CREATE_TARGETS),
        ),
    ]


def table(targets: dict[str, dict], ratio: dict[str, float], verdicts) -> str:
    """The results as a text table."""
    lines = [
        f"{'target':<17} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'RSS MB/worker':>14} {'PSS':>6} {'CPU µs/req':>11}  runs"
    ]
    for name in TARGETS:
        t = targets[name]
        rss = "-" if t["rss_mb_per_worker"] is None else f"{t['rss_mb_per_worker']:.1f}"
        pss = "-" if t.get("pss_mb_per_worker") is None else f"{t['pss_mb_per_worker']:.1f}"
        lines.append(
            f"{name:<17} {t['rps']:>9.0f} {t['p50_ms']:>8.2f} {t['p99_ms']:>8.2f} "
            f"{t['errors']:>7} {rss:>14} {pss:>6} {t['worker_cpu_us_per_request']:>11.0f}  "
            f"{', '.join(f'{r:.0f}' for r in t['runs'])}"
        )
    lines.append("")
    lines.extend(f"{name:<23} {value:.3f}" for name, value in ratio.items())
    lines.append("")
    lines.extend(f"{'met ' if ok else 'MISSED'}  {text}" for text, ok in verdicts)
    return "\n".join(lines)


def measure_stack_floor(
    name: str, dataset: data.Dataset, script: Path, wrk_path: str, work: Path, seconds: int
) -> dict:
    """The libraries' own memory: STACK_APP on a data set, under the same load as our app.

    Straight to gunicorn, no nginx: only the workers' memory is read from this run.
    """
    server = servers.stack_server(name, ROOT, work / "stack", work / "logs", dataset.url)
    try:
        server.start(ready_path="/no-such-code", status=404)
        result = wrk.run_wrk(wrk_path, server.url, script, seconds)
        return {
            "rps": round(result.rps, 1),
            "errors": result.errors,
            "rss_mb_per_worker": round(max(server.worker_rss_mb()), 1),
            "pss_mb_per_worker": round(max(server.worker_pss_mb()), 1),
        }
    finally:
        server.stop()


def worker_peak(targets: dict[str, dict], kind: str) -> float:
    """The largest worker of our app on one kind of database, after its runs."""
    return max(targets[n]["rss_mb_per_worker"] or 0 for n in targets if n.endswith(f"_{kind}"))


def reference_table(targets: dict[str, dict], reference: dict[str, dict]) -> str:
    """What the libraries alone hold per worker, against our app on the same database."""
    lines = ["", "memory reference: the stack's floor (Flask + Flask-SQLAlchemy + driver)"]
    for kind in memory.KINDS:
        floor = reference[f"stack_floor_{kind}"]["rss_mb_per_worker"]
        ours = worker_peak(targets, kind)
        lines.append(
            f"  {kind:<9} libraries alone {floor:5.1f} MB RSS, "
            f"our app {ours:5.1f} MB: +{ours - floor:.1f} MB of ours"
        )
    return "\n".join(lines)


def verify_redirect(url: str, dataset: data.Dataset, codes_file: Path) -> None:
    """One real redirect through nginx lands where the database says, before any load."""
    code = codes_file.read_text().split("\n", 1)[0]
    status, headers = servers.http_get(f"{url}/{code}")
    expected = data.first_target(dataset, code)
    if status != 302 or headers.get("Location") != expected:
        raise servers.ServerError(
            f"{url}/{code} answered {status} to {headers.get('Location')!r}, "
            f"expected 302 to {expected!r}"
        )


def verify_create(url: str) -> None:
    """One link made through nginx and the API answers 201, before any load."""
    request = urllib.request.Request(  # noqa: S310 - an http:// URL we built
        url + "/api/links",
        data=json.dumps({"url": "https://example.com/landing/page?campaign=bench"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        raise servers.ServerError(f"{url}/api/links did not answer: {exc}") from exc
    if status != 201:
        raise servers.ServerError(f"{url}/api/links answered {status}, expected 201")


def run(args: argparse.Namespace) -> int:
    progress = Progress("bench")
    # A plain SIGTERM would skip the `finally` below and leave servers running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.out = args.out.resolve()
    work = args.out.parent / "bench"
    data_dir = work / "data"
    running: list = []
    results: dict[str, list[wrk.WrkResult]] = {name: [] for name in TARGETS}
    rss: dict[str, list[float]] = {name: [] for name in TARGETS}
    pss: dict[str, list[float]] = {name: [] for name in TARGETS}
    cpu_us: dict[str, list[float]] = {name: [] for name in TARGETS}
    warmup_rps: dict[str, float] = {}
    try:
        with progress.step("wrk and nginx"):
            wrk_path = wrk.ensure_tools()
        sets = datasets(args.postgres_url, data_dir)
        codes: dict[str, Path] = {}
        for name, dataset in sets.items():
            if name.startswith("create_"):
                with progress.step(f"empty database for {name}"):
                    reset = data.reset_sqlite if dataset.kind == "sqlite" else data.reset_postgres
                    reset(dataset, ROOT)
                continue
            with progress.step(f"data set {dataset.name} ({dataset.size:,} links)"):
                prepare = data.prepare_sqlite if dataset.kind == "sqlite" else data.prepare_postgres
                loaded = prepare(dataset, ROOT)
                progress.say("  loaded in bulk" if loaded else "  reused from the last run")
                codes[name] = work / f"codes-{dataset.name}.txt"
                count = data.sample_codes(dataset, codes[name], args.sample)
                progress.say(f"  {count:,} codes sampled at random")
        codes["nginx_302"] = codes["flask_floor"] = codes["app_1m_sqlite"]

        with progress.step("start gunicorn (floor and app) and nginx"):
            apps: dict[str, servers.Gunicorn] = {
                "flask_floor": servers.floor_server(ROOT, work / "floor", work / "logs")
            }
            for name, dataset in sets.items():
                apps[name] = servers.app_server(name, ROOT, dataset.url, work / "logs")
            for name, server in apps.items():
                running.append(server)
                if name == "flask_floor":
                    server.start(ready_path="/x", status=302)
                else:
                    server.start(ready_path="/readyz")
            nginx = servers.Nginx(work / "nginx", {n: s.port for n, s in apps.items()})
            running.append(nginx)
            nginx.start()
            for name in REDIRECT_TARGETS[2:]:
                verify_redirect(nginx.url(name), sets[name], codes[name])
            for name in CREATE_TARGETS:
                verify_create(nginx.url(name))

        scripts = {name: wrk.write_scripts(work / "lua", path) for name, path in codes.items()}
        create_script = next(iter(scripts.values()))[1]
        for round_no in range(1, args.rounds + 1):
            # Every other round backwards, so a drift in the machine's load (other
            # processes come and go) weighs on all targets alike.
            for name in TARGETS if round_no % 2 else tuple(reversed(TARGETS)):
                script = create_script if name in CREATE_TARGETS else scripts[name][0]
                url = nginx.url(name) + ("/api/links" if name in CREATE_TARGETS else "")
                with progress.step(f"round {round_no}: {name}"):
                    if name in sets:
                        data.read_into_page_cache(sets[name])
                    # The previous target's visit counts are still being written (every
                    # 2 s): let that finish rather than bill it to this target.
                    time.sleep(args.settle)
                    if round_no == 1 and args.warmup:
                        # Long enough for each worker to have read most of a 10,000-code
                        # sample once: the rounds then measure the steady state. The cold
                        # rate is kept as warmup_rps rather than hidden.
                        warm = wrk.run_wrk(wrk_path, url, script, args.warmup)
                        warmup_rps[name] = round(warm.rps, 1)
                        progress.say(f"  warm-up: {warm.rps:,.0f} req/s")
                    server = nginx if name == "nginx_302" else apps[name]
                    cpu_before = server.workers_cpu_seconds()
                    result = wrk.run_wrk(wrk_path, url, script, args.duration)
                    cpu = server.workers_cpu_seconds() - cpu_before
                    results[name].append(result)
                    cpu_us[name].append(cpu / max(result.requests, 1) * 1e6)
                    rss[name] = server.worker_rss_mb()
                    pss[name] = server.worker_pss_mb()
                    progress.say(
                        f"  {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
                        f"p99 {result.p99_ms:.2f} ms, {result.errors} errors, "
                        f"{cpu_us[name][-1]:.0f} µs of worker CPU per request"
                    )
        for server in reversed(running):
            server.stop()
        running.clear()
        reference = {}
        for kind in memory.KINDS:
            name = f"stack_floor_{kind}"
            with progress.step(f"{name} (memory reference)"):
                dataset, script = sets[f"app_1m_{kind}"], scripts[f"app_1m_{kind}"][0]
                reference[name] = measure_stack_floor(
                    name, dataset, script, wrk_path, work, args.duration
                )
                progress.say(
                    f"  {reference[name]['rss_mb_per_worker']:.1f} MB RSS per worker "
                    f"({reference[name]['rps']:,.0f} req/s)"
                )
        for kind in memory.KINDS:
            with progress.step(f"where a worker's memory goes, {kind}"):
                reference[f"layers_{kind}"] = memory.import_ladder(kind, sets[f"app_1m_{kind}"].url)
    except (data.DataError, servers.ServerError, wrk.WrkError, memory.LadderError) as exc:
        progress.say(f"error: {exc}")
        progress.summary("failed")
        return 2
    finally:
        for server in reversed(running):
            server.stop()

    targets = {
        name: aggregate(results[name], rss[name], cpu_us[name], pss[name]) for name in TARGETS
    }
    for name, rate in warmup_rps.items():
        targets[name]["warmup_rps"] = rate
    ratio = ratios(targets)
    verdicts = checks(targets, ratio)
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit_id(),
        "settings": {
            "wrk": f"-t{wrk.THREADS} -c{wrk.CONNECTIONS} -d{args.duration}s",
            "rounds": args.rounds,
            "warmup_seconds": args.warmup,
            "codes_sampled": args.sample,
            "page_cache": "each SQLite data set read through before each of its rounds",
            # gunicorn.conf.py's defaults unless the environment overrides them.
            "gunicorn_env": {
                name: os.environ.get(name, "default")
                for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS")
            },
            "load_average": os.getloadavg()[0],
        },
        "targets": targets,
        "ratios": ratio,
        "reference": reference,
        "checks": {text: ok for text, ok in verdicts},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(table(targets, ratio, verdicts))
    print(reference_table(targets, reference))
    for kind in memory.KINDS:
        print()
        print(memory.ladder_table(kind, reference[f"layers_{kind}"], worker_peak(targets, kind)))
    met = all(ok for _, ok in verdicts)
    progress.summary(("all targets met" if met else "some targets missed") + f"; see {args.out}")
    return 0 if met else 1
