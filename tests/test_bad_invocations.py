"""Bad invocations of every CLI: exit 2, one line on stderr naming the parameter, no traceback, fast.

Each row is (module, argv, text the message must contain). The whole table runs in process
(``main(argv)``) and each call must end before any work starts (well under a second each).
"""
import os
import sys
import time

import pytest

from verify import curves, geometry, information_mc, report, sweep, theorem31
from verify.networks import cli as networks

MAIN = {"theorem31": theorem31.main, "curves": curves.main, "information_mc": information_mc.main,
        "sweep": sweep.main, "verify": report.main, "networks": networks.main, "geometry": geometry.main}
PROG = {"theorem31": "python -m verify.theorem31", "curves": "python -m verify.curves",
        "information_mc": "python -m verify.information_mc", "sweep": "python -m verify.sweep",
        "verify": "python -m verify", "networks": "python -m verify.networks", "geometry": "python -m verify.geometry"}

BIG = str(10**12)
#: Batches whose loss history fits in memory but whose training takes more than a day at any measured rate.
LONG = str(10**9)

BAD = [
    # theorem31
    ("theorem31", ["--D", "0"], "D=0"),
    ("theorem31", ["--D", "abc"], "--D"),
    ("theorem31", ["--ntask", "-3"], "ntask=-3"),
    ("theorem31", ["--sigma", "-0.1"], "sigma"),
    ("theorem31", ["--sigma", "nan"], "sigma"),
    ("theorem31", ["--sigma", "inf"], "sigma"),
    ("theorem31", ["--t", "0"], "t=0"),
    ("theorem31", ["--t", "1e9"], "--t"),
    ("theorem31", ["--t", "1000000000"], "--t=1000000000"),
    ("theorem31", ["--trials", "1"], "trials=1"),
    ("theorem31", ["--trials", BIG], f"--trials={BIG}"),
    ("theorem31", ["--ntask", "100000000"], "--ntask=100000000"),
    ("theorem31", ["--design", "circle"], "--design"),
    ("theorem31", ["--D", "3", "--design", "even"], "needs D=2"),
    ("theorem31", ["--rank", "0", "--D", "3"], "rank=0"),
    ("theorem31", ["--rank", "3", "--D", "3", "--ntask", "5"], "rank=3"),
    ("theorem31", ["--rank", "1.5"], "--rank"),
    ("theorem31", ["--seed", "-1"], "--seed"),
    ("theorem31", ["--seed", "x"], "--seed"),
    ("theorem31", ["--bogus"], "--bogus"),
    # curves
    ("curves", ["--sigma", "0"], "sigma=0"),
    ("curves", ["--sigma", "-1"], "sigma=-1"),
    ("curves", ["--sigma", "nan"], "sigma=nan"),
    ("curves", ["--t", "0"], "t"),
    ("curves", ["--t", "5:1"], "t='5:1'"),
    ("curves", ["--t", "a"], "t='a'"),
    ("curves", ["--t", "1:1000000000"], "t='1:1000000000'"),
    ("curves", ["--t", "1000000000"], "--t=1000000000"),
    ("curves", ["--D", "0"], "D=0"),
    ("curves", ["--D", "3", "--design", "even"], "needs D=2"),
    ("curves", ["--noise", "cauchy"], "--noise"),
    ("curves", ["--noise", "anisotropic", "--aniso-scales", "-1", "2"], "aniso_scales"),
    ("curves", ["--noise", "anisotropic", "--aniso-scales", "1"], "aniso_scales"),
    ("curves", ["--aniso-scales", "nan", "1"], "aniso_scales"),
    ("curves", ["--aniso", "nan", "1"], "aniso_scales"),                 # the old spelling, a hidden alias
    ("curves", ["--t", "1:2:0"], "t='1:2:0'"),
    ("curves", ["--estimator", "gls"], "gls"),
    ("curves", ["--trials", "1"], "trials=1"),
    ("curves", ["--trials", "100000000"], "--trials=100000000"),
    ("curves", ["--replicates", "1"], "replicates=1"),
    ("curves", ["--designs", "1"], "designs=1"),
    ("curves", ["--designs", "1000000000"], "--designs=1000000000"),
    ("curves", ["--angle-ntask", "0"], "angle_ntask=0"),
    ("curves", ["--angle-ntask", "100000000"], "--angle-ntask=100000000"),
    ("curves", ["--ntask", "100000000"], "--ntask=100000000"),
    ("curves", ["--alpha", "1.5"], "alpha=1.5"),
    ("curves", ["--target-spread", "-1"], "target_spread"),
    ("curves", ["--out", "/proc/x"], "--out='/proc/x'"),
    ("curves", ["--out", __file__], "is not a folder"),
    ("curves", ["--seed", "-1"], "--seed"),
    # information_mc
    ("information_mc", ["--m", "0"], "m=0"),
    ("information_mc", ["--n", "1"], "n=1"),
    ("information_mc", ["--n", "99"], "n=99"),
    ("theorem31", ["--sigma", "1e-300"], "sigma=1e-300"),
    ("theorem31", ["--sigma", "1e300"], "sigma=1e+300"),
    ("information_mc", ["--sigma", "1e-20", "--t", "1"], "sigma=1e-20"),
    ("information_mc", ["--n", BIG], f"--n={BIG}"),
    ("information_mc", ["--m", "10000000000"], "--m=10000000000"),
    ("information_mc", ["--D", "6", "--ntask", "3"], "--ntask=3"),
    ("information_mc", ["--D", "0"], "D=0"),
    ("information_mc", ["--ntask", "0"], "ntask=0"),
    ("information_mc", ["--sigma", "-1"], "sigma"),
    ("information_mc", ["--t", "0"], "t=0"),
    ("information_mc", ["--D", "3", "--design", "even"], "needs D=2"),
    ("information_mc", ["--design", "auto2"], "--design"),
    ("information_mc", ["--seed", "-2"], "--seed"),
    # sweep
    ("sweep", ["nosuch"], "nosuch"),
    ("sweep", ["theorem31", "--grid", "rank=abc"], "rank='abc'"),
    ("sweep", ["theorem31", "--grid", "rank=1.5"], "rank='1.5'"),
    ("sweep", ["theorem31", "--grid", "D=2", "--grid", "D=3"], "given twice"),
    ("sweep", ["theorem31", "--seed", "-1"], "--seed"),
    ("sweep", ["r2", "--seed", "-1"], "--seed"),
    ("sweep", ["r2", "--seed", "a"], "seed='a'"),
    ("sweep", ["r2", "--grid", "D=1:1000000000"], "--grid D"),
    ("sweep", ["r2", "--seed", "0:100000000000"], "100000000001 points"),   # refused with its count
    ("sweep", ["r2", "--grid", "ntask=3:400", "sigma=0.1,0.2", "--seed", "0:199"], "159200 points"),  # 398 x 2 x 200
    ("sweep", ["r2", "--grid", "D=2", "--grid", "D=3"], "'D' given twice"),
    ("sweep", ["r2", "--seed", "2:1"], "seed='2:1'"),
    ("sweep", ["r2", "--grid", "trials=100000000"], "trials=100000000"),
    ("sweep", ["r2", "--grid", "t=1000000000"], "t=1000000000"),
    ("sweep", ["r2", "--grid", "D=2,x"], "D='x'"),
    ("sweep", ["r2", "--grid", "sigma=0"], "sigma"),
    ("sweep", ["r2", "--grid", "sigma=nan"], "sigma"),
    ("sweep", ["r2", "--grid", "design=circle"], "design='circle'"),
    ("sweep", ["r2", "--grid", "offsets=maybe"], "offsets='maybe'"),
    ("sweep", ["r2", "--grid", "nosuch=1"], "'nosuch'"),
    ("sweep", ["r2", "--grid", "D"], "KEY=V1,V2"),
    ("sweep", ["r2", "--workers", "-1"], "--workers=-1"),
    ("sweep", ["r2", "--out", "/proc/x"], "/proc/x"),
    ("sweep", ["r2", "--out", __file__], "is not a folder"),
    # python -m verify
    ("verify", ["--out", "/proc/x"], "--out='/proc/x'"),
    ("verify", ["--out", __file__], "is not a folder"),
    ("verify", ["--seed", "-1"], "--seed"),
    ("verify", ["--workers", "-1"], "--workers=-1"),
    ("verify", ["--quick", "--full"], "--full"),
    ("verify", ["--bogus"], "--bogus"),
    # python -m verify.networks (python -m verify.rnn): days of training are refused with an estimate
    ("networks", ["--batches", BIG], "--batches=1000000000000"),         # the loss history alone: memory
    ("networks", ["--batches", LONG, "--networks", "1", "--ntask", "2", "--allow-large"], "--allow-long"),   # fits, days of training
    ("networks", ["--batches", str(2 * 10**8), "--networks", "1", "--experiment", "5c", "--allow-large"], "day"),
    ("networks", ["--networks", "0"], "networks=0"),
    ("networks", ["--ntask", "1"], "ntask"),
    ("networks", ["--arch", "perceptron"], "--arch"),
    ("networks", ["--aniso-scales", "1", "0", "--experiment", "noise"], "aniso_scales"),
    ("networks", ["--noise-a", "1", "--experiment", "noise"], "ar1_a=1.0"),   # old spelling, hidden alias
    # python -m verify.geometry
    ("geometry", ["--arch", "rnn", "--batches", BIG], "--batches=1000000000000"),
    ("geometry", ["--arch", "rnn", "--batches", LONG, "--networks", "1", "--ntask", "2", "--allow-large"], "--allow-long"),
    ("geometry", ["--agent", "rnn", "--batches", LONG, "--networks", "1", "--ntask", "2", "--allow-large"], "--allow-long"),        # old spelling of --arch
    ("geometry", ["--ntask", "1"], "ntask"),
    ("geometry", ["--trials", "10"], "trials"),
    ("geometry", ["--sigma", "0"], "sigma"),
    ("geometry", ["--replicates", "1"], "replicates"),
]


@pytest.mark.parametrize("module, argv, needle", BAD, ids=[f"{m}:{' '.join(a)}" for m, a, _ in BAD])
def test_bad_invocation_exits_2_with_one_line_naming_the_parameter(module, argv, needle, tmp_path, capsys):
    if module in ("sweep", "networks", "geometry") and "--out" not in argv:
        argv = argv + ["--out", str(tmp_path)]
    start = time.perf_counter()
    try:
        code = MAIN[module](argv)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    seconds = time.perf_counter() - start
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert code == 2, captured
    assert "Traceback" not in captured.err
    assert needle in err[-1], err
    assert err[-1].startswith(f"{PROG[module]}: error:"), err
    # argparse prints its usage line first; our own messages are exactly one line
    assert len(err) == 1 or err[0].startswith("usage:")
    assert seconds < 5, f"{seconds:.1f} s: the check must come before the work"


def test_the_table_covers_every_cli_broadly():
    per_cli = {m: sum(row[0] == m for row in BAD) for m in MAIN}
    assert min(per_cli.values()) >= 6 and len(BAD) >= 80


@pytest.mark.parametrize("module, argv", [("verify", []), ("sweep", ["r2"])])
def test_dask_without_distributed_exits_2_naming_the_extra(module, argv, monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)
    code = MAIN[module](argv + ["--dask", "local", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--dask='local'" in err[0] and "[dask] extra" in err[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("module, argv", [("curves", ["--t", "5"]), ("sweep", ["r2"]), ("verify", [])])
def test_read_only_out_folder_exits_2_before_any_work(module, argv, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert MAIN[module](argv + ["--out", str(ro / "x")]) == 2
    finally:
        ro.chmod(0o700)
    assert "not a writable folder" in capsys.readouterr().err
