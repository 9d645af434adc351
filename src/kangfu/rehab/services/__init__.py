"""Every write of 精康, by concept: applications, enrolment, cases, assessments, plans, activities,
follow-ups, transfers, placements, institutions, emergency access, counters and rosters. One service,
one transaction, one audit row (or more), counters kept in step."""
