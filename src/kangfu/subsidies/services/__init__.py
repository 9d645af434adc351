"""Every write of 两项补贴, by concern: standards, applications, grants, payroll."""
