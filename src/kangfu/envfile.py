"""Writes the demo's environment file with fresh random secrets, without importing Django settings
(which cannot load until those secrets exist)."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


def write_demo_env(path: Path) -> bool:
    """Create `path` if it is missing; return whether it was created. An existing file is kept,
    because its keys open the data already encrypted with them."""
    # The static root exists from the start, so the file server has a directory to watch.
    (path.parent / "static").mkdir(parents=True, exist_ok=True)
    if path.exists():
        # A demo file written before a setting existed gets the demo's value of it, keys untouched.
        text = path.read_text()
        if "KANGFU_TWO_FACTOR=" not in text:
            path.write_text(text.rstrip("\n") + "\nKANGFU_TWO_FACTOR=0\n")
        return False
    key = base64.b64encode(os.urandom(32)).decode()
    index = base64.b64encode(os.urandom(32)).decode()
    content = (
        "# Demo settings, written by `kangfu init-env`. Keep this file: its keys decrypt the demo data.\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"KANGFU_DATA_KEYS=demo1:{key}\n"
        f"KANGFU_INDEX_KEY={index}\n"
        "KANGFU_INSECURE_HTTP=1\n"
        "# The demo signs in with a password alone; a real deployment leaves two-factor sign-in on.\n"
        "KANGFU_TWO_FACTOR=0\n"
        "KANGFU_TASK_BACKEND=django_tasks.backends.immediate.ImmediateBackend\n"
    )
    path.write_text(content)
    path.chmod(0o600)
    return True
