"""Test overrides, in one place. The database still comes from DATABASE_URL (SQLite by default)."""

import os
import tempfile

os.environ.setdefault("KANGFU_ENV_FILE", "/nonexistent")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijklmnop")
os.environ.setdefault("KANGFU_INSECURE_HTTP", "1")
os.environ.setdefault(
    "KANGFU_DATA_KEYS",
    "t2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,t1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
)
os.environ.setdefault("KANGFU_INDEX_KEY", "aW5kZXgta2V5LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3")
# Tests of other things sign in with a password alone; core/tests/test_twofactor.py turns it on.
os.environ.setdefault("KANGFU_TWO_FACTOR", "0")
os.environ.setdefault("KANGFU_TASK_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
# The webhook tests' receiver listens on 127.0.0.1; events/tests/test_addresses.py turns this off to
# test the refusal of private addresses.
os.environ.setdefault("KANGFU_WEBHOOK_ALLOW_PRIVATE", "1")

from kangfu.settings import *  # noqa: F403
from kangfu.settings import DATABASES

# Request threads of the live server must not keep connections open past their request, or the
# test database cannot be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0
MEDIA_ROOT = tempfile.mkdtemp(prefix="kangfu-test-media-")
# Each test process its own cache, emptied before every test (conftest): parallel test processes
# sharing the files of one would empty each other's.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    DATABASES["default"]["OPTIONS"] = {}
