"""Pages of the 精康 programme, by concept: `contracts` (funds, contracts, milestones, payments) and
`supervision` (checklists, quarterly visits, findings)."""
