"""Tests of the sweep machinery (infra.engine) and its command line (verify.sweep)."""
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verify import sweep as cli
from infra import engine as sweeps
from infra.store import config_hash
from infra.engine import (CACHED, DONE, FAILED, Grid, InProcessExecutor, make_executor, missing_points,
                           run_sweep, summary_rows, write_summary_csv)

REPO = Path(__file__).resolve().parents[1]


# Point functions. Top-level so worker processes can unpickle them by name; each call leaves
# one uniquely named file in point["calls"], which counts calls across processes.

def _record_call(point):
    Path(point["calls"], f"{point['x']}.{uuid.uuid4().hex}").touch()


def square_point(point):
    _record_call(point)
    return {"y": point["x"] ** 2, "nested": {"half": point["x"] / 2, "list": [1, 2]}}


def flaky_point(point):
    _record_call(point)
    if point["x"] == 3:
        raise ZeroDivisionError("x = 3 is where this point function breaks")
    return {"y": point["x"] ** 2}


def interrupting_point(point):
    if point["x"] == 3:
        raise KeyboardInterrupt
    return {"y": point["x"]}


def calls(calls_dir, x=None) -> int:
    """How many times points (with this x, if given) were computed."""
    return len([p for p in Path(calls_dir).iterdir() if x is None or p.name.split(".")[0] == str(x)])


def points_of(xs, calls_dir):
    return [{"x": x, "calls": str(calls_dir)} for x in xs]


def strip_seconds(records):
    """Records without their timings (the only part allowed to differ between executors)."""
    return [{k: v for k, v in r.items() if k not in ("seconds", "status")} for r in records]


# ---------------------------------------------------------------------------------------- grid

@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.integers(0, 10**6))
def test_grid_point_k_has_mixed_radix_digits_of_k_with_last_axis_fastest(sizes, salt):
    axes = {f"a{j}": [salt + 10 * j + i for i in range(n)] for j, n in enumerate(sizes)}
    points = Grid.from_dict(axes).points()
    assert len(points) == math.prod(sizes) == len(Grid.from_dict(axes))
    for k, point in enumerate(points):
        # independent oracle: digit j of k in the mixed radix (sizes), most significant first
        for j, n in enumerate(sizes):
            digit = (k // math.prod(sizes[j + 1:])) % n
            assert point[f"a{j}"] == axes[f"a{j}"][digit]


def test_grid_points_keep_base_values_and_axes_override_them():
    points = Grid.from_dict({"D": [2, 3]}).points({"D": 9, "sigma": 0.2})
    assert points == [{"D": 2, "sigma": 0.2}, {"D": 3, "sigma": 0.2}]


@pytest.mark.parametrize("axes, message", [
    ({"D": []}, "at least one value"),
    ({"D": "23"}, "list of values"),
    ({"D": 2}, "list of values"),
    ({"": [1]}, "non-empty string"),
])
def test_grid_rejects_bad_axes_naming_them(axes, message):
    with pytest.raises(ValueError, match=message):
        Grid.from_dict(axes)


# ------------------------------------------------------------------------------- run_sweep

def test_rerun_loads_cached_points_without_recomputing(tmp_path):
    calls_dir = tmp_path / "calls"
    calls_dir.mkdir()
    points = points_of(range(5), calls_dir)
    first = run_sweep(square_point, points, tmp_path / "cache", progress=False)
    second = run_sweep(square_point, points, tmp_path / "cache", progress=False)
    assert [r["status"] for r in first.records] == [DONE] * 5
    assert [r["status"] for r in second.records] == [CACHED] * 5
    assert calls(calls_dir) == 5
    assert second.results == first.results
    assert [r["seconds"] for r in second.records] == [r["seconds"] for r in first.records]


def test_missing_points_lists_exactly_the_uncached_points_once(tmp_path):
    points = points_of([0, 1, 2, 1], tmp_path)
    assert missing_points(square_point, points, tmp_path / "cache") == points[:3]
    run_sweep(square_point, points[:2], tmp_path / "cache", progress=False)
    assert missing_points(square_point, points, tmp_path / "cache") == [points[2]]


def test_cache_file_is_named_by_config_hash_and_holds_config_result_seconds_status(tmp_path):
    point = {"x": 4, "calls": str(tmp_path)}
    run_sweep(square_point, [point], tmp_path / "cache", progress=False)
    record = json.loads((tmp_path / "cache" / f"{config_hash(point)}.json").read_text())
    assert record["config"] == point
    assert record["result"] == {"y": 16, "nested": {"half": 2.0, "list": [1, 2]}}
    assert record["status"] == DONE and record["seconds"] >= 0
    assert record["function"].endswith("square_point")


def test_results_come_in_point_order_and_a_repeated_point_is_computed_once(tmp_path):
    xs = [4, 1, 4, 0, 2]
    sweep = run_sweep(square_point, points_of(xs, tmp_path), tmp_path / "cache", progress=False)
    assert [r["y"] for r in sweep.results] == [x * x for x in xs]
    assert calls(tmp_path, 4) == 1 and calls(tmp_path / "cache") == 4


def test_failing_point_is_reported_others_complete_and_rerun_retries_only_it(tmp_path):
    calls_dir = tmp_path / "calls"
    calls_dir.mkdir()
    points = points_of(range(6), calls_dir)
    sweep = run_sweep(flaky_point, points, tmp_path / "cache", progress=False)
    assert [r["status"] for r in sweep.records] == [DONE, DONE, DONE, FAILED, DONE, DONE]
    failed = sweep.failed[0]
    assert failed["config"]["x"] == 3 and failed["result"] is None
    assert failed["error"] == "ZeroDivisionError: x = 3 is where this point function breaks"
    assert "flaky_point" in failed["traceback"]
    assert not (tmp_path / "cache" / f"{config_hash(points[3])}.json").exists()
    assert sweep.summary()[FAILED] == 1 and sweep.summary()[DONE] == 5

    rerun = run_sweep(flaky_point, points, tmp_path / "cache", progress=False)
    assert [r["status"] for r in rerun.records] == [CACHED] * 3 + [FAILED] + [CACHED] * 2
    assert calls(calls_dir, 3) == 2 and calls(calls_dir) == 7


def test_result_that_is_not_json_fails_that_point_only(tmp_path):
    def bad(point):
        return {"y": object()} if point["x"] == 1 else {"y": point["x"]}
    sweep = run_sweep(bad, [{"x": 0}, {"x": 1}], tmp_path, progress=False)
    assert [r["status"] for r in sweep.records] == [DONE, FAILED]
    assert "TypeError" in sweep.records[1]["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{config_hash({'x': 0})}.json"]


def test_keyboard_interrupt_stops_the_sweep_and_keeps_finished_points(tmp_path):
    points = [{"x": x} for x in range(6)]
    with pytest.raises(KeyboardInterrupt):
        run_sweep(interrupting_point, points, tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{config_hash(p)}.json" for p in points[:3])


def test_cache_written_by_another_function_is_refused(tmp_path):
    points = points_of([1], tmp_path)
    run_sweep(square_point, points, tmp_path / "cache", progress=False)
    with pytest.raises(ValueError, match="separate cache_dir"):
        run_sweep(flaky_point, points, tmp_path / "cache", progress=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"points": [{1: 2}]}, "string keys"),
    ({"points": [[1, 2]]}, "string keys"),
    ({"points": [{"x": object()}]}, "JSON"),
    ({"fn": 3}, "callable"),
    ({"max_pending": 0}, "max_pending"),
])
def test_run_sweep_rejects_bad_arguments_naming_them(tmp_path, kwargs, message):
    args = {"fn": square_point, "points": [{"x": 1}], "cache_dir": tmp_path, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        run_sweep(**args)


# ----------------------------------------------------------------------------- executors

@pytest.mark.parametrize("workers", [-1, 1.5, True, "2"])
def test_make_executor_rejects_bad_worker_counts(workers):
    with pytest.raises(ValueError, match="workers"):
        with make_executor(workers):
            pass


@pytest.mark.parametrize("workers", [0, 1])
def test_zero_or_one_worker_runs_in_process(workers):
    with make_executor(workers) as ex:
        assert isinstance(ex, InProcessExecutor)
        assert ex.submit(os.getpid).result() == os.getpid()


def test_process_pool_gives_the_same_results_as_in_process(tmp_path):
    base = {**dataclasses.asdict(cli.R2Config()), "trials": 200}
    points = Grid.from_dict({"ntask": [1, 3], "seed": [0, 1]}).points(base)
    local = run_sweep(cli.r2_point, points, tmp_path / "a", progress=False)
    with make_executor(workers=2) as ex:
        assert isinstance(ex, ProcessPoolExecutor) and ex.submit(os.getpid).result() != os.getpid()
        pool = run_sweep(cli.r2_point, points, tmp_path / "b", executor=ex, progress=False)
    assert pool.count(DONE) == 4
    assert strip_seconds(pool.records) == strip_seconds(local.records)


def test_point_function_that_cannot_reach_the_workers_fails_each_point_without_crashing(tmp_path):
    with make_executor(workers=2) as ex:
        sweep = run_sweep(lambda point: {"y": 1}, [{"x": 0}, {"x": 1}], tmp_path, executor=ex, progress=False)
    assert sweep.count(FAILED) == 2
    assert all("pickle" in r["error"].lower() for r in sweep.records)
    assert list(tmp_path.iterdir()) == []


def test_dask_local_cluster_gives_the_same_results_as_in_process(tmp_path):
    distributed = pytest.importorskip("distributed")
    calls_dir = tmp_path / "calls"
    calls_dir.mkdir()
    points = points_of(range(50), calls_dir)
    local = run_sweep(flaky_point, points, tmp_path / "a", progress=False)
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster:
        with make_executor(dask_address=cluster.scheduler_address) as ex:
            remote = run_sweep(flaky_point, points, tmp_path / "b", executor=ex, progress=False)
    assert [r["status"] for r in remote.records] == [r["status"] for r in local.records]
    assert remote.results == local.results
    assert remote.records[3]["error"] == local.records[3]["error"]
    assert remote.count(DONE) == 49 and calls(calls_dir) == 100


def test_dask_without_distributed_installed_says_to_install_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(ImportError, match=r"install the \[dask\] extra"):
        with make_executor(dask_address="local"):
            pass


def test_remote_dask_address_with_a_worker_count_is_refused():
    pytest.importorskip("distributed")
    with pytest.raises(ValueError, match="leave workers unset"):
        with make_executor(workers=2, dask_address="tcp://127.0.0.1:1"):
            pass


def closed_port() -> int:
    """A local TCP port that nothing listens on (bound, then released)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address", ["no-port-here", "closed"])
def test_unreachable_dask_scheduler_fails_within_the_connect_timeout_naming_dask(address):
    pytest.importorskip("distributed")
    from infra.engine import DASK_CONNECT_SECONDS
    address = f"tcp://127.0.0.1:{closed_port()}" if address == "closed" else address
    start = time.perf_counter()
    with pytest.raises(ValueError, match=f"dask_address='{address}' \\(--dask\\): no scheduler answered"):
        with make_executor(dask_address=address):
            pass
    # dask's default (30 s) is not used; 2 s of slack cover the client's own set-up and tear-down
    assert time.perf_counter() - start < DASK_CONNECT_SECONDS + 2


# -------------------------------------------------------------------------- interruption

RESUME_SCRIPT = """
import sys, time, uuid
from pathlib import Path
from infra.engine import run_sweep

def slow_point(point):
    Path(point["calls"], f"{point['x']}.{uuid.uuid4().hex}").touch()
    time.sleep(0.04)
    return {"y": point["x"] ** 2}

if __name__ == "__main__":
    calls, cache = sys.argv[1], sys.argv[2]
    sweep = run_sweep(slow_point, [{"x": x, "calls": calls} for x in range(50)], cache, progress=False)
    print(sweep.count("done"), sweep.count("cached"), sweep.count("failed"))
"""


def test_sweep_killed_halfway_resumes_without_recomputing_finished_points(tmp_path):
    script = tmp_path / "resume_sweep.py"
    script.write_text(textwrap.dedent(RESUME_SCRIPT))
    calls_dir, cache = tmp_path / "calls", tmp_path / "cache"
    calls_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, str(script), str(calls_dir), str(cache)]

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not cache.exists() or len(list(cache.glob("*.json"))) < 20):
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    saved = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.json")}
    assert 20 <= len(saved) < 50, "the kill should land halfway"
    # atomic writes: every visible result file is complete (leftovers can only be hidden .tmp files)
    records = [json.loads((cache / name).read_text()) for name in saved]
    assert all(r["status"] == DONE and r["result"] == {"y": r["config"]["x"] ** 2} for r in records)
    assert all(p.name.startswith(".") and p.name.endswith(".tmp") for p in cache.iterdir() if p.name not in saved)
    saved_x = [r["config"]["x"] for r in records]

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.split() == [str(50 - len(saved)), str(len(saved)), "0"]
    assert len(list(cache.glob("*.json"))) == 50
    assert {name: (cache / name).stat().st_mtime_ns for name in saved} == saved
    assert all(calls(calls_dir, x) == 1 for x in saved_x)


ORPHAN_SCRIPT = """
import os, sys, time
from pathlib import Path
from infra.engine import make_executor, run_sweep

def stuck_point(point):
    Path(point["pids"], str(os.getpid())).touch()
    time.sleep(60)
    return {}

if __name__ == "__main__":
    with make_executor(workers=2) as ex:
        run_sweep(stuck_point, [{"x": x, "pids": sys.argv[1]} for x in range(4)], sys.argv[2], ex, progress=False)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")  # a zombie (state Z) is dead but still has a pid
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_worker_processes_exit_when_the_sweep_process_is_killed(tmp_path):
    script, pids = tmp_path / "orphans.py", tmp_path / "pids"
    script.write_text(textwrap.dedent(ORPHAN_SCRIPT))
    pids.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(script), str(pids), str(tmp_path / "cache")], env=env,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(pids.iterdir())) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.01)
    workers = [int(p.name) for p in pids.iterdir()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    proc.kill()
    proc.wait()
    # each worker polls every PARENT_POLL_SECONDS; allow 20 polls for a loaded machine
    deadline = time.monotonic() + 20 * sweeps.PARENT_POLL_SECONDS
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)


# --------------------------------------------------------------------------- summaries

def test_summary_rows_flatten_scalar_results_and_prefix_clashes(tmp_path):
    def clashing(point):
        return {"x": -point["x"], "status": "mine", "deep": {"a": {"b": 1}}, "vec": [1, 2]}
    sweep = run_sweep(clashing, [{"x": 1}, {"x": 2}], tmp_path / "c", progress=False)
    rows = summary_rows(sweep)
    assert rows[1] == {"x": 2, "result.x": -2, "result.status": "mine", "deep.a.b": 1,
                       "status": DONE, "seconds": sweep.records[1]["seconds"], "error": ""}
    path = write_summary_csv(sweep, tmp_path / "s.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "x,result.x,result.status,deep.a.b,status,seconds,error"
    assert len(lines) == 3 and lines[2].startswith("2,-2,mine,1,done,")


# ------------------------------------------------------------------------------ r2 point

def _r2_point(**kw):
    return cli.r2_point({**dataclasses.asdict(cli.R2Config()), **kw})


@pytest.mark.parametrize("D, ntask, sigma, t", [(2, 6, 0.2, 20), (3, 5, 0.1, 7), (4, 12, 0.3, 30)])
def test_r2_point_matches_one_minus_12_sigma2_over_t_within_4_se(D, ntask, sigma, t):
    trials = 4000
    out = _r2_point(D=D, ntask=ntask, sigma=sigma, t=t, trials=trials)
    predicted = 1 - 12 * sigma**2 / t
    # per-trial error e_j ~ N(0, s2) i.i.d. over D coordinates: Var(mean_j e_j^2) = 2 s2^2 / D
    s2 = sigma**2 / t
    se = 12 * math.sqrt(2 / D) * s2 / math.sqrt(trials)
    assert abs(out["r2"] - predicted) <= 4 * se  # 4 SE: two-sided p ~ 6e-5
    np.testing.assert_allclose(out["r2_se"], se, rtol=0.1)  # sd of 4000 samples: rel. error ~ 2 %
    assert out["passed"] and out["identifiable"] and out["rank"] == D


def test_r2_point_with_fewer_tasks_than_dimensions_loses_the_null_space_variance():
    sigma, t, trials = 0.2, 20, 4000
    out = _r2_point(D=2, ntask=1, sigma=sigma, t=t, trials=trials)
    # the one task's direction is decoded (error N(0, s2)); the other coordinate of x* is lost,
    # contributing Var(x) = 1/12 with Var(x^2) = E x^4 - (E x^2)^2 = 1/80 - 1/144 = 1/180.
    s2 = sigma**2 / t
    predicted = 1 - 12 * (s2 + 1 / 12) / 2
    se = 12 * math.sqrt((2 * s2**2 + 1 / 180) / 4 / trials)
    assert abs(out["r2"] - predicted) <= 4 * se
    assert out["passed"] and not out["identifiable"] and out["rank"] == 1


def test_r2_verdict_fails_when_fed_a_wrong_prediction():
    sigma, t = 0.2, 20
    rng = np.random.default_rng(5)
    sq_err = np.mean(rng.normal(0, sigma / math.sqrt(t), (40000, 2)) ** 2, axis=1)
    assert cli.r2_verdict(sq_err, 1 - 12 * sigma**2 / t)["passed"]
    # the free-reaction-time ceiling 1 - 12 sigma^2 / (t + 1) is 0.00114 away: ~9 SE at 40000 trials
    assert not cli.r2_verdict(sq_err, 1 - 12 * sigma**2 / (t + 1))["passed"]


def test_r2_point_same_seed_is_bit_identical_and_different_seeds_differ():
    a, b, c = _r2_point(seed=3, trials=300), _r2_point(seed=3, trials=300), _r2_point(seed=4, trials=300)
    assert a == b and a["r2"] != c["r2"]


# ----------------------------------------------------------------------------------- CLI

def test_cli_json_output_has_config_summary_points_and_files(tmp_path, capsys):
    code = cli.main(["r2", "--grid", "ntask=1,3", "trials=200", "--seed", "0:2", "--workers", "0",
                     "--out", str(tmp_path), "--quiet", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["passed"] is True
    assert set(out) == {"config", "summary", "points", "files", "folder_points", "passed"}
    assert out["config"]["grid"] == {"ntask": [1, 3], "trials": [200], "seed": [0, 1, 2]}
    assert [(p["config"]["ntask"], p["config"]["seed"]) for p in out["points"]] == \
        [(n, s) for n in (1, 3) for s in (0, 1, 2)]
    assert out["summary"]["points"] == 6 and out["summary"][DONE] == 6
    csv_file, json_file = out["files"]                      # a list of paths, as in every CLI's JSON
    assert len(Path(csv_file).read_text().splitlines()) == 7
    assert len(json.loads(Path(json_file).read_text())["points"]) == 6

    cli.main(["r2", "--grid", "ntask=1,3", "trials=200", "--seed", "0:2", "--workers", "0",
              "--out", str(tmp_path), "--quiet", "--json"])
    assert json.loads(capsys.readouterr().out)["summary"][CACHED] == 6


@pytest.mark.parametrize("argv, message", [
    (["nosuch"], "unknown; registered sweeps"),
    (["r2", "--grid", "D2,3"], "KEY=V1,V2"),
    (["r2", "--grid", "D="], "KEY=V1,V2"),
    (["r2", "--grid", "D=2,,3"], "empty value"),
    (["r2", "--grid", "bogus=1"], "'bogus' is unknown"),
    (["r2", "--grid", "D=2,x"], "D='x' must be of type int"),
    (["r2", "--grid", "offsets=maybe"], "true or false"),
    (["r2", "--grid", "D=2", "D=3"], "given twice"),
    (["r2", "--grid", "seed=1"], "given twice"),
    (["r2", "--seed", "3:1"], "empty"),
    (["r2", "--grid", "sigma=-0.1"], "sigma"),
    (["r2", "--grid", "D=3", "design=even"], "needs D=2"),
    (["r2", "--workers", "-1"], "--workers=-1 must be >= 0"),
])
def test_cli_bad_usage_exits_2_with_a_one_line_message(tmp_path, capsys, argv, message):
    assert cli.main(argv + ["--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("python -m verify.sweep: error:")


def test_cli_dask_without_distributed_exits_2_naming_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    assert cli.main(["r2", "--dask", "local", "--out", str(tmp_path), "--quiet"]) == 2
    assert "[dask] extra" in capsys.readouterr().err


def test_cli_exits_1_and_reports_a_failing_point(tmp_path, capsys, monkeypatch):
    spec = cli.SweepSpec("flaky", f"{__name__}:flaky_cli_point", "verify.sweep:R2Config")
    monkeypatch.setitem(cli.SWEEPS, "flaky", spec)
    code = cli.main(["flaky", "--grid", "ntask=2,3,4", "--workers", "0", "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 1
    assert "points 3: 2 computed, 0 cached, 1 failed" in out and out.rstrip().endswith("(see the table)")


def flaky_cli_point(point):
    if point["ntask"] == 3:
        raise RuntimeError("ntask = 3 breaks")
    return {"passed": True}


def test_cli_runs_as_a_module_in_a_subprocess(tmp_path):
    run = subprocess.run([sys.executable, "-m", "verify.sweep", "r2", "--grid", "trials=100", "--workers", "0",
                          "--out", str(tmp_path), "--quiet"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "points 1: 1 computed, 0 cached, 0 failed" in run.stdout
    assert (tmp_path / "r2" / "summary.csv").exists()


@pytest.mark.slow  # starts Dask worker processes: ~2 s idle, ~5 s on a loaded machine
def test_cli_runs_theorem31_on_a_local_dask_cluster(tmp_path, capsys):
    pytest.importorskip("distributed")
    pytest.importorskip("verify.theorem31")
    argv = ["theorem31", "--grid", "D=2,3", "ntask=1,3", "trials=500", "--seed", "0", "--dask", "local",
            "--workers", "2", "--out", str(tmp_path), "--quiet", "--json"]
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"][DONE] == 4
    assert {p["result"]["identifiable"] for p in out["points"]} == {True, False}


def test_atomic_writes_get_the_usual_file_permissions(tmp_path):
    """mkstemp creates 0600 files; stored results must be readable like any other file (0666 & ~umask)."""
    import os

    from infra.store import atomic_write_json

    mask = os.umask(0)
    os.umask(mask)
    path = atomic_write_json(tmp_path / "r.json", {"a": 1})
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask
