"""Chinese labels for the codes of 数据比对, so that no page shows a rule's code."""

from django import template

from kangfu.matching.rules import RULE_NAMES

register = template.Library()


@register.filter
def rule_name(code: str) -> str:
    return RULE_NAMES.get(code, code)
