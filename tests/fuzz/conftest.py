"""The fuzz suite's hypothesis profiles and its deployment.

``REFNOVA_FUZZ_PROFILE`` picks the profile: ``ci`` (the default: a few hundred examples,
derandomized so that CI is repeatable) or ``fuzz`` (``tox -e fuzz``: 10,000, random).
Each profile's figure is the total over the suite's tests (see EXAMPLES)."""

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.support.deployment import make_deployment

# Examples in all, shared evenly by the suite's tests (tests/fuzz/test_fuzz.py).
EXAMPLES = {"ci": 400, "fuzz": 10_000}
FUZZ_TESTS = 2
PROFILE = os.environ.get("REFNOVA_FUZZ_PROFILE", "ci")

for name, total in EXAMPLES.items():
    settings.register_profile(
        name,
        max_examples=total // FUZZ_TESTS,
        deadline=None,
        database=None,
        derandomize=name == "ci",
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
settings.load_profile(PROFILE)

# Quotas and a rate limit no fuzz run reaches, so that every example meets the checks
# rather than a quota or the limiter; every microversion served.
ROOMY_WORLD = {
    "quotas": {"instances": 10**9, "cores": 10**9, "ram": 10**12},
    "rate_limits": {"POST": 10**9},
}


@pytest.fixture(scope="module")
def fuzz_deployment():
    with make_deployment(ROOMY_WORLD, max_microversion="2.104") as deployment:
        yield deployment
