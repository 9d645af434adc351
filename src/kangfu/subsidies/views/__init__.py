"""Pages of 两项补贴, one module per concept: applications, grants and appeals, payroll, standards
and indicators, the annual review and visits."""

from kangfu.subsidies.views.applications import submit_application_form

__all__ = ["submit_application_form"]
