"""Automation patterns the offline extractor recognises in a discovery call.

Each pattern maps what a client says ("confirming appointments", "paper forms") to the workflow it
describes and the automation we would propose, with sensible default steps. Claude does this from
the conversation itself; the catalogue keeps the offline pack useful instead of empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from services.audit.schema import Level


@dataclass(frozen=True)
class Pattern:
    key: str
    workflow: str
    title: str
    description: str
    keywords: tuple[str, ...]
    value: Level
    effort: Level
    steps: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    edge_cases: tuple[str, ...]
    owner_role: str = "Operations team"
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile("|".join(self.keywords), re.IGNORECASE))


PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        key="appointment-reminders",
        workflow="Appointment confirmations and reminders",
        title="Two-way appointment reminders",
        description="Confirm, remind and reschedule by two-way SMS/email, writing answers back to the schedule.",
        keywords=(
            r"no[- ]shows?",
            r"reminders?",
            r"confirm(?:ing|ation)?s?\b",
            r"reschedul\w*",
            r"appointments?",
        ),
        value="high",
        effort="medium",
        steps=(
            "Read tomorrow's and next week's appointments from the scheduling system",
            "Send a confirmation request with confirm / reschedule options",
            "Parse replies and update the appointment status",
            "Queue reschedule requests for the front desk with suggested open slots",
            "Send a same-day reminder to unconfirmed appointments",
        ),
        inputs=("Appointment schedule", "Contact preferences and opt-outs"),
        outputs=("Confirmation status per appointment", "Reschedule queue", "Daily no-show risk list"),
        edge_cases=(
            "Contact opted out of messages",
            "Reply that is neither confirm nor reschedule",
            "Wrong or missing phone number",
            "Appointment changed after the reminder was sent",
        ),
        owner_role="Front desk",
    ),
    Pattern(
        key="insurance-verification",
        workflow="Insurance verification",
        title="Automated insurance eligibility checks",
        description="Check eligibility and benefits before each visit and flag only the exceptions for staff.",
        keywords=(
            r"insurance verification",
            r"eligibility",
            r"payer portals?",
            r"insurance checks?",
            r"benefits check",
        ),
        value="high",
        effort="high",
        steps=(
            "Pull the next day's appointments with insurance details",
            "Query each payer (API or portal) for eligibility and benefits",
            "Record the result and coverage notes on the appointment",
            "Flag inactive coverage or missing data for staff follow-up",
        ),
        inputs=("Appointment list with member IDs", "Payer credentials"),
        outputs=("Eligibility status per appointment", "Exception list for staff"),
        edge_cases=(
            "Payer portal down or changed layout",
            "Member ID missing or mistyped",
            "Secondary insurance",
            "Coverage terminated since last visit",
        ),
        owner_role="Front desk / billing",
    ),
    Pattern(
        key="weekly-reporting",
        workflow="Weekly reporting",
        title="Automated weekly KPI report",
        description="Consolidate data from every system into one weekly report delivered without manual work.",
        keywords=(r"reporting", r"reports?\b", r"spreadsheets?", r"dashboards?", r"every friday"),
        value="medium",
        effort="low",
        steps=(
            "Export last week's data from each source system",
            "Normalise fields across systems into one table",
            "Compute the KPIs and week-over-week changes",
            "Publish the report and post a summary to the team channel",
        ),
        inputs=("Exports or API access for each source system",),
        outputs=("Weekly KPI report", "Summary message"),
        edge_cases=("A source system export fails", "Definitions differ between systems", "Partial week"),
        owner_role="Operations manager",
    ),
    Pattern(
        key="intake-forms",
        workflow="New client intake",
        title="Digital intake forms with validation",
        description="Replace paper or emailed forms with a validated digital form that feeds the system of record.",
        keywords=(
            r"intake",
            r"paper forms?",
            r"clipboard",
            r"new (?:patient|client)s? (?:forms?|onboarding)",
        ),
        value="medium",
        effort="medium",
        steps=(
            "Send the digital form link when the appointment or engagement is booked",
            "Validate required fields (IDs, dates, contact details) as they are entered",
            "Create or update the record in the system of record",
            "Flag incomplete or suspicious submissions for review",
        ),
        inputs=("Booking confirmation", "Form definition"),
        outputs=("Structured intake record", "Review queue for exceptions"),
        edge_cases=("Form not completed before the visit", "Duplicate record", "Invalid ID format"),
        owner_role="Front desk / intake",
    ),
    Pattern(
        key="billable-time",
        workflow="Billable time capture",
        title="Billable time capture assistant",
        description="Reconstruct billable time from calendars, email and documents and draft time entries.",
        keywords=(r"billable", r"time ?sheets?", r"time entr(?:y|ies)", r"time tracking"),
        value="high",
        effort="medium",
        steps=(
            "Collect calendar events, sent email and document activity per person",
            "Match activity to clients and matters",
            "Draft time entries with narratives",
            "Send drafts to each professional for one-click approval",
        ),
        inputs=("Calendar", "Email metadata", "Matter list"),
        outputs=("Draft time entries", "Unbilled time report"),
        edge_cases=("Activity matches several matters", "Non-billable internal work", "Rate changes"),
        owner_role="Professionals and billing",
    ),
    Pattern(
        key="invoicing",
        workflow="Invoicing and collections",
        title="Automated invoicing and payment reminders",
        description="Generate invoices from approved work and chase overdue payments politely and on time.",
        keywords=(r"invoic\w+", r"billing", r"collections?", r"overdue", r"accounts receivable"),
        value="medium",
        effort="medium",
        steps=(
            "Collect approved work or time for the period",
            "Draft invoices in the accounting system",
            "Send invoices after approval",
            "Send reminders on a schedule for overdue invoices",
        ),
        inputs=("Approved time or deliverables", "Client billing details"),
        outputs=("Invoices", "Ageing report"),
        edge_cases=("Disputed invoice", "Partial payment", "Client-specific billing terms"),
        owner_role="Billing",
    ),
    Pattern(
        key="engagement-letters",
        workflow="Engagement letters and documents",
        title="Engagement letter and document drafting",
        description="Draft engagement letters and standard documents from intake data for professional review.",
        keywords=(r"engagement letters?", r"contracts?", r"proposals? drafting", r"templates? documents?"),
        value="medium",
        effort="low",
        steps=(
            "Pull client and scope details from intake",
            "Fill the approved template for the engagement type",
            "Route the draft to the responsible professional for review",
            "Send for e-signature once approved",
        ),
        inputs=("Intake record", "Approved templates"),
        outputs=("Draft document", "Signature request"),
        edge_cases=("Non-standard scope", "Conflict check not cleared", "Missing signatory"),
        owner_role="Partners / associates",
    ),
    Pattern(
        key="lead-follow-up",
        workflow="Lead follow-up",
        title="Lead capture and follow-up automation",
        description="Capture every inquiry, answer quickly and keep the CRM up to date without manual entry.",
        keywords=(r"\bleads?\b", r"inquir(?:y|ies)", r"enquir(?:y|ies)", r"web ?forms?", r"\bcrm\b"),
        value="medium",
        effort="low",
        steps=(
            "Capture inquiries from web forms, email and phone",
            "Create or update the contact in the CRM",
            "Send a tailored first response",
            "Schedule follow-ups until a meeting is booked or the lead is closed",
        ),
        inputs=("Inquiry sources", "CRM access"),
        outputs=("CRM records", "Follow-up tasks"),
        edge_cases=("Existing client writing in", "Spam", "Inquiry outside service area"),
        owner_role="Sales / intake",
    ),
    Pattern(
        key="data-entry",
        workflow="Manual data entry",
        title="Data entry automation",
        description="Remove re-keying between systems with validated, logged transfers.",
        keywords=(
            r"data entry",
            r"typ(?:e|es|ed|ing) (?:them |it )?in",
            r"re-?key\w*",
            r"copy[- ]?past\w*",
            r"by hand",
        ),
        value="medium",
        effort="medium",
        steps=(
            "Detect new or changed records in the source",
            "Map and validate fields",
            "Write to the destination system",
            "Log every transfer and flag failures",
        ),
        inputs=("Source records",),
        outputs=("Destination records", "Transfer log"),
        edge_cases=("Field cannot be mapped", "Duplicate record", "Destination rejects the write"),
    ),
)

# When a client mentions nothing we recognise, the pack still needs one concrete automation.
DEFAULT_PATTERN = PATTERNS[2]


def by_workflow(name: str) -> Pattern | None:
    return next((p for p in PATTERNS if p.workflow == name), None)
