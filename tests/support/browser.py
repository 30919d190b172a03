"""A real headless browser for the page tests: Debian's Chromium and chromedriver, driven by
Selenium through the system driver (nothing is downloaded).

Where Chromium, chromedriver or Selenium is missing the test skips with the reason, except in
CI (``CI=true``), where that is a failure (``services.require``); .ci/run installs Chromium.
"""

import contextlib
import os
import shutil

from tests.support.services import require

CHROMIUM = os.environ.get("REFNOVA_TEST_CHROMIUM") or shutil.which("chromium")
CHROMEDRIVER = os.environ.get("REFNOVA_TEST_CHROMEDRIVER") or shutil.which("chromedriver")
WINDOW = (1400, 1000)


def chromium_problem():
    """Why no headless Chromium can be driven here, or None."""
    if not CHROMIUM:
        return "no chromium on PATH (Debian: apt-get install chromium chromium-driver)"
    if not CHROMEDRIVER:
        return "no chromedriver on PATH (Debian: apt-get install chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@contextlib.contextmanager
def headless_chromium():
    """A WebDriver session on a headless Chromium; quit when the block ends."""
    require("Chromium", chromium_problem())
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=%d,%d" % WINDOW,
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
