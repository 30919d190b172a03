"""A cloud named ``refnova`` as the clients see it: the README's clouds.yaml, and running a
client program (``openstack``, ``nova``) with it."""

import re
import subprocess
import sys
from pathlib import Path

import openstack

from tests.support.processes import clean_environment

README = Path(__file__).resolve().parents[2] / "README.md"
README_URL = "http://127.0.0.1:8774"
BIN = Path(sys.executable).parent
CLIENT_TIMEOUT = 180


def readme_clouds_yaml():
    """The README's clouds.yaml, as a user copies it."""
    (block,) = [
        b for b in re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S) if "refnova:" in b
    ]
    return block


def write_clouds_yaml(directory, url):
    """The README's clouds.yaml in ``directory``, pointing at the refnova serving ``url``."""
    path = Path(directory) / "clouds.yaml"
    path.write_text(readme_clouds_yaml().replace(README_URL, url))
    return path


def client_environment(clouds_yaml):
    """A client process's environment: only the clouds.yaml and OS_CLOUD=refnova."""
    return clean_environment(OS_CLIENT_CONFIG_FILE=clouds_yaml, OS_CLOUD="refnova")


def run_client(env, program, *args, check=True):
    """``program`` (from this interpreter's bin directory) run to its end."""
    done = subprocess.run(
        [str(BIN / program), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
    )
    if check:
        assert done.returncode == 0, "%s %s: %s" % (program, " ".join(args), done.stderr)
    return done


def demo_user_environment(url):
    """The demo user as OS_* variables, for a client that reads no clouds.yaml (novaclient)."""
    return clean_environment(
        OS_AUTH_URL=url + "/identity/v3",
        OS_USERNAME="demo",
        OS_PASSWORD="demo",
        OS_PROJECT_NAME="demo",
        OS_USER_DOMAIN_NAME="Default",
        OS_PROJECT_DOMAIN_NAME="Default",
        OS_IDENTITY_API_VERSION="3",
        OS_REGION_NAME="RegionOne",
    )


def demo_connection(url, **options):
    """An openstacksdk connection as the demo user, given in code (no clouds.yaml)."""
    return openstack.connection.Connection(
        auth={
            "auth_url": url + "/identity/v3",
            "username": "demo",
            "password": "demo",
            "project_name": "demo",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        },
        region_name="RegionOne",
        identity_api_version="3",
        **options,
    )
