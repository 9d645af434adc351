"""The few SQL expressions SQLite and PostgreSQL spell differently, for the set-based statements
(the comparison's rules, their benchmark floor): one module, so that a third database, or a
change of how a month is spelled, is one edit."""

from __future__ import annotations


class Dialect:
    """The few expressions SQLite and PostgreSQL spell differently: month arithmetic and the formats of
    dates and money in the explanations. Dates are ISO text in SQLite, so they compare as such."""

    def __init__(self, vendor: str):
        self.pg = vendor == "postgresql"

    def next_month(self, day: str) -> str:
        if self.pg:
            return f"CAST(date_trunc('month', {day}) + interval '1 month' AS date)"
        return f"date({day}, 'start of month', '+1 month')"

    def month_start(self, day: str) -> str:
        if self.pg:
            return f"CAST(date_trunc('month', {day}) AS date)"
        return f"date({day}, 'start of month')"

    def greatest(self, a: str, b: str) -> str:  # both never null here
        return f"GREATEST({a}, {b})" if self.pg else f"max({a}, {b})"

    def months(self, start: str, end: str) -> str:
        """Whole months from the month of start to the month of end."""
        if self.pg:
            return (
                f"CAST((extract(year from {end}) - extract(year from {start})) * 12"
                f" + extract(month from {end}) - extract(month from {start}) AS integer)"
            )
        return (
            f"((CAST(strftime('%%Y', {end}) AS integer) - CAST(strftime('%%Y', {start}) AS integer)) * 12"
            f" + CAST(strftime('%%m', {end}) AS integer) - CAST(strftime('%%m', {start}) AS integer))"
        )

    def day(self, day: str) -> str:
        """A date as text; a missing one must not blank out the explanation it is part of."""
        text = f"to_char({day}, 'YYYY-MM-DD')" if self.pg else f"strftime('%%Y-%%m-%%d', {day})"
        return f"COALESCE({text}, '日期不详')"

    def month(self, day: str) -> str:
        return f"""to_char({day}, 'YYYY"年"MM"月"')""" if self.pg else f"strftime('%%Y年%%m月', {day})"

    def money(self, amount: str) -> str:
        return f"to_char({amount}, 'FM999999999990.00')" if self.pg else f"printf('%%.2f', {amount})"

    @classmethod
    def current(cls) -> Dialect:
        """The dialect of the default database connection."""
        from django.db import connection

        return cls(connection.vendor)
