from django import template

from kangfu.core import ids

register = template.Library()


@register.filter
def mask_id(value: str) -> str:
    return ids.mask_id_number(value or "")


@register.filter
def mask_phone(value: str) -> str:
    return ids.mask_phone(value or "")


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if hasattr(mapping, "get") else ""


@register.filter
def sum_list(values) -> int:
    return sum(values or [])
