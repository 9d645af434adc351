"""The environment of a production process: its own keys, no settings file, nothing from the test run."""

from __future__ import annotations

import os


def production_env(**extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "kangfu.settings",
        "KANGFU_ENV_FILE": "/nonexistent",
        "SECRET_KEY": "x7#Lq2!vR9@pT4zW8&mN1^cF6*hJ3$bK0(eY5)uG-aS+dQ=iO_oP;lX:wV,tZ.rC<",
        "KANGFU_DATA_KEYS": "prod:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "KANGFU_INDEX_KEY": "aW5kZXgta2V5LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3",
        **extra,
    }
