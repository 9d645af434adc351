"""Pages of the 精康 programme, by concept: `contracts` (funds, contracts, milestones, payments),
`supervision` (checklists, quarterly visits, findings) and `standards` (the assessment and acceptance
standards, contracts' acceptance)."""
