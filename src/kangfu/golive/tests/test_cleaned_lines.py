"""The confirmed import writes what the check showed, from the check's own cleaned lines.

The check keeps the lines it cleaned beside the upload; the confirmed import reads them rather than
the file (it still checks every record against the database as it is then). A copy it cannot trust
is never read, and none is left behind once the job is over."""

from __future__ import annotations

from pathlib import Path

import pytest

from kangfu.golive import services
from kangfu.golive.models import JobStatus
from kangfu.golive.services import cleaned
from kangfu.golive.tests.helpers import check, csv_bytes
from kangfu.people.models import Person
from kangfu.people.tests.factories import JIUJIANGLU, make_id_number

pytestmark = pytest.mark.django_db

HEADER = ["公民身份号码", "姓名", "社区代码"]


def _file(names: list[str]) -> bytes:
    return csv_bytes([HEADER, *[[make_id_number(i + 1), name, JIUJIANGLU] for i, name in enumerate(names)]])


def _copy(job) -> Path:
    return Path(job.file.path).with_suffix(".cleaned")


def _confirm(job):
    return services.job_apply(services.job_confirm(actor=None, job=job))


def _names() -> list[str]:
    return sorted(Person.objects.values_list("name", flat=True))


def test_the_import_writes_what_the_check_showed_even_if_the_upload_changed_on_disk_since():
    job = check("people", _file(["甲", "乙"]))
    assert job.status == JobStatus.PREVIEW
    Path(job.file.path).write_bytes(_file(["丙", "丁", "戊"]))

    job = _confirm(job)

    assert job.status == JobStatus.DONE
    assert job.counts["new"] == 2
    assert _names() == ["乙", "甲"]


def test_a_kept_copy_that_this_installation_did_not_seal_is_not_read(settings):
    job = check("people", _file(["甲", "乙"]))
    stamp = services._stamp(job, services.kind_for("people")(actor=None, options=job.options))
    settings.SECRET_KEY = "another installation's key, long enough to look real"
    forged = cleaned.Writer(_copy(job), stamp)
    forged.write([(2, {"id_number": make_id_number(9), "name": "冒名"}, "")])
    forged.close({"blank": 0})
    settings.SECRET_KEY = "back to this installation's key, also long enough to look real"

    job = _confirm(job)

    assert job.status == JobStatus.DONE
    assert _names() == ["乙", "甲"]  # read from the file again, not from the forged copy


def test_a_copy_kept_for_other_column_choices_is_not_read():
    content = csv_bytes(
        [
            [*HEADER, "别名"],
            [make_id_number(1), "甲", JIUJIANGLU, "子"],
            [make_id_number(2), "乙", JIUJIANGLU, "丑"],
        ]
    )
    job = check("people", content)
    # The job's mapping changed after the check (as a remap does before checking again): the kept
    # lines were cleaned for the old choices and must not serve the new ones.
    job.mapping = {**job.mapping, "name": "别名"}
    job.save(update_fields=["mapping"])

    job = _confirm(job)

    assert job.status == JobStatus.DONE
    assert _names() == ["丑", "子"]


def test_no_cleaned_copy_is_left_once_the_import_is_done_or_discarded():
    done = check("people", _file(["甲"]))
    assert _copy(done).exists()
    done = _confirm(done)
    assert not _copy(done).exists()

    dropped = check("people", _file(["乙", "丙"]))
    assert _copy(dropped).exists()
    services.job_discard(actor=None, job=dropped)
    assert not _copy(dropped).exists()
