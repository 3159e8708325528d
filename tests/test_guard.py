"""The size guard: the machine's memory read from the OS, refusals naming the parameter and the estimate."""
import os

import pytest

from infra import guard
from infra.cli import UsageError
from verify import curves, sweep, theorem31


def test_machine_memory_is_the_meminfo_total():
    with open("/proc/meminfo") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
    assert guard.machine_memory_bytes() == kib * 1024
    assert guard.machine_memory_bytes() <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 1.01


def test_request_above_the_limit_is_refused_naming_parameter_estimate_and_machine():
    with pytest.raises(UsageError) as info:
        guard.check_request(3 * 2**30, "--trials=5", "trials x t floats", seconds=7200, limit_bytes=2**30)
    message = str(info.value)
    assert message.startswith("--trials=5 needs about 3.0 GiB") and "trials x t floats" in message
    assert "2.0 h" in message and "--allow-large" in message and len(message.splitlines()) == 1


def test_allow_large_and_requests_below_the_limit_pass():
    guard.check_request(3 * 2**30, "--trials=5", limit_bytes=2**30, allow_large=True)
    guard.check_request(2**29, "--trials=5", limit_bytes=2**30)
    with pytest.raises(UsageError):
        guard.check_request(float("nan"), "--x=1")


def test_check_terms_names_the_largest_term():
    with pytest.raises(UsageError, match="^--t=9 needs"):
        guard.check_terms({"--trials=1": 10.0, "--t=9": 2e3}, limit_bytes=100)
    assert guard.check_terms({"--a=1": 1.0, "--b=2": 2.0}) == 3.0


def test_estimates_grow_with_the_parameter_they_name():
    small = theorem31.memory_terms(theorem31.Theorem31Config(t=20))
    large = theorem31.memory_terms(theorem31.Theorem31Config(t=10**8))
    assert large["--t=100000000"] > 100 * small["--t=20"]
    assert sum(curves.memory_terms(curves.CurvesConfig(trials=10**6)).values()) > \
        10 * sum(curves.memory_terms(curves.CurvesConfig()).values())
    # the default runs fit comfortably
    assert sum(small.values()) < 2**30 and sum(curves.memory_terms(curves.CurvesConfig()).values()) < 2**30
    assert sum(sweep.point_memory_terms(sweep.R2Config()).values()) < 2**30


def test_check_time_refuses_an_estimate_beyond_the_limit_unless_allowed():
    with pytest.raises(UsageError, match=r"--batches=9 needs about 8\.0 days.*pass --allow-long"):
        guard.check_time(8 * 86400.0, "--batches=9")
    with pytest.raises(UsageError, match="--batches=9"):
        guard.check_time(float("nan"), "--batches=9")
    guard.check_time(8 * 86400.0, "--batches=9", allow_long=True)
    guard.check_time(6 * 86400.0, "--batches=9")
