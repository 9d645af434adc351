"""Launching Debian's chromium for browser tests (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        if os.environ.get("KANGFU_REQUIRE_BROWSER"):
            pytest.fail("Debian's chromium is not installed (apt-get install chromium).")
        pytest.skip("Debian's chromium is not installed; CI installs it.")
    return path
