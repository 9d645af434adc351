"""An import killed half-way leaves nothing, and the file can be imported again.

The command runs in a process of its own on a database file of its own, and is killed with SIGKILL
while it is writing: no clean-up code of ours runs, only the database's own atomicity."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kangfu.core.ids import check_character
from kangfu.core.tests import migrated
from kangfu.golive.tests.helpers import csv_bytes
from kangfu.people.tests.factories import JIUJIANGLU

KANGFU = Path(sys.executable).parent / "kangfu"


def _kangfu(env, *args, **kwargs):
    return subprocess.run([str(KANGFU), *args], env=env, capture_output=True, text=True, check=True, **kwargs)


def _people_file(path: Path, n: int) -> None:
    rows = [["身份证号", "姓名", "居住社区"]]
    for i in range(n):
        born = dt.date(1950 + i % 40, 1 + i % 12, 1 + i % 28)
        first17 = f"1201{(i // 1000) % 100:02d}{born:%Y%m%d}{i % 1000:03d}"
        rows.append([first17 + check_character(first17), f"人员{i}", JIUJIANGLU])
    path.write_bytes(csv_bytes(rows))


def _count(env) -> str:
    return (
        _kangfu(env, "shell", "-c", "from kangfu.people.models import Person; print(Person.objects.count())")
        .stdout.strip()
        .splitlines()[-1]
    )


@pytest.mark.skipif(not KANGFU.exists(), reason="the kangfu console script is not installed")
def test_an_import_killed_while_writing_leaves_nothing_and_can_run_again(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'killed.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "kangfu.test_settings",
        "TMPDIR": str(tmp_path),  # the test settings put their media folder in a new temporary one
    }
    migrated.sqlite_file(tmp_path / "killed.sqlite3", env)
    people = tmp_path / "people.csv"
    _people_file(people, 20000)
    process = subprocess.Popen(
        [str(KANGFU), "import", "people", str(people), "--confirm"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    written = 0
    while time.monotonic() < deadline and process.poll() is None:
        progress = list(tmp_path.glob("kangfu-test-media-*/imports/**/*.progress"))
        if (
            progress
            and (progress[0].read_text() or "0").isdigit()
            and int(progress[0].read_text() or 0) >= 20
        ):
            written = int(progress[0].read_text())
            process.kill()
            break
        time.sleep(0.05)
    process.wait()
    assert 20 <= written < 100, "the import was not caught while writing"
    assert _count(env) == "0"

    again = _kangfu(env, "import", "people", str(people), "--confirm")
    assert "新增 20000" in again.stdout
    assert _count(env) == "20000"
