"""One way to start the browser for every browser test: Debian's Chromium, headless,
driven by Selenium through Debian's chromium-driver (never a downloaded browser)."""

import os
import shutil

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--window-size=1280,800"]


def _program(*names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(f"{names[0]} is not installed; the browser tests need Debian's chromium "
                f"and chromium-driver: run `bash .ci/setup`")


def start_chromium():
    """A headless Chromium at 1280x800 that keeps the console and network logs."""
    os.environ.setdefault("SE_OFFLINE", "true")     # never let Selenium download
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    options.binary_location = _program("chromium", "chromium-browser")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(_program("chromedriver")), options=options)
