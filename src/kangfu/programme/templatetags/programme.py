"""Template filters of the programme's pages."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def yuan(value) -> str:
    """An amount in yuan to the fen with thousands separators (300,000.00): the Chinese locale of
    Django groups no digits, and a finance officer reads a contract's money by its commas."""
    if value in (None, ""):
        return ""
    return f"{Decimal(value):,.2f}"
