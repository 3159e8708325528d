"""Checkpoints are records (nets.checkpoint, infra.records): damaged or stale files are never resumed from."""
import io
import json
import zipfile

import numpy as np
import pytest

import nets.checkpoint as nc
from infra.records import StaleRecord, write_npz_record
from nets.checkpoint import checkpoint_path, load_checkpoint, read_checkpoint
from nets.config import ensemble_config
from nets.pool import trained_networks
from nets.train import train

CONFIG = ensemble_config(ntask=(3,), hidden=6, batch_size=4, n_stim=4, batches=6, checkpoint_every=3, seed=2)


@pytest.fixture()
def saved(tmp_path):
    """A finished 6-batch run in tmp_path, its checkpoint path and a fresh uninterrupted run."""
    train(CONFIG, out_dir=tmp_path, progress=False)
    return checkpoint_path(tmp_path, CONFIG), train(CONFIG, progress=False)


def _arrays(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _rewrite(path, **changes):
    """Rewrite the npz with some arrays replaced, keeping the old record header (so the checksum lies)."""
    arrays = {**_arrays(path), **changes}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


def _tamper_rng(path):
    meta = json.loads(str(_arrays(path)["meta"]))
    meta["rng_states"][0]["state"]["state"] += 1
    _rewrite(path, meta=np.array(json.dumps(meta)))


def _nan_params(path):
    """NaN weights written as a fully valid record (right checksum): only the finiteness rule stops them."""
    arrays = _arrays(path)
    del arrays["__record__"]
    arrays["param_W_rec"] = np.full_like(arrays["param_W_rec"], np.nan)
    write_npz_record(path, nc.code_fingerprint(nc.CODE), **arrays)


DAMAGE = {
    "empty file": lambda p: p.write_bytes(b""),
    "truncated file": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "not a zip": lambda p: p.write_bytes(b"not an npz at all"),
    "changed RNG state": _tamper_rng,
    "altered weights": lambda p: _rewrite(p, param_W_out=_arrays(p)["param_W_out"] + 1),
    "NaN weights": _nan_params,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_checkpoint_is_never_resumed_from(saved, damage, capsys):
    path, fresh = saved
    DAMAGE[damage](path)
    assert read_checkpoint(path, expect=CONFIG) is None
    assert "corrupt cache record" in capsys.readouterr().err
    with pytest.raises(ValueError, match="corrupt"):
        load_checkpoint(path)
    # a resumed run starts afresh instead, and ends where an uninterrupted run ends
    again = train(CONFIG, out_dir=path.parent, resume=True, progress=False)
    for name, p in fresh.ensemble.params.items():
        np.testing.assert_array_equal(again.ensemble.params[name], p)
    assert load_checkpoint(path).batches_done == CONFIG.batches


def test_a_checkpoint_written_by_other_code_is_stale_recomputed_or_refused_under_strict_cache(saved, monkeypatch,
                                                                                              capsys):
    path, _ = saved
    monkeypatch.setattr(nc, "CODE", ("nets", "theory", "infra", "optimal"))   # as if the training code changed
    assert read_checkpoint(path, expect=CONFIG) is None
    assert "stale cache record" in capsys.readouterr().err
    with pytest.raises(StaleRecord, match="strict-cache"):
        read_checkpoint(path, expect=CONFIG, strict=True)
    with pytest.raises(StaleRecord):
        train(CONFIG, out_dir=path.parent, resume=True, progress=False, strict_cache=True)


def test_an_intact_checkpoint_of_this_code_resumes(saved):
    path, fresh = saved
    ckpt = read_checkpoint(path, expect=CONFIG)
    assert ckpt is not None and ckpt.batches_done == CONFIG.batches
    assert zipfile.is_zipfile(path)
    for name, p in fresh.ensemble.params.items():
        np.testing.assert_array_equal(ckpt.params[name], p)


def test_the_network_cache_retrains_a_damaged_network_file(tmp_path, capsys):
    ens, _ = trained_networks(CONFIG, tmp_path, progress=False, workers=1)
    (path,) = (tmp_path / f"b{CONFIG.batches}").glob("train-*.npz")
    DAMAGE["truncated file"](path)
    again, summary = trained_networks(CONFIG, tmp_path, progress=False, workers=1)
    assert "corrupt cache record" in capsys.readouterr().err
    assert np.isfinite(summary["network_batches_per_second"])            # it was trained again
    for name, p in ens.params.items():
        np.testing.assert_array_equal(again.params[name], p)
