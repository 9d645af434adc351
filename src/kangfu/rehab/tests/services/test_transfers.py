"""Referrals between institutions: sending, answering, completing, and who may do which."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kangfu.rehab.models import Case, CaseStatus, Transfer, TransferKind, TransferState
from kangfu.rehab.services import transfers
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.services.helpers import TODAY, counter, messages, send

pytestmark = pytest.mark.django_db


class TestTransfers:
    def test_a_referral_to_ones_own_institution_or_site_is_refused(self, served, rehab_worker, institution):
        own_site = f.site(institution)
        for to in (institution, own_site):
            with pytest.raises(ValidationError) as exc:
                send(rehab_worker, case=served, to=to, kind=TransferKind.BETWEEN_INSTITUTIONS)
            assert exc.value.message_dict["to_org"] == [transfers.TRANSFER_TO_SELF]
        assert not Transfer.objects.exists()

    def test_a_relapse_goes_to_a_hospital(self, served, rehab_worker, other_institution):
        with pytest.raises(ValidationError) as exc:
            send(rehab_worker, case=served, to=other_institution, kind=TransferKind.RELAPSE)
        assert exc.value.message_dict == {"to_org": ["“复发转医院”应转给精神卫生医疗机构。"]}

    def test_employment_goes_to_an_employer_with_an_employment_type(self, served, rehab_worker, employer):
        with pytest.raises(ValidationError) as exc:
            send(
                rehab_worker,
                case=served,
                to=f.hospital(),
                kind=TransferKind.TO_EMPLOYMENT,
                employment_type="open",
            )
        assert exc.value.message_dict == {"to_org": ["“转介就业”应转给就业单位。"]}
        with pytest.raises(ValidationError) as exc:
            send(rehab_worker, case=served, to=employer, kind=TransferKind.TO_EMPLOYMENT)
        assert exc.value.message_dict == {"employment_type": [transfers.TRANSFER_NEEDS_EMPLOYMENT]}
        transfer = send(
            rehab_worker,
            case=served,
            to=employer,
            kind=TransferKind.TO_EMPLOYMENT,
            employment_type="supported",
        )
        assert (transfer.employment_type, transfer.state) == ("supported", TransferState.SENT)

    def test_a_second_open_referral_to_the_same_place_is_refused(
        self, served, rehab_worker, other_institution
    ):
        send(rehab_worker, case=served, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS)
        with pytest.raises(ValidationError) as exc:
            send(rehab_worker, case=served, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS)
        assert messages(exc) == [transfers.TRANSFER_OPEN.format(org=other_institution.name)]
        assert Transfer.objects.count() == 1

    def test_the_receiver_accepting_opens_a_case_there(
        self, served, rehab_worker, other_worker, other_institution, institution
    ):
        transfer = send(
            rehab_worker, case=served, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS
        )
        assert transfer.due_on == dt.date(2026, 11, 30)
        assert counter(institution, "transfers_sent", "between") == 1
        transfer = transfers.transfer_accept(actor=other_worker, transfer=transfer)
        received = transfer.received_case
        assert (transfer.state, transfer.answered_by, transfer.answered_on) == (
            TransferState.ACCEPTED,
            other_worker,
            TODAY,
        )
        assert (received.person, received.institution, received.district_id, received.status) == (
            served.person,
            other_institution,
            f.BEICHEN,
            CaseStatus.REFERRED,
        )
        assert counter(other_institution, "referred") == 1

    def test_accepting_links_a_case_already_open_at_the_receiver(self, served, doctor, rehab_worker):
        transfer = send(
            doctor, person=served.person, to=served.institution, kind=TransferKind.HOSPITAL_TO_COMMUNITY
        )
        transfer = transfers.transfer_accept(actor=rehab_worker, transfer=transfer)
        assert transfer.received_case == served
        assert Case.objects.filter(person=served.person).count() == 1

    def test_only_the_receiver_answers(self, served, rehab_worker, other_institution):
        transfer = send(
            rehab_worker, case=served, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS
        )
        with pytest.raises(PermissionDenied) as exc:
            transfers.transfer_accept(actor=rehab_worker, transfer=transfer)
        assert str(exc.value) == transfers.TRANSFER_NOT_RECEIVER
        with pytest.raises(PermissionDenied):
            transfers.transfer_decline(actor=rehab_worker, transfer=transfer, reason="不接收")
        assert Transfer.objects.get(pk=transfer.pk).state == TransferState.SENT

    def test_the_sender_records_an_employers_answer(self, served, rehab_worker, other_worker, employer):
        transfer = send(
            rehab_worker,
            case=served,
            to=employer,
            kind=TransferKind.TO_EMPLOYMENT,
            employment_type="sheltered",
        )
        with pytest.raises(PermissionDenied) as exc:
            transfers.transfer_accept(actor=other_worker, transfer=transfer)
        assert str(exc.value) == transfers.TRANSFER_NOT_SENDER
        transfer = transfers.transfer_accept(actor=rehab_worker, transfer=transfer)
        assert (transfer.state, transfer.answered_by, transfer.received_case) == (
            TransferState.ACCEPTED,
            rehab_worker,
            None,
        )

    def test_a_decline_needs_a_reason(self, served, rehab_worker, other_worker, other_institution):
        transfer = send(
            rehab_worker, case=served, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS
        )
        with pytest.raises(ValidationError) as exc:
            transfers.transfer_decline(actor=other_worker, transfer=transfer, reason="  ")
        assert exc.value.message_dict == {"reason": [transfers.DECLINE_TRANSFER_REASON]}
        transfer = transfers.transfer_decline(actor=other_worker, transfer=transfer, reason="床位已满")
        assert (transfer.state, transfer.decline_reason, transfer.received_case) == (
            TransferState.DECLINED,
            "床位已满",
            None,
        )
        assert not Case.objects.filter(institution=other_institution).exists()

    def test_only_the_sender_cancels(self, served, rehab_worker, other_worker, other_institution):
        transfer = send(
            rehab_worker, case=served, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS
        )
        with pytest.raises(PermissionDenied):
            transfers.transfer_cancel(actor=other_worker, transfer=transfer)
        transfer = transfers.transfer_cancel(actor=rehab_worker, transfer=transfer)
        assert transfer.state == TransferState.CANCELLED
        with pytest.raises(ValidationError) as exc:
            transfers.transfer_accept(actor=other_worker, transfer=transfer)
        assert exc.value.code == "stale"
