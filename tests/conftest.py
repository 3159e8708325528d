"""Shared test configuration: hypothesis profiles, chosen by the HYPOTHESIS_PROFILE variable.

- ``dev`` (default on a workstation): few examples, for a quick local loop.
- ``ci`` (default when the CI variable is set, as in ``.ci/run``): derandomized, so a CI run is reproducible;
  30 examples keep the default run under two minutes on 2 cores (``thorough`` for more).
- ``thorough``: many examples, by hand before a release.

``deadline=None`` everywhere: numerical tests vary in time with array sizes.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
