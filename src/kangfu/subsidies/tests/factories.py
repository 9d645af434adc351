"""Helpers that file applications through the real services, as the tests' starting points."""

from __future__ import annotations

import datetime as dt

from kangfu.subsidies.services import applications

BANK_ACCOUNT = "6222020000001234567"


def submit(
    person, *, actor=None, living=True, care=True, applied_on=None, hukou=None, bank_account=BANK_ACCOUNT
):
    """File an application for `person` (online unless `actor` is a counter clerk)."""
    return applications.application_submit(
        actor=actor,
        applicant=applications.Applicant(
            name=person.name,
            id_number=person.id_number,
            phone="13912345678",
            hukou_community=hukou or person.community_id,
        ),
        data=applications.ApplicationData(
            living=living, care=care, bank_name="工商银行", bank_account=bank_account
        ),
        applied_on=applied_on,
    )


def approve(person, shequ, jiedao, quju, *, applied_on=dt.date(2026, 9, 10), living=True, care=True):
    """File and pass an application through community, street and district."""
    app = submit(person, living=living, care=care, applied_on=applied_on)
    for actor in (shequ, jiedao, quju):
        app = applications.application_decide(actor=actor, application=app, decision="pass", opinion="同意")
    return app
