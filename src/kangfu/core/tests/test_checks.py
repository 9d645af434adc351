"""`kangfu check` warns when the front-end packages the app serves are missing."""

from django.core.checks import run_checks
from django.test import override_settings


def test_no_warning_when_the_front_end_packages_are_installed():
    assert not [m for m in run_checks() if m.id == "kangfu.W001"]


@override_settings(STATICFILES_DIRS=[])
def test_a_missing_echarts_is_reported_with_what_to_run():
    from django.contrib.staticfiles import finders

    finders.get_finder.cache_clear()
    try:
        warnings = [m for m in run_checks() if m.id == "kangfu.W001"]
    finally:
        finders.get_finder.cache_clear()
    assert len(warnings) == 1
    assert "npm ci" in warnings[0].hint
