"""What the functional tests share: a `refnova serve` process per module, and a client's view
of it through the README's clouds.yaml."""

import openstack
import pytest

from tests.support.clouds import client_environment, write_clouds_yaml
from tests.support.processes import Processes


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`refnova serve` in an empty directory, no REFNOVA_/OTEL_/OS_ settings: its base URL."""
    with Processes(tmp_path_factory.mktemp("serve")) as processes:
        yield processes.serve().url


@pytest.fixture(scope="module")
def clouds_yaml(served, tmp_path_factory):
    """The README's clouds.yaml, pointing at the served refnova."""
    return write_clouds_yaml(tmp_path_factory.mktemp("clouds"), served)


@pytest.fixture(scope="module")
def client_env(clouds_yaml):
    """The environment of a client process: the clouds.yaml and OS_CLOUD=refnova."""
    return client_environment(clouds_yaml)


@pytest.fixture
def clouds_conn(clouds_yaml, monkeypatch):
    """openstacksdk connected as a user connects it: the clouds.yaml and OS_CLOUD=refnova."""
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds_yaml))
    monkeypatch.setenv("OS_CLOUD", "refnova")
    return openstack.connect(cloud="refnova")
