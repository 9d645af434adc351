"""Writes the demo's environment file with fresh random secrets, without importing Django settings
(which cannot load until those secrets exist)."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

_OLD_IMMEDIATE = "KANGFU_TASK_BACKEND=django_tasks.backends.immediate.ImmediateBackend\n"
_DEMO_SERVING = ("KANGFU_STATIC_MANIFEST=1", "KANGFU_LOG_FORMAT=text")


def write_demo_env(path: Path) -> bool:
    """Create `path` if it is missing; return whether it was created. An existing file is kept,
    because its keys open the data already encrypted with them."""
    # The static root exists from the start, so the file server has a directory to watch.
    (path.parent / "static").mkdir(parents=True, exist_ok=True)
    if path.exists():
        # A demo file written before a setting existed gets the demo's value of it, keys untouched.
        text = path.read_text()
        if "KANGFU_TWO_FACTOR=" not in text:
            text = text.rstrip("\n") + "\nKANGFU_TWO_FACTOR=0\n"
        # Tasks ran inside the request until `kangfu run` brought a worker to the demo.
        text = text.replace(_OLD_IMMEDIATE, "")
        for line in _DEMO_SERVING:
            if line.split("=")[0] + "=" not in text:
                text = text.rstrip("\n") + f"\n{line}\n"
        path.write_text(text)
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
        "# Served as a deployment is (`kangfu run`: gunicorn and a task worker), with readable logs.\n"
        + "".join(f"{line}\n" for line in _DEMO_SERVING)
    )
    path.write_text(content)
    path.chmod(0o600)
    return True
