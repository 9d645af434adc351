"""Every write of the 精康 programme, by concept: `contracts` (funds, contracts, milestones and
payments) and `supervision` (checklists, quarterly visits, findings and their rectification)."""
