"""Cache integrity: stale records are recomputed (or refused), damaged ones are never used,
concurrent runs into one folder take turns and the folder's summary lists every point."""
import importlib
import json
import sys
import threading

import numpy as np
import pytest

from infra import records
from infra.engine import CACHED, DONE, run_sweep
from infra.lock import folder_lock
from infra.records import (CORRUPT, MISSING, OK, STALE, StaleRecord, check_usable, code_fingerprint, read_npz_record,
                           read_record, write_npz_record, write_record)
from verify import sweep


def square(point):
    return {"y": point["x"] ** 2}


# ---- JSON records -------------------------------------------------------------------------------

def test_record_round_trips_and_a_changed_fingerprint_makes_it_stale(tmp_path):
    path = write_record(tmp_path / "r.json", {"a": [1, 2.5], "b": {"c": "d"}}, "f1")
    assert read_record(path, "f1").payload == {"a": [1, 2.5], "b": {"c": "d"}}
    assert read_record(path, "f2").status == STALE
    assert read_record(path).status == OK  # no fingerprint asked: not compared


def test_record_of_another_toolkit_version_is_stale(tmp_path, monkeypatch):
    path = write_record(tmp_path / "r.json", {"a": 1}, "f")
    monkeypatch.setattr(records, "TOOLKIT_VERSION", "9.9.9")
    assert read_record(path, "f").status == STALE


@pytest.mark.parametrize("damage", [
    lambda r: r.update(a=2),                    # altered payload
    lambda r: r.update(extra=1),                # added key
    lambda r: r.pop("a"),                       # removed key
    lambda r: r.pop("checksum"),                # no header
    lambda r: r.update(checksum=5),             # header of the wrong type
])
def test_altered_record_fails_its_checksum_and_is_corrupt(tmp_path, damage):
    path = write_record(tmp_path / "r.json", {"a": 1}, "f")
    record = json.loads(path.read_text())
    damage(record)
    path.write_text(json.dumps(record))
    assert read_record(path, "f").status == CORRUPT


@pytest.mark.parametrize("content", [b"", b"{", b"[1, 2]", b"\x00\xff", b'{"toolkit": "0"'])
def test_empty_truncated_or_foreign_files_are_corrupt(tmp_path, content):
    path = tmp_path / "r.json"
    path.write_bytes(content)
    assert read_record(path, "f").status == CORRUPT


def test_a_missing_record_is_missing_and_unusable(tmp_path):
    found = read_record(tmp_path / "none.json")
    assert found.status == MISSING and not check_usable(found, tmp_path / "none.json")


def test_schema_validation_failure_makes_an_intact_record_corrupt(tmp_path):
    path = write_record(tmp_path / "r.json", {"passed": "no"}, "f")

    def schema(p):
        if not isinstance(p["passed"], bool):
            raise ValueError("passed must be a boolean")
    assert read_record(path, "f", schema).status == CORRUPT
    assert read_record(path, "f").status == OK


def test_stale_records_warn_once_and_strict_mode_refuses_them(tmp_path, capsys):
    path = write_record(tmp_path / "r.json", {"a": 1}, "old")
    found = read_record(path, "new")
    assert not check_usable(found, path)
    assert "stale cache record" in capsys.readouterr().err
    with pytest.raises(StaleRecord, match="--strict-cache"):
        check_usable(found, path, strict=True)


def test_code_fingerprint_changes_when_a_source_file_changes(tmp_path, monkeypatch):
    pkg = tmp_path / "fpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "formula.py").write_text("def f(x):\n    return 12 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    before = code_fingerprint(["fpkg"])
    assert code_fingerprint("fpkg") == before  # cached, and a string is a one-name list
    (pkg / "formula.py").write_text("def f(x):\n    return 11 * x\n")
    records._fingerprint.cache_clear()
    assert code_fingerprint(["fpkg"]) != before
    with pytest.raises(ValueError, match="no module or package named 'no_such_pkg_x'"):
        code_fingerprint(["no_such_pkg_x"])


def test_import_closure_follows_imports_and_its_fingerprint_ignores_unrelated_modules(tmp_path, monkeypatch):
    pkg = tmp_path / "cpkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "train.py").write_text("from cpkg.sub import step\nimport json\n")
    (pkg / "sub" / "step.py").write_text("from . import rule\n")
    (pkg / "sub" / "rule.py").write_text("R = 1\n")
    (pkg / "unrelated.py").write_text("U = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    closure = records.import_closure("cpkg.train", ("cpkg",))
    assert closure == ("cpkg.__init__", "cpkg.sub.__init__", "cpkg.sub.rule", "cpkg.sub.step", "cpkg.train")
    before = code_fingerprint(closure)
    (pkg / "unrelated.py").write_text("U = 2\n")
    records._fingerprint.cache_clear()
    assert code_fingerprint(closure) == before
    (pkg / "sub" / "rule.py").write_text("R = 2\n")
    records._fingerprint.cache_clear()
    assert code_fingerprint(closure) != before
    with pytest.raises(ValueError, match="roots="):
        records.import_closure("json", ("cpkg",))


# ---- npz records (checkpoints) -----------------------------------------------------------------

def _checkpoint(tmp_path, **override):
    arrays = {"W": np.arange(6.0).reshape(2, 3), "rng_state": np.array([1, 2, 3], dtype=np.uint64)}
    arrays.update(override)
    return write_npz_record(tmp_path / "ck.npz", "code", **arrays)


def test_npz_record_round_trips_bit_identically(tmp_path):
    found = read_npz_record(_checkpoint(tmp_path), "code", require_finite=["W"])
    assert found.ok and np.array_equal(found.payload["W"], np.arange(6.0).reshape(2, 3))
    assert found.payload["rng_state"].dtype == np.uint64


def test_npz_record_with_non_finite_parameters_is_never_resumed(tmp_path):
    path = _checkpoint(tmp_path, W=np.array([[0.0, np.nan, 1.0]]))
    assert read_npz_record(path, "code").ok  # finite not asked
    found = read_npz_record(path, "code", require_finite=["W"])
    assert found.status == CORRUPT and "NaN" in found.reason


def test_npz_record_with_a_changed_rng_state_fails_its_checksum(tmp_path):
    path = _checkpoint(tmp_path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["rng_state"] = arrays["rng_state"] + np.uint64(1)
    np.savez(path, **arrays)
    assert read_npz_record(path, "code").status == CORRUPT


@pytest.mark.parametrize("cut", [0, 10, 100])
def test_empty_or_truncated_npz_is_corrupt_not_an_exception(tmp_path, cut):
    path = _checkpoint(tmp_path)
    path.write_bytes(path.read_bytes()[:cut])
    assert read_npz_record(path, "code").status == CORRUPT


def test_npz_of_other_code_is_stale(tmp_path):
    assert read_npz_record(_checkpoint(tmp_path), "other").status == STALE


# ---- the sweep engine and CLI -------------------------------------------------------------------

def test_engine_recomputes_a_point_made_by_other_code_and_warns(tmp_path, capsys):
    pts = [{"x": 3}]
    run_sweep(square, pts, tmp_path, progress=False, fingerprint="v1")
    again = run_sweep(square, pts, tmp_path, progress=False, fingerprint="v1")
    assert again.count(CACHED) == 1
    changed = run_sweep(square, pts, tmp_path, progress=False, fingerprint="v2")
    assert changed.count(DONE) == 1 and "stale cache record" in capsys.readouterr().err
    with pytest.raises(StaleRecord):
        run_sweep(square, pts, tmp_path, progress=False, fingerprint="v3", strict_cache=True)


ARGV = ["r2", "--grid", "trials=200", "--workers", "0", "--quiet", "--json"]


@pytest.mark.parametrize("tamper", [
    lambda r: r["result"].update(r2=0.5),                   # altered result (checksum)
    lambda r: r.update(result={}),                           # empty result
    lambda r: r["result"].update(passed="no"),               # wrong type
    lambda r: r.pop("seconds"),                              # missing key
])
@pytest.mark.parametrize("resign", [False, True])
def test_sweep_never_uses_an_altered_point_file(tmp_path, capsys, tamper, resign):
    """With the checksum left stale the file is corrupt; re-signed (a consistent forgery of the
    checksum) it still fails the schema or the verdict's own consistency."""
    assert sweep.main(ARGV + ["--out", str(tmp_path)]) == 0
    first = json.loads(capsys.readouterr().out)
    path = tmp_path / "r2" / "points" / f"{first['points'][0]['hash']}.json"
    record = json.loads(path.read_text())
    tamper(record)
    if resign:
        payload = {k: v for k, v in record.items() if k not in records.HEADER_KEYS}
        record["checksum"] = records.payload_checksum(payload)
    path.write_text(json.dumps(record))
    assert sweep.main(ARGV + ["--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["summary"][DONE] == 1 and out["points"][0]["result"] == first["points"][0]["result"]
    assert "corrupt cache record" in captured.err


def test_truncated_point_file_is_recomputed(tmp_path, capsys):
    assert sweep.main(ARGV + ["--out", str(tmp_path)]) == 0
    path = next((tmp_path / "r2" / "points").glob("*.json"))
    path.write_bytes(path.read_bytes()[:40])
    capsys.readouterr()
    assert sweep.main(ARGV + ["--out", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["summary"][DONE] == 1


def test_editing_the_code_recomputes_and_strict_cache_refuses_with_exit_2(tmp_path, capsys, monkeypatch):
    assert sweep.main(ARGV + ["--out", str(tmp_path)]) == 0
    capsys.readouterr()
    # a code edit is a new fingerprint of the sweep's dependencies
    monkeypatch.setattr(sweep.SweepSpec, "fingerprint", lambda self: "edited-code")
    assert sweep.main(ARGV + ["--out", str(tmp_path), "--strict-cache"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--strict-cache" in err[0] and "stale" in err[0]
    assert sweep.main(ARGV + ["--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["summary"][DONE] == 1 and "stale cache record" in captured.err


def test_theorem31_points_keep_claim_and_binding_through_the_cache(tmp_path, capsys):
    argv = ["theorem31", "--grid", "trials=200", "t=5", "--workers", "0", "--quiet", "--json", "--out", str(tmp_path)]
    assert sweep.main(argv) == 0
    assert sweep.main(argv) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert out["summary"][CACHED] == 1
    checks = sweep.theorem31_checks(out["points"][0]["result"])
    assert all(c.claim and c.claim != c.name and c.binding is True for c in checks)


def test_theorem31_rows_come_in_the_same_order_fresh_and_from_the_cache(tmp_path, capsys):
    argv = ["theorem31", "--grid", "trials=200", "t=5", "--workers", "0", "--quiet", "--json", "--out", str(tmp_path)]
    assert sweep.main(argv) == 0
    fresh = json.loads(capsys.readouterr().out.splitlines()[-1])["points"][0]["result"]
    assert sweep.main(argv) == 0
    cached = json.loads(capsys.readouterr().out.splitlines()[-1])["points"][0]["result"]
    reordered = dict(fresh, checks=dict(reversed(list(fresh["checks"].items()))))
    names = [[c.name for c in sweep.theorem31_checks(r)] for r in (fresh, cached, reordered)]
    assert names[0] == names[1] == names[2] == sorted(names[0])


def test_folder_summary_lists_the_points_of_every_run_with_its_sweep(tmp_path, capsys):
    base = ["r2", "--workers", "0", "--quiet", "--json", "--out", str(tmp_path)]
    assert sweep.main(base + ["--grid", "trials=200", "D=2,3"]) == 0
    assert sweep.main(base + ["--grid", "trials=200", "ntask=4"]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert out["summary"]["points"] == 1 and out["folder_points"] == 3
    results = json.loads((tmp_path / "r2" / "results.json").read_text())
    assert len(results["points"]) == 3
    assert len((tmp_path / "r2" / "summary.csv").read_text().splitlines()) == 4


def test_folder_lock_makes_a_second_holder_wait(tmp_path):
    held, released = threading.Event(), threading.Event()

    def hold():
        with folder_lock(tmp_path):
            held.set()
            released.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    with pytest.raises(TimeoutError, match="locked by another run"):
        with folder_lock(tmp_path, timeout=0.3, stream=sys.stderr):
            pass
    released.set()
    thread.join()
    with folder_lock(tmp_path, timeout=1):  # free again once the holder leaves
        pass


def test_a_record_from_before_headers_is_stale_not_corrupt(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"config": {"x": 1}, "result": {"y": 1}, "status": "done"}))
    assert read_record(path, "f").status == STALE


def test_an_npz_from_before_headers_is_stale(tmp_path):
    np.savez(tmp_path / "old.npz", W=np.ones(3))
    assert read_npz_record(tmp_path / "old.npz", "code").status == STALE
