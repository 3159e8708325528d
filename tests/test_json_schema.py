"""One JSON schema across every CLI: a field has one JSON type in every command's output and row.

Every command line of the toolkit runs in process with ``--json`` on a tiny input; each output is
walked to its leaves, and every field name (the key holding a value, wherever it sits) must carry
one JSON type (number, string, boolean, array, object) across all commands, rows and checks. Null is
allowed beside that type (a missing or non-finite value). Numbers are numbers: a field that is a
number in one command is never a formatted string in another.
"""
import json
from collections import defaultdict

import pytest

import nets.train
from verify import architectures, curves, geometry, information_mc, report, sweep, theorem31
from verify.networks import cli as networks

#: Keys whose values are free-form maps (their own keys are data, e.g. parameter or file names).
MAPS = {"config", "grid", "extras", "summary", "measured", "results", "info", "training"}


def _type(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def field_types(obj, out=None, key="<top>"):
    """{field name: {JSON types}} of every key-value pair in ``obj`` (arrays walked element-wise)."""
    out = defaultdict(set) if out is None else out
    if isinstance(obj, dict):
        for k, v in obj.items():
            if key in MAPS:          # a free-form map: walk its values, do not treat its keys as fields
                field_types(v, out, k)
                continue
            out[k].add(_type(v))
            field_types(v, out, k)
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, list):
                out[key].add("array")
            field_types(v, out, key)
    return out


def conflicts(types: dict) -> dict:
    """The fields with more than one JSON type besides null."""
    return {k: sorted(t) for k, t in types.items() if len(t - {"null"}) > 1}


def test_a_field_with_two_types_is_caught_and_null_beside_one_type_is_not():
    assert conflicts(field_types({"rows": [{"predicted": 0.9}, {"predicted": "< 0.9"}]})) == \
        {"predicted": ["number", "string"]}
    assert conflicts(field_types({"rows": [{"predicted": 0.9}, {"predicted": None}]})) == {}
    assert conflicts(field_types({"config": {"x": 1}, "other": {"x": "a"}})) == {}   # map keys are data


def _report(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "THEOREM31_POINTS", (("D2 N3", dict(D=2, ntask=3, trials=300)),))
    monkeypatch.setattr(report, "CURVES_RUNS", (
        ("gaussian", dict(sigma=(0.2,), t=(5,), trials=500, replicates=2, angle_ntask=(6,), designs=50),
         "r^2 vs t", ("r2_vs_t",)),))
    return report.main, ["--skip-networks", "--workers", "1", "--out", "OUT"]


#: {command: (main, argv)} of tiny runs; FAST ones take about 2 s together, SLOW ones (the report's
#: theory parts, trainings) more.
FAST = {
    "theorem31": (theorem31.main, ["--D", "2", "--ntask", "3", "--trials", "300"]),
    "information_mc": (information_mc.main, ["--D", "2", "--ntask", "3", "--n", "200", "--m", "200"]),
    "curves": (curves.main, ["--t", "5", "--trials", "500", "--replicates", "2", "--angle-ntask", "6",
                             "--designs", "50", "--out", "OUT"]),
    "sweep": (sweep.main, ["r2", "--grid", "trials=200", "--seed", "0:1", "--workers", "0", "--out", "OUT"]),
    "geometry": (geometry.main, ["--ntask", "2", "--trials", "400", "--replicates", "2", "--shuffles", "2",
                                 "--out", "OUT"]),
}
SLOW = {
    "networks": (networks.main, ["--ntask", "2", "--networks", "2", "--batches", "20", "--hidden", "8",
                                 "--eval-trials", "400", "--encoder", "identity", "--experiment", "3a", "4",
                                 "--adam-steps", "10", "--n-boot", "100", "--workers", "1", "--out", "OUT"]),
    "geometry rnn": (geometry.main, ["--arch", "rnn", "--ntask", "2", "--networks", "2", "--batches", "20",
                                     "--trials", "400", "--shuffles", "2", "--workers", "1", "--out", "OUT"]),
    "architectures": (architectures.main, ["--ntask", "2", "--networks", "2", "--batches", "20", "--archs", "rnn",
                                           "transformer", "--workers", "1", "--out", "OUT"]),
    "train": (nets.train.main, ["--ntask", "2", "--batches", "20", "--hidden", "8", "--encoder", "identity",
                                "--workers", "1", "--out", "OUT"]),
}


def _output(main, argv, tmp_path, capsys) -> dict:
    """The --json output of ``main(argv)``; an ``OUT`` in argv is replaced by a fresh folder."""
    code = main([str(tmp_path) if a == "OUT" else a for a in argv] + ["--json", "--quiet"])
    assert code in (0, 1), capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _collect(commands, tmp_path, capsys) -> dict:
    outputs = {}
    for name, (main, argv) in commands.items():
        outputs[name] = _output(main, argv, tmp_path / name.replace(" ", "_"), capsys)
    return outputs


def _check(outputs: dict) -> None:
    merged: dict = defaultdict(set)
    where: dict = defaultdict(set)
    for name, payload in outputs.items():
        own = field_types(payload)
        assert not conflicts(own), (name, conflicts(own))
        for k, t in own.items():
            merged[k] |= t
            for kind in t:
                where[(k, kind)].add(name)
    bad = conflicts(merged)
    assert not bad, {k: {kind: sorted(where[(k, kind)]) for kind in t} for k, t in bad.items()}


def test_the_quick_commands_share_one_schema(tmp_path, capsys):
    outputs = _collect(FAST, tmp_path, capsys)
    assert all(isinstance(c["predicted"], (int, float, type(None))) for p in outputs.values()
               for c in p.get("checks", []) if isinstance(c, dict))
    _check(outputs)


@pytest.mark.slow
def test_every_command_shares_one_schema_with_the_report_and_the_network_commands(tmp_path, capsys, monkeypatch):
    commands = dict(FAST) | SLOW
    commands["verify"] = _report(tmp_path, monkeypatch)
    _check(_collect(commands, tmp_path, capsys))


def test_the_geometry_table_names_the_agent_and_its_own_n(tmp_path, capsys):
    payload = _output(*FAST["geometry"], tmp_path, capsys)
    assert {(r["agent"], r["ntask"]) for r in payload["rows"]} == {("optimal", 2)}
