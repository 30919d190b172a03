"""The build's one step that pyproject.toml cannot say: ship the repository's fixtures/ and
traces/ inside the package, as refnova/data/fixtures and refnova/data/traces.

Copied at build time rather than moved under refnova/, so that the top-level folders stay
the one source of truth for the tests and tools, and no symlink or duplicate is committed.
refnova.package_data reads the copies with importlib.resources.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = ("fixtures", "traces")  # as refnova.package_data.SHIPPED


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the checkout
            return
        for name in SHIPPED:
            shutil.copytree(
                HERE / name, Path(self.build_lib, "refnova", "data", name), dirs_exist_ok=True
            )


setup(cmdclass={"build_py": BuildPyWithData})
