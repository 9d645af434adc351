"""The programme's services: a fund, two contracts of one institution with different scopes, delivery
recorded through rehab's own services, milestone payments approved only when delivered, and every
figure checked against an independent count in plain SQL; then each kind of bad input, refused with
its message and nothing half-saved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404

from kangfu.core.models import AuditEntry
from kangfu.core.transitions import Conflict
from kangfu.programme import selectors
from kangfu.programme.models import (
    Contract,
    Fund,
    FundMovement,
    Milestone,
    MilestoneStatus,
    MovementKind,
    PaymentRequest,
    PaymentStatus,
)
from kangfu.programme.services import contracts
from kangfu.programme.tests import factories as pf
from kangfu.rehab.services import activities, follow_ups, institutions
from kangfu.rehab.tests import factories as f

OCT = dt.date(2026, 10, 12)
NOV = dt.date(2026, 11, 16)


def _session(worker, cases, *, service_type, held_on, family=()):
    return activities.activity_record(
        actor=worker,
        data=activities.ActivityData(
            form="group",
            service_type=service_type,
            mode="site",
            title="小组活动",
            held_on=held_on,
            patients=[c.pk for c in cases],
            family=[{"case": c.pk, "name": "家属", "relation": "母亲"} for c in family],
        ),
    )


def _follow_up(worker, case, done_on):
    return follow_ups.follow_up_record(
        actor=worker,
        case=case,
        data=follow_ups.FollowUpData(
            done_on=done_on,
            mode="home",
            stability="stable",
            risk_level=0,
            adherence="regular",
            insight="full",
        ),
    )


@pytest.fixture
def delivered(admin, worker, institution):
    """Three people enrolled in October; social, living and family sessions; two follow-ups; two
    staff trained (one twice)."""
    cases = [
        f.enrolled_case(
            admin=admin, rehab_worker=worker, institution_org=institution, person=f.patient(name=n), on=OCT
        )
        for n in ("张伟", "王芳", "李娜")
    ]
    _session(worker, cases, service_type="social", held_on=OCT)
    _session(worker, cases[:2], service_type="social", held_on=NOV, family=cases[:1])
    _session(worker, cases[2:], service_type="living", held_on=NOV)
    _session(worker, cases, service_type="family", held_on=NOV, family=cases)
    _session(worker, cases[:1], service_type="medication", held_on=NOV)
    _follow_up(worker, cases[0], NOV)
    _follow_up(worker, cases[1], NOV)
    staff = [
        institutions.staff_save(
            actor=worker, organisation=institution, values={"name": n, "profession": "social_worker"}
        )
        for n in ("社工甲", "社工乙")
    ]
    for member, day in ((staff[0], OCT), (staff[0], NOV), (staff[1], NOV)):
        institutions.training_add(actor=worker, staff=member, held_on=day, hours=Decimal(6), topic="危机干预")
    return cases


def _sql(query: str, *params) -> Decimal:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return Decimal(str(cursor.fetchone()[0] or 0))


def independent_count(contract: Contract) -> dict[str, int]:
    """The contract's delivery counted again from the rows themselves, in plain SQL."""
    first = contract.starts_on.replace(day=1)
    last = contract.ends_on
    inst = contract.institution_id
    types = list(contract.service_types)
    marks = ", ".join(["%s"] * len(types))
    scoped = (
        "FROM rehab_activity WHERE institution_id = %s AND held_on BETWEEN %s AND %s"
        f" AND service_type IN ({marks})"
    )
    return {
        "people": _sql(
            "SELECT COUNT(*) FROM rehab_case WHERE institution_id = %s AND enrolled_on BETWEEN %s AND %s",
            inst,
            first,
            last,
        ),
        "sessions": _sql(f"SELECT COUNT(*) {scoped}", inst, first, last, *types),
        "people_times": _sql(f"SELECT SUM(patients + family) {scoped}", inst, first, last, *types),
        "follow_ups": _sql(
            "SELECT COUNT(*) FROM rehab_followup fu JOIN rehab_case c ON c.id = fu.case_id"
            " WHERE c.institution_id = %s AND fu.done_on BETWEEN %s AND %s",
            inst,
            first,
            last,
        ),
        "staff_trained": _sql(
            "SELECT COUNT(DISTINCT t.staff_id) FROM rehab_training t JOIN rehab_staffmember s ON s.id = t.staff_id"
            " WHERE s.organisation_id = %s AND t.held_on BETWEEN %s AND %s",
            inst,
            first,
            last,
        ),
    }


class TestScenario:
    def test_two_contracts_of_different_scopes_count_what_their_scope_delivered(
        self, admin, fund, institution, delivered
    ):
        a = pf.contract(admin, fund, institution, service_types=("social", "living"))
        b = pf.contract(
            admin,
            fund,
            institution,
            amount="150000.00",
            service_types=("family", "medication"),
            starts_on=dt.date(2026, 11, 1),
            ends_on=dt.date(2027, 10, 31),
            title="家庭支持与服药训练项目",
        )
        figures = selectors.deliveries([a, b])
        totals = selectors.delivery_totals([a, b])
        for contract in (a, b):
            assert figures[contract.pk].totals == independent_count(contract)
            assert totals[contract.pk] == figures[contract.pk].totals
        assert figures[a.pk].totals == {
            "people": 3,
            "sessions": 3,
            "people_times": 3 + (2 + 1) + 1,
            "follow_ups": 2,
            "staff_trained": 2,
        }
        # B began in November: October's enrolments and sessions are not its own.
        assert figures[b.pk].totals == {
            "people": 0,
            "sessions": 2,
            "people_times": 6 + 1,
            "follow_ups": 2,
            "staff_trained": 2,
        }
        november = next(r for r in figures[a.pk].months if r["month"] == dt.date(2026, 11, 1))
        assert (november["sessions"], november["people_times"]) == (2, 4)

    def test_money_moves_only_when_delivered_and_approved_by_another(
        self, admin, colleague, worker, fund, institution, delivered
    ):
        contract = pf.contract(admin, fund, institution)
        first = pf.milestone(admin, contract, amount="100000.00", sessions=3, people_times=7, follow_ups=2)
        second = pf.milestone(admin, contract, name="二期", amount="150000.00", sessions=20)

        with pytest.raises(ValidationError) as exc:
            contracts.payment_request(actor=worker, milestone=second)
        assert exc.value.messages == [contracts.NOT_DELIVERED.format(shortfalls="服务场次要求 20，已完成 3")]
        assert not PaymentRequest.objects.exists()

        payment = contracts.payment_request(actor=worker, milestone=first)
        assert payment.evidence["volumes"]["sessions"] == {"required": 3, "delivered": 3}
        with pytest.raises(PermissionDenied):
            contracts.payment_approve(actor=worker, payment=payment)
        contracts.payment_approve(actor=colleague, payment=payment, note="材料齐全")

        contract.refresh_from_db()
        fund.refresh_from_db()
        assert contract.paid == Decimal("100000.00")
        assert (fund.amount, fund.allocated, fund.spent) == (
            Decimal("500000.00"),
            Decimal("300000.00"),
            Decimal("100000.00"),
        )
        assert (fund.committed, fund.remaining) == (Decimal("200000.00"), Decimal("200000.00"))
        # The running totals are the ledger's sums, counted again in SQL.
        for kind, total in ((MovementKind.ALLOCATE, fund.allocated), (MovementKind.PAY, fund.spent)):
            assert (
                _sql(
                    "SELECT SUM(amount) FROM programme_fundmovement WHERE fund_id = %s AND kind = %s",
                    fund.pk,
                    kind,
                )
                == total
            )
        assert Milestone.objects.get(pk=first.pk).status == MilestoneStatus.PAID
        assert (
            AuditEntry.objects.filter(
                object_type="programme.paymentrequest", object_id=str(payment.pk)
            ).count()
            == 2
        )

    def test_a_second_approval_of_the_same_request_changes_nothing(
        self, admin, colleague, worker, contract, delivered
    ):
        payment = contracts.payment_request(actor=worker, milestone=pf.milestone(admin, contract, sessions=1))
        contracts.payment_approve(actor=colleague, payment=payment)
        with pytest.raises(Conflict):
            contracts.payment_approve(actor=colleague, payment=payment)
        contract.refresh_from_db()
        assert contract.paid == Decimal("100000.00")
        assert FundMovement.objects.filter(kind=MovementKind.PAY).count() == 1

    def test_a_milestone_cannot_be_requested_twice(self, admin, worker, contract):
        milestone = pf.milestone(admin, contract)
        contracts.payment_request(actor=worker, milestone=milestone)
        with pytest.raises(Conflict):
            contracts.payment_request(actor=worker, milestone=milestone)
        assert PaymentRequest.objects.count() == 1

    def test_a_rejected_request_opens_the_milestone_again(self, admin, colleague, worker, contract):
        milestone = pf.milestone(admin, contract)
        payment = contracts.payment_request(actor=worker, milestone=milestone)
        contracts.payment_reject(actor=colleague, payment=payment, note="照片不全")
        assert Milestone.objects.get(pk=milestone.pk).status == MilestoneStatus.OPEN
        again = contracts.payment_request(actor=worker, milestone=Milestone.objects.get(pk=milestone.pk))
        assert again.status == PaymentStatus.PENDING


class TestRefusals:
    def test_a_contract_above_the_funds_remaining_money_is_refused(self, admin, fund, institution, contract):
        with pytest.raises(ValidationError) as exc:
            pf.contract(admin, fund, institution, amount="200000.01")
        assert exc.value.message_dict == {
            "amount": [
                contracts.CONTRACT_ABOVE_FUND.format(
                    amount="200,000.01", fund="精康服务福彩公益金", remaining="200,000.00"
                )
            ]
        }
        fund.refresh_from_db()
        assert fund.allocated == Decimal("300000.00")
        assert Contract.objects.count() == 1
        assert FundMovement.objects.filter(kind=MovementKind.ALLOCATE).count() == 1

    def test_milestones_cannot_add_up_past_the_contract(self, admin, contract):
        pf.milestone(admin, contract, amount="250000.00")
        with pytest.raises(ValidationError) as exc:
            pf.milestone(admin, contract, amount="50000.01")
        assert exc.value.message_dict["amount"] == [
            contracts.MILESTONES_ABOVE_CONTRACT.format(
                amount="300,000.00", planned="250,000.00", most="50,000.00"
            )
        ]
        assert Milestone.objects.count() == 1

    def test_a_payment_above_the_contracts_remaining_amount_is_refused(self, admin, worker, contract):
        milestone = pf.milestone(admin, contract, amount="100000.00")
        # Paid outside this milestone (a correction by hand): only 50,000 is left.
        Contract.objects.filter(pk=contract.pk).update(paid=Decimal("250000.00"))
        with pytest.raises(ValidationError) as exc:
            contracts.payment_request(actor=worker, milestone=milestone)
        assert exc.value.messages == [
            contracts.PAYMENT_ABOVE_REMAINING.format(amount="100,000.00", remaining="50,000.00")
        ]
        assert not PaymentRequest.objects.exists()
        assert Milestone.objects.get(pk=milestone.pk).status == MilestoneStatus.OPEN

    def test_money_to_a_tenth_of_a_fen_is_refused(self, admin):
        with pytest.raises(ValidationError) as exc:
            pf.fund(admin, amount="100.001")
        assert exc.value.message_dict == {"amount": [contracts.AMOUNT_FEN]}
        assert not Fund.objects.exists()

    def test_a_fund_cannot_be_reduced_below_what_it_allocated(self, admin, fund, contract):
        with pytest.raises(ValidationError) as exc:
            contracts.fund_adjust(actor=admin, fund=fund, delta=Decimal("-200000.01"))
        assert exc.value.message_dict == {
            "delta": [contracts.REDUCE_BELOW_ALLOCATED.format(allocated="300,000.00", most="200,000.00")]
        }
        contracts.fund_adjust(actor=admin, fund=fund, delta=Decimal("-200000.00"), note="年中调减")
        fund.refresh_from_db()
        assert (fund.amount, fund.remaining) == (Decimal("300000.00"), Decimal("0.00"))

    def test_another_districts_contract_is_not_found(self, admin, outsider, contract):
        milestone = pf.milestone(admin, contract)
        with pytest.raises(Http404):
            selectors.contract_get_for_user(user=outsider, pk=contract.pk)
        with pytest.raises(Http404):
            selectors.milestone_get_for_user(user=outsider, pk=milestone.pk)

    def test_another_districts_administrator_may_not_request_or_approve(
        self, admin, worker, outsider, contract
    ):
        milestone = pf.milestone(admin, contract)
        with pytest.raises(PermissionDenied):
            contracts.payment_request(actor=outsider, milestone=milestone)
        payment = contracts.payment_request(actor=worker, milestone=milestone)
        with pytest.raises(PermissionDenied):
            contracts.payment_approve(actor=outsider, payment=payment)
        assert PaymentRequest.objects.get().status == PaymentStatus.PENDING

    def test_a_contract_with_another_districts_institution_is_refused(self, admin, fund, beichen_institution):
        with pytest.raises(ValidationError) as exc:
            pf.contract(admin, fund, beichen_institution)
        assert exc.value.message_dict == {"institution": [contracts.INSTITUTION_OUTSIDE_FUND]}
        fund.refresh_from_db()
        assert fund.allocated == 0

    def test_only_civil_affairs_administrators_make_funds(self, worker, street_officer):
        for user in (worker, street_officer):
            with pytest.raises(PermissionDenied):
                pf.fund(user)

    def test_a_site_of_another_institution_is_refused(self, admin, fund, institution, beichen_institution):
        other_site = f.site(beichen_institution, name="北辰站点", region=f.BEICHEN)
        with pytest.raises(ValidationError) as exc:
            pf.contract(admin, fund, institution, sites=[other_site])
        assert exc.value.message_dict == {"sites": [contracts.SITE_NOT_OF_INSTITUTION]}
        assert not Contract.objects.exists()

    def test_the_city_funds_a_district_institution_and_decides_its_payments(
        self, city_admin, admin, worker, institution
    ):
        fund = pf.fund(city_admin, region=pf.CITY, name="市级财政精康经费")
        contract = pf.contract(city_admin, fund, institution)
        assert selectors.contract_get_for_user(user=admin, pk=contract.pk) == contract
        milestone = pf.milestone(city_admin, contract)
        payment = contracts.payment_request(actor=worker, milestone=milestone)
        with pytest.raises(PermissionDenied):
            contracts.payment_approve(actor=admin, payment=payment)
        contracts.payment_approve(actor=city_admin, payment=payment)
        assert PaymentRequest.objects.get().status == PaymentStatus.APPROVED


def test_delivery_of_many_contracts_is_a_few_reads_whatever_their_number(
    admin, fund, institution, beichen_institution, city_admin, delivered, django_assert_num_queries
):
    city_fund = pf.fund(city_admin, region=pf.CITY, amount="9000000.00", name="市级经费")
    many = [pf.contract(admin, fund, institution, amount="1000.00", title=f"合同{i}") for i in range(10)]
    many += [pf.contract(city_admin, city_fund, beichen_institution, amount="1000.00") for _ in range(10)]
    # One read each of the counters, of training and of the contracts' sites.
    with django_assert_num_queries(3):
        figures = selectors.deliveries(many)
    assert figures[many[0].pk].totals == independent_count(many[0])
    assert figures[many[-1].pk].totals == dict.fromkeys(selectors.VOLUMES, 0)
    # Totals for a list: one read of the counters over every distinct period, one of training, one of sites.
    with django_assert_num_queries(3):
        totals = selectors.delivery_totals(many)
    assert totals == {pk: f.totals for pk, f in figures.items()}
