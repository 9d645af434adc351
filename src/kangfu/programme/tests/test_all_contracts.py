"""Every contract of a city on one page: contracted against delivered from the counters, at a cost
that does not grow with the number of contracts nor with how many different periods they run over."""

from __future__ import annotations

import datetime as dt

import pytest

from kangfu.core.months import add_months
from kangfu.core.tests.querycount import at_two_sizes
from kangfu.programme import selectors
from kangfu.programme.tests import factories as pf
from kangfu.programme.tests.test_services import delivered, independent_count  # noqa: F401 (a fixture)

# October's and November's sessions, follow-ups and training at the institution (test_services).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("delivered")]

# the session, the user and their region and office, what the layout reads, the count, the rows, and one
# read each of the counters, of training and of the contracts' sites for the whole page: never one per
# row, nor one per period
EVERY_CONTRACT_QUERIES = 8


def _half_years(admin, fund, institution, start: int, n: int) -> list:
    """Contracts of six months each, every one over a period of its own."""
    contracts = []
    for i in range(start, start + n):
        first = add_months(dt.date(2026, 7, 1), -3 * i)
        contracts.append(
            pf.contract(
                admin,
                fund,
                institution,
                amount="1000.00",
                title=f"合同{i}",
                starts_on=first,
                ends_on=add_months(first, 6) - dt.timedelta(days=1),
                service_types=("social", "living") if i % 2 else ("family", "medication"),
            )
        )
    return contracts


def test_totals_of_contracts_over_many_periods_are_one_read_of_the_counters_and_match_their_months(
    admin,
    fund,
    institution,
    django_assert_num_queries,
):
    contracts = _half_years(admin, fund, institution, 0, 6)
    with django_assert_num_queries(3):
        totals = selectors.delivery_totals(contracts)
    for contract in contracts:
        assert totals[contract.pk] == selectors.delivery_of(contract).totals == independent_count(contract)
    # Not vacuous: the contracts over October and November saw what was delivered, the others not.
    assert (
        {c.pk for c in contracts if totals[c.pk]["sessions"]}
        == {c.pk for c in contracts if c.starts_on <= dt.date(2026, 11, 1) <= c.ends_on}
        != set()
    )


def test_every_contract_of_the_city_on_one_page_costs_a_fixed_number_of_queries(
    client,
    admin,
    fund,
    institution,
):
    made: list = []

    def grow(n: int) -> None:
        made.extend(_half_years(admin, fund, institution, len(made), n))

    client.force_login(admin)
    few, many = at_two_sizes(client, "/programme/?per_page=100", grow)
    assert (few, many) == (EVERY_CONTRACT_QUERIES, EVERY_CONTRACT_QUERIES)
