"""The built wheel installs into a fresh venv and serves from any directory: the reference
world, the fixtures and the trace shapes ship inside the package (refnova.package_data)."""

import re
import shutil
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

import pytest

from refnova.conformance.fixtures import REPO_ROOT
from tests.support.http import PROJECT, ServedApi
from tests.support.processes import READY, clean_environment

SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "refnova",
    "fixtures",
    "traces",
)


def build_wheel(workdir):
    """The wheel pip builds from a copy of the sources (the checkout is left untouched)."""
    source = workdir / "source"
    for name in SOURCES:
        copy = shutil.copytree if (REPO_ROOT / name).is_dir() else shutil.copy
        copy(REPO_ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(workdir / "dist"), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (workdir / "dist").glob("refnova-*.whl")
    return wheel


def fresh_venv(workdir, wheel):
    """A new venv with the wheel installed; its dependencies seen from this venv's."""
    target = workdir / "venv"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Appended after the venv's own site-packages: the wheel's refnova comes first.
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return target


def outside_environment():
    """A clean environment that reaches no refnova but the installed one."""
    env = clean_environment()
    env.pop("PYTHONPATH", None)
    return env


def run_installed_python(venv, probe):
    """``probe`` run by the venv's python from ``/``, reaching no refnova but the installed one."""
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        cwd="/",
        env=outside_environment(),
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("wheel")
    (workdir / "source").mkdir()
    return fresh_venv(workdir, build_wheel(workdir))


def test_the_installed_package_is_the_wheel_s_with_its_data(installed):
    probe = (
        "import refnova, refnova.world as w, refnova.package_data as d; "
        "print(refnova.__file__); print(w.DEFAULT_WORLD_FILE); print(d.data_dir('traces'))"
    )
    done = run_installed_python(installed, probe)
    package, world, traces = (Path(line) for line in done.stdout.splitlines())
    assert installed in package.parents
    assert installed in world.parents and world.is_file()
    assert (traces / "S01-minimal.json").is_file()


def wait_until_serving(log, process, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = READY.search(log.read_text())
        if found:
            return found.group(1)
        assert process.poll() is None, log.read_text()
        time.sleep(0.2)
    raise AssertionError("not serving within %ss:\n%s" % (timeout, log.read_text()))


def test_the_installed_refnova_serves_a_create_to_active_from_another_directory(
    installed, tmp_path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    log = tmp_path / "serve.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [str(installed / "bin" / "refnova"), "serve", "--port", "0"],
            cwd=elsewhere,
            env=outside_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        api = ServedApi(wait_until_serving(log, process))
        response = api.create(PROJECT, name="from-the-wheel")
        assert response.status_code == 202, response.text
        server_id = response.json()["server"]["id"]
        assert api.wait_for_status(PROJECT, server_id)["status"] == "ACTIVE"
    finally:
        process.terminate()
        assert process.wait(30) == 0, log.read_text()
    assert (elsewhere / "refnova.db").exists()
    assert not re.search("Traceback", log.read_text())


def test_the_installed_refnova_runs_its_shipped_fixtures_from_another_directory(
    installed, tmp_path
):
    done = subprocess.run(
        [str(installed / "bin" / "refnova"), "conformance", "-k", "C03 or F01"],
        cwd=tmp_path,
        env=outside_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed, 0 failed" in done.stdout  # C03 and the two F01 fixtures


def test_the_installed_refnova_renders_the_waterfall_from_its_shipped_assets(installed):
    probe = (
        "import refnova.tracing.waterfall as w; print(w.__file__); "
        "page = w.to_html([]); print(all(w.asset(a) in page for a in w.ASSETS[1:]))"
    )
    done = run_installed_python(installed, probe)
    module, inlined = done.stdout.splitlines()
    assert installed in Path(module).parents and inlined == "True"
