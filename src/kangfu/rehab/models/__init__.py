"""精康融合行动: community mental-health rehabilitation.

A person comes in as an application (本人/医疗机构/其他) or from one of the two rosters civil affairs
receives (卫健's 严重精神障碍 list, 残联's 精神残疾 certificates). Civil affairs registers the application
and refers it to an institution, which opens a case: screening contacts, an eligibility decision,
enrolment with a signed agreement, an intake interview, assessments, versioned plans, services,
follow-ups, referrals to other institutions and vocational placements, until discharge.

Cases, assessments, plans, follow-ups and intake notes are clinical data: `rehab.access` decides who
sees them. Rows carry the district of the serving institution so reports scope and partition by it.

The models live in modules by concept; this package names them all, so that callers and migrations
import them from `kangfu.rehab.models` as before.
"""

from kangfu.rehab.models.activities import Activity, ActivityForm, ActivityPhoto, Attendance
from kangfu.rehab.models.applications import (
    OPEN_APPLICATION_STATES,
    ROSTER_SOURCES,
    Application,
    ApplicationSource,
    ApplicationState,
)
from kangfu.rehab.models.approvals import Approval, ApprovalKind, ApprovalState
from kangfu.rehab.models.assessments import Assessment, CaseOutcome, Outcome, Scale
from kangfu.rehab.models.cases import (
    OPEN_CASE_STATES,
    SERVED_STATES,
    Case,
    CaseEvent,
    CaseStatus,
    ContactMode,
    DeclineReason,
    DischargeReason,
    Intake,
    ScreeningContact,
    Stability,
)
from kangfu.rehab.models.counters import MonthlyCount, OutcomeCount
from kangfu.rehab.models.emergency import EmergencyAccess
from kangfu.rehab.models.follow_ups import Adherence, FollowUp, Insight
from kangfu.rehab.models.groups import WEEKDAYS, GroupMeeting, GroupMember, MeetingState, RecurringGroup
from kangfu.rehab.models.institutions import (
    PEER_TRAINING_HOURS_REQUIRED,
    InstitutionLevel,
    InstitutionProfile,
    Profession,
    ServiceType,
    StaffMember,
    Training,
)
from kangfu.rehab.models.placements import EmploymentType, Placement, PlacementOutcome
from kangfu.rehab.models.plans import Plan, PlanGoal, PlanPlace, PlanService
from kangfu.rehab.models.revisits import (
    NO_REVISIT_REASONS,
    REVISIT_MONTHS,
    Revisit,
    RevisitOutcome,
    RevisitRound,
    RevisitWay,
    revisit_due_dates,
)
from kangfu.rehab.models.rosters import RegisteredPerson, RosterImport, RosterStatus
from kangfu.rehab.models.satisfaction import (
    SATISFACTION_ITEMS,
    SATISFACTION_SCALE,
    SCORED_FIELDS,
    Respondent,
    SatisfactionSurvey,
    SurveyChannel,
)
from kangfu.rehab.models.survey_links import SurveyLink
from kangfu.rehab.models.transfers import SharePart, Transfer, TransferKind, TransferState

__all__ = [
    "NO_REVISIT_REASONS",
    "OPEN_APPLICATION_STATES",
    "OPEN_CASE_STATES",
    "PEER_TRAINING_HOURS_REQUIRED",
    "REVISIT_MONTHS",
    "ROSTER_SOURCES",
    "SATISFACTION_ITEMS",
    "SATISFACTION_SCALE",
    "SCORED_FIELDS",
    "SERVED_STATES",
    "WEEKDAYS",
    "Activity",
    "ActivityForm",
    "ActivityPhoto",
    "Adherence",
    "Application",
    "ApplicationSource",
    "ApplicationState",
    "Approval",
    "ApprovalKind",
    "ApprovalState",
    "Assessment",
    "Attendance",
    "Case",
    "CaseEvent",
    "CaseOutcome",
    "CaseStatus",
    "ContactMode",
    "DeclineReason",
    "DischargeReason",
    "EmergencyAccess",
    "EmploymentType",
    "FollowUp",
    "GroupMeeting",
    "GroupMember",
    "Insight",
    "InstitutionLevel",
    "InstitutionProfile",
    "Intake",
    "MeetingState",
    "MonthlyCount",
    "Outcome",
    "OutcomeCount",
    "Placement",
    "PlacementOutcome",
    "Plan",
    "PlanGoal",
    "PlanPlace",
    "PlanService",
    "Profession",
    "RecurringGroup",
    "RegisteredPerson",
    "Respondent",
    "Revisit",
    "RevisitOutcome",
    "RevisitRound",
    "RevisitWay",
    "RosterImport",
    "RosterStatus",
    "SatisfactionSurvey",
    "Scale",
    "ScreeningContact",
    "ServiceType",
    "SharePart",
    "Stability",
    "StaffMember",
    "SurveyChannel",
    "SurveyLink",
    "Training",
    "Transfer",
    "TransferKind",
    "TransferState",
    "revisit_due_dates",
]
