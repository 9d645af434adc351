"""A file is cleaned in a second process while this one checks it; nothing a clerk sees differs.

The check reads and cleans a file's lines on the machine's second core (a forked process) while it
checks the lines already cleaned against the registry. The report, the kept cleaned lines and what the import writes are what cleaning in one process gives; a
file that cannot be read half-way still fails with its message and keeps nothing."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from kangfu.golive import services
from kangfu.golive.kinds import NEW
from kangfu.golive.kinds.people import PeopleKind
from kangfu.golive.models import JobStatus
from kangfu.golive.services import lines
from kangfu.golive.tests.helpers import check, csv_bytes, lines_with_errors
from kangfu.people.models import Person
from kangfu.people.tests.factories import JIUJIANGLU, make_id_number

pytestmark = pytest.mark.django_db

HEADER = ["公民身份号码", "姓名", "社区代码", "残疾等级"]
LINES = lines.BATCH * 4 + 300  # several batches, the last one short


def _id(n: int) -> str:
    return make_id_number(n, born=dt.date(1950, 1, 1) + dt.timedelta(days=n // 500))


def _rows() -> list[list[object]]:
    """A header, then LINES lines (file lines 2 …): good ones, with a bad or blank one now and then
    in every batch, and a person written twice, in the first batch and in the last."""
    rows: list[list[object]] = [HEADER]
    for i in range(LINES):
        line = i + 2
        if line % 97 == 0:
            rows.append(["", "", "", ""])
        elif line % 89 == 0:
            rows.append(["120103197011210099", f"校验位错{line}", JIUJIANGLU, "三级"])
        elif line % 83 == 0:
            rows.append([_id(line), f"社区错{line}", "999999999999", "三级"])
        elif line == LINES:
            rows.append([_id(3), "重复的人", JIUJIANGLU, "三级"])
        else:
            rows.append([_id(line), f"导入人{line}", JIUJIANGLU, "三级"])
    return rows


@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """The cleaning processes forked (their pids), on a machine of any size."""
    forked: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(lines.os, "fork", fork)
    monkeypatch.setattr(lines.os, "cpu_count", lambda: 2)
    return forked


def _report(job) -> tuple:
    return (job.status, job.total_lines, job.blank_lines, job.counts, job.error_count, job.errors, job.flags)


def test_a_file_cleaned_in_a_second_process_gives_the_report_and_import_of_one_process(forks, monkeypatch):
    content = csv_bytes(_rows())
    apart = check("people", content)
    assert len(forks) == 1

    monkeypatch.setattr(PeopleKind, "clean_apart", False)
    alone = check("people", content)
    assert len(forks) == 1
    assert _report(apart) == _report(alone)

    errors = lines_with_errors(apart)
    assert apart.status == JobStatus.PREVIEW
    assert apart.blank_lines == len([n for n in range(2, LINES + 2) if n % 97 == 0])
    assert errors[LINES] == "与第 3 行重复（同一人或同一记录在文件中出现两次），本行不导入。"
    assert "校验位" in errors[89 * 20] and "999999999999" in errors[83 * 20]
    assert set(errors) == {n for n in range(2, LINES + 2) if n % 97 and (n % 89 == 0 or n % 83 == 0)} | {
        LINES
    }

    monkeypatch.setattr(PeopleKind, "clean_apart", True)
    Path(apart.file.path).write_bytes(b"")  # the import reads the check's cleaned lines, in file order
    done = services.job_apply(services.job_confirm(actor=None, job=apart))
    assert done.status == JobStatus.DONE
    assert done.counts[NEW] == apart.counts[NEW] == Person.objects.count()
    assert list(Person.objects.order_by("pk").values_list("name", flat=True)[:2]) == ["导入人2", "导入人3"]
    assert Person.objects.filter(name=f"导入人{LINES - 1}").exists()
    assert not Person.objects.filter(name="重复的人").exists()


def test_a_file_that_cannot_be_read_half_way_fails_with_its_message_and_keeps_nothing(forks):
    rows = _rows()
    rows[lines.BATCH * 3][1] = "坏\x00字节"
    job = check("people", csv_bytes(rows))

    assert len(forks) == 1
    assert job.status == JobStatus.FAILED
    assert "无法读取该文件" in job.message
    assert not Path(job.file.path).with_suffix(".cleaned").exists()
    assert Person.objects.count() == 0
