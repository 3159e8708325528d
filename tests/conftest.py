"""Shared test configuration: hypothesis profiles, chosen by the HYPOTHESIS_PROFILE variable.

- ``dev`` (default on a workstation): few examples, for a quick local loop.
- ``ci`` (default when the CI variable is set, as in ``.ci/run``): derandomized, so a CI run is reproducible;
  30 examples keep the default run under two minutes on 2 cores (``thorough`` for more).
- ``thorough``: many examples, by hand before a release.

``deadline=None`` everywhere: numerical tests vary in time with array sizes.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def killed_training(monkeypatch):
    """``kill(config, out_dir, at)``: nets.train.train(config, out_dir) killed (KeyboardInterrupt)
    at its ``at``-th batch, leaving what it checkpointed before; the trainer is restored after."""
    import nets.train as nt

    def kill(config, out_dir, at: int) -> None:
        real_step, calls = nt.train_step, {"n": 0}

        def dies(*args):
            calls["n"] += 1
            if calls["n"] == at:
                raise KeyboardInterrupt("killed")
            return real_step(*args)

        monkeypatch.setattr(nt, "train_step", dies)
        with pytest.raises(KeyboardInterrupt):
            nt.train(config, out_dir=out_dir, progress=False)
        monkeypatch.setattr(nt, "train_step", real_step)

    return kill


@pytest.fixture
def network_reads(monkeypatch):
    """The paths of the network records read from disk while the test runs (a missing file looked
    for is not a read), by wrapping nets.checkpoint's record reader."""
    import nets.checkpoint
    reads, real = [], nets.checkpoint.read_npz_record

    def counted(path, *args, **kwargs):
        if path.exists():
            reads.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(nets.checkpoint, "read_npz_record", counted)
    return reads
