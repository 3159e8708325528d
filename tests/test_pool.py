"""Network training on the sweep executor (nets.pool): one file per network, bit-identical to
nets.train.train whatever the stacking, the executor or where a network was trained, and resumable."""
import numpy as np
import pytest

from infra.engine import InProcessExecutor, make_executor
from nets.checkpoint import load_checkpoint
from nets.config import TrainConfig
from nets.pool import (stacks, load_networks, network_config, network_path, networks_summary, trained_networks,
                       train_networks, unfinished_networks)
from nets.train import train

SMALL = dict(net={"hidden": 8}, batch_size=4, n_stim=5, batches=20, checkpoint_every=10, seed=3)


def assert_same_networks(a, b):
    assert a.config == b.config
    for name, p in a.params.items():
        np.testing.assert_array_equal(b.params[name], p, err_msg=name)
    for da, db in zip(a.designs, b.designs):
        np.testing.assert_array_equal(da.C, db.C)


@pytest.fixture(scope="module")
def equal_ntask():
    config = TrainConfig(ntask=(3, 3, 3), sigma=(0.2, 0.4, 0.1), **SMALL)
    return config, train(config, progress=False).ensemble


@pytest.mark.parametrize("stack_size", [None, 1, 2])
def test_pooled_networks_equal_the_stacked_ensemble_bit_for_bit(equal_ntask, stack_size, tmp_path):
    # stack_size 1 trains every network alone, None stacks all three: both must give train(config).
    config, reference = equal_ntask
    assert_same_networks(reference, train_networks(config, tmp_path, progress=False, stack_size=stack_size)[0])
    files = sorted((tmp_path / "b20").glob("train-*.npz"))
    assert len(files) == 3 and not list((tmp_path / "b20" / "stacks").glob("*.npz"))
    assert [load_checkpoint(f).config.K for f in files] == [1, 1, 1]


@pytest.mark.slow      # 3-4 s (two worker processes); the in-process pool tests run by default
def test_two_process_pool_gives_the_networks_of_the_in_process_executor(equal_ntask, tmp_path):
    config, reference = equal_ntask
    with make_executor(workers=2) as ex:
        assert_same_networks(reference, train_networks(config, tmp_path, ex, progress=False, stack_size=1)[0])


def test_a_network_trained_by_nets_train_is_reused_not_retrained(equal_ntask, tmp_path):
    config, reference = equal_ntask
    alone = network_config(config, 1)
    train(alone, out_dir=tmp_path / "b20", progress=False)  # what `python -m nets.train` would write
    path = network_path(tmp_path, config, 1)
    assert path.exists()
    before = path.stat().st_mtime_ns
    assert_same_networks(reference, train_networks(config, tmp_path, progress=False, stack_size=1)[0])
    assert path.stat().st_mtime_ns == before


@pytest.mark.parametrize("partial", [(0, 1, 2), (1,)], ids=["all-partial", "one-partial"])
def test_a_killed_run_resumes_from_the_per_network_files(equal_ntask, partial, tmp_path):
    # A run killed after the first segment leaves per-network files at 10 of 20 batches
    # (written here by nets.train with batches=10 into the b20 folder: the same file names).
    config, reference = equal_ntask
    for k in partial:
        c = network_config(config, k)
        train(TrainConfig.from_dict({**c.to_dict(), "batches": 10}), out_dir=tmp_path / "b20", progress=False)
        assert load_checkpoint(network_path(tmp_path, config, k)).batches_done == 10
    assert_same_networks(reference, train_networks(config, tmp_path, progress=False)[0])
    assert all(load_checkpoint(network_path(tmp_path, config, k)).batches_done == 20 for k in range(3))


def test_mixed_task_counts_train_in_separate_stacks_and_equal_separate_runs(tmp_path):
    config = TrainConfig(ntask=(2, 2, 5), dtype="float64", **SMALL)
    assert stacks(config) == [range(2), range(2, 3)]
    assert stacks(config, 1) == [range(1), range(1, 2), range(2, 3)]
    ens, _ = train_networks(config, tmp_path, progress=False)
    for k in range(3):
        alone = train(network_config(config, k), progress=False).ensemble
        n = config.ntask[k]
        for name, p in alone.params.items():
            got = ens.params[name][k][..., :n] if name in ("W_out", "b_out") else ens.params[name][k]
            np.testing.assert_array_equal(got, p[0], err_msg=f"{name}[{k}]")
    np.testing.assert_array_equal(ens.params["W_out"][0][:, 2:], 0.0)  # padded read-outs stay zero
    summary = networks_summary(config, tmp_path)
    assert len(summary["checkpoints"]) == 3 and all(np.isfinite(summary["final_loss"]))


def test_loading_unfinished_networks_is_refused(tmp_path):
    config = TrainConfig(ntask=(3,), **SMALL)
    with pytest.raises(ValueError, match="not trained to batches=20"):
        load_networks(config, tmp_path)


@pytest.mark.parametrize("call, match", [
    (lambda p: train_networks({"ntask": [3]}, p), "config must be a TrainConfig"),
    (lambda p: network_config(TrainConfig(ntask=(3,)), 1), "k=1"),
    (lambda p: stacks(TrainConfig(ntask=(3,)), 0), "stack_size=0"),
])
def test_bad_pool_arguments_raise_a_named_value_error(call, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        call(tmp_path)


@pytest.mark.slow  # starting a LocalCluster takes ~4 s
def test_dask_local_cluster_gives_the_networks_of_the_local_run(equal_ntask, tmp_path):
    pytest.importorskip("distributed")
    config, reference = equal_ntask
    with make_executor(workers=2, dask_address="local") as ex:
        assert_same_networks(reference, train_networks(config, tmp_path, ex, progress=False, stack_size=1)[0])


class OwnDiskExecutor(InProcessExecutor):
    """Runs each task with its cache folder replaced by the worker's own disk, as a remote worker
    without a shared file system would."""

    def __init__(self, disk):
        super().__init__()
        self.disk = str(disk)

    def submit(self, fn, /, *args, **kwargs):
        return super().submit(fn, *args[:-1], self.disk, **kwargs)


def test_checkpoints_returned_by_a_worker_are_stored_when_its_files_are_not_visible(equal_ntask, tmp_path):
    config, reference = equal_ntask
    worker_disk, client_disk = tmp_path / "worker", tmp_path / "client"
    ens, _ = train_networks(config, client_disk, OwnDiskExecutor(worker_disk), progress=False, stack_size=2)
    assert_same_networks(reference, ens)
    assert unfinished_networks(config, worker_disk) == [] and unfinished_networks(config, client_disk) == []


def test_trained_networks_trains_once_then_loads_and_reports_a_summary(equal_ntask, tmp_path):
    config, reference = equal_ntask
    ens, summary = trained_networks(config, tmp_path, progress=False, workers=1)
    assert_same_networks(reference, ens)
    assert np.isfinite(summary["network_batches_per_second"]) and len(summary["checkpoints"]) == 3
    again, summary2 = trained_networks(config, tmp_path, progress=False, workers=1)
    assert_same_networks(reference, again)
    assert np.isnan(summary2["network_batches_per_second"]) and summary2["final_loss"] == summary["final_loss"]


def test_each_network_file_is_read_once_per_call(equal_ntask, tmp_path, network_reads):
    config, reference = equal_ntask
    reads = network_reads
    trained_networks(config, tmp_path, progress=False, workers=1)
    network_files = {network_path(tmp_path, config, k) for k in range(3)}
    assert not network_files & set(reads)             # trained here: kept in memory, never read back
    reads.clear()
    ens, _ = trained_networks(config, tmp_path, progress=False, workers=1)
    assert sorted(reads) == sorted(network_files)     # cached: each file read exactly once
    assert_same_networks(reference, ens)
