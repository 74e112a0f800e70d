"""The demo clinic: organizations, facilities, providers, patients and notes.

Every ID is derived from a fixed name, so the same IDs come back on every start and docs and
tests can name them. All people are fictional.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

_NAMESPACE = uuid.UUID("6f1d1c1e-8a0b-4f57-9d7e-5a4b3c2d1e0f")

#: Every scope a sandbox key can hold.
ALL_SCOPES = (
    "read:patients",
    "read:notes",
    "read:soap_notes",
    "read:providers",
    "read:facilities",
    "read:appointments",
    "write:notes",
    "write:soap_notes",
)
#: The demo read-only key: everything except writing notes.
READONLY_SCOPES = tuple(s for s in ALL_SCOPES if not s.startswith("write:"))

DEV_KEY_PREFIX = "max_dev_ak_"
PRD_KEY_PREFIX = "max_prd_ak_"

_CREATED = "2025-11-03T16:20:00Z"
_UPDATED = "2026-03-18T09:05:00Z"


def stable_hex(name: str) -> str:
    """32 hex digits that depend only on ``name``."""
    return uuid.uuid5(_NAMESPACE, name).hex


def stable_id(prefix: str, name: str) -> str:
    """A v3-style prefixed ID (``nte_`` + 32 hex) that depends only on ``name``."""
    return f"{prefix}_{stable_hex(name)}"


def generate_key(prefix: str = DEV_KEY_PREFIX) -> str:
    """A fresh random key with the given prefix (never stored in the source)."""
    return prefix + secrets.token_hex(16)


def _facility(name: str, label: str, tz: str, specialty: str, npi: str) -> dict[str, Any]:
    return {
        "id": stable_id("fac", name),
        "name": label,
        "timezone": tz,
        "specialty": specialty,
        "isVisible": True,
        "organizationNpi": npi,
        "createdAt": _CREATED,
        "updatedAt": _UPDATED,
    }


def _provider(
    name: str, first: str, last: str, title: str, npi: str, *, hidden: bool = False
) -> dict[str, Any]:
    return {
        "id": stable_id("prv", name),
        "firstName": first,
        "lastName": last,
        "displayFirstName": f"Dr. {first}" if title in ("MD", "DO") else first,
        "displayLastName": f"{last}, {title}",
        "username": (first[0] + last).lower(),
        "roles": ["Physician"] if title in ("MD", "DO") else ["Physician Assistant"],
        "individualNpi": npi,
        "canFinalize": title in ("MD", "DO"),
        "canCosign": title in ("MD", "DO"),
        "hidden": hidden,
        "createdAt": _CREATED,
        "updatedAt": _UPDATED,
    }


def _patient(
    name: str, first: str, last: str, mrn: str | None, dob: str | None, gender: str | None
) -> dict[str, Any]:
    return {
        "id": stable_id("pat", name),
        "mrn": mrn,
        "firstName": first,
        "lastName": last,
        "middleName": None,
        "gender": gender,
        "dateOfBirth": dob,
        "email": None,
        "phone": "(555) 010-" + stable_hex(name)[:4].translate(str.maketrans("abcdef", "123456")),
        "createdAt": _CREATED,
        "updatedAt": _UPDATED,
    }


_PATIENT_ROWS = [
    # key, first, last, MRN, date of birth, gender
    ("rivera", "Elena", "Rivera", "MM0000000101", "1984-02-17", "Female"),
    ("okafor", "Daniel", "Okafor", "MM0000000102", "1979-11-05", "Male"),
    ("nguyen", "Linh", "Nguyen", "MM0000000103", "1992-07-23", "Female"),
    ("schmidt", "Hannah", "Schmidt", "MM0000000104", "1958-04-30", "Female"),
    ("patel", "Arjun", "Patel", "MM0000000105", "2001-09-12", "Male"),
    ("brooks", "Marcus", "Brooks", "MM0000000106", "1967-12-01", "Male"),
    ("garcia", "Sofia", "Garcia", "MM0000000107", "1984-06-09", "Female"),
    ("kowalski", "Peter", "Kowalski", None, None, None),
]

_PROVIDER_ROWS = [
    # key, first, last, title, NPI, hidden
    ("wilson", "James", "Wilson", "MD", "1093817465", False),
    ("chen", "Amy", "Chen", "MD", "1548203917", False),
    ("haddad", "Omar", "Haddad", "DO", "1326574019", False),
    ("lindqvist", "Karin", "Lindqvist", "PA", "1780345621", False),
    ("moreau", "Julien", "Moreau", "MD", "1902736485", True),
]

_NOTE_ROWS = [
    # key, patient, facility, visit date (API format), status, providers, version
    ("rivera-1", "rivera", "westside", "2026-03-20 18:30:00+00", "awaiting_sign", ["wilson"], 3),
    ("rivera-2", "rivera", "westside", "2026-02-11 16:00:00+00", "signed", ["wilson"], 5),
    ("okafor-1", "okafor", "westside", "2026-03-19 17:15:00+00", "awaiting_sign", ["chen"], 1),
    ("nguyen-1", "nguyen", "harbor", "2026-03-18 22:45:00+00", "in_progress", ["haddad"], 2),
    ("nguyen-2", "nguyen", "harbor", "2026-01-07 19:30:00+00", "awaiting_sign", ["haddad"], 1),
    (
        "schmidt-1",
        "schmidt",
        "westside",
        "2026-03-17 15:00:00+00",
        "awaiting_sign",
        ["wilson", "lindqvist"],
        2,
    ),
    ("patel-1", "patel", "harbor", "2026-03-16 20:20:00+00", "awaiting_sign", ["chen"], 1),
    ("brooks-1", "brooks", "westside", "2026-03-15 18:00:00+00", "awaiting_sign", ["haddad"], 4),
    ("brooks-2", "brooks", "westside", "2025-12-02 17:40:00+00", "signed", ["haddad"], 6),
    (
        "garcia-1",
        "garcia",
        "harbor",
        "2026-03-14 21:10:00+00",
        "awaiting_sign",
        ["lindqvist", "chen"],
        1,
    ),
    (
        "kowalski-1",
        "kowalski",
        "westside",
        "2026-03-13 16:30:00+00",
        "awaiting_sign",
        ["wilson"],
        1,
    ),
    ("garcia-2", "garcia", "harbor", "2026-03-12 23:00:00+00", "awaiting_sign", ["moreau"], 2),
]


@dataclass
class DemoData:
    """The demo clinic as the API shows it (camelCase dicts), plus the keys of this run.

    ``org_id`` is the demo clinic; ``other_org_id`` is a second clinic the full key can also
    reach, whose note (``other_org_note_id``) must answer 404 when asked for under ``org_id``.
    """

    org_id: str
    other_org_id: str
    api_key: str
    readonly_key: str
    prod_key: str
    facilities: list[dict[str, Any]]
    providers: list[dict[str, Any]]
    patients: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    open_note_id: str
    signed_note_id: str
    provider_id: str
    hidden_provider_id: str
    other_org_note_id: str
    other_org_provider_id: str
    #: org id -> ids of the patients/notes/providers/facilities that clinic can see
    org_members: dict[str, set[str]] = field(default_factory=dict)

    def note(self, note_id: str) -> dict[str, Any] | None:
        return next((n for n in self.notes if n["id"] == note_id), None)

    def provider(self, provider_id: str) -> dict[str, Any] | None:
        return next((p for p in self.providers if p["id"] == provider_id), None)

    def patient(self, patient_id: str) -> dict[str, Any] | None:
        return next((p for p in self.patients if p["id"] == patient_id), None)

    def visible(self, org_id: str, item_id: str) -> bool:
        """True when ``item_id`` belongs to the clinic ``org_id``."""
        return item_id in self.org_members.get(org_id, set())

    def summary(self) -> dict[str, Any]:
        """The demo IDs without any key (safe to print or serve)."""
        return {
            "orgId": self.org_id,
            "otherOrgId": self.other_org_id,
            "openNoteId": self.open_note_id,
            "signedNoteId": self.signed_note_id,
            "providerId": self.provider_id,
            "hiddenProviderId": self.hidden_provider_id,
            "otherOrgNoteId": self.other_org_note_id,
            "patients": [p["id"] for p in self.patients],
            "notes": [n["id"] for n in self.notes],
            "providers": [p["id"] for p in self.providers],
        }


def _assigned(provider: dict[str, Any], index: int) -> dict[str, Any]:
    role = "PRIMARY_PROVIDER" if index == 0 else "SECONDARY_PROVIDER"
    return {**provider, "roleType": role}


def _patient_ref(patient: dict[str, Any]) -> dict[str, Any]:
    return {**patient, "avatar": None}


def build_demo_data(
    api_key: str | None = None, readonly_key: str | None = None, prod_key: str | None = None
) -> DemoData:
    """The demo clinic with fresh random keys (or the keys given)."""
    org_id = str(uuid.uuid5(_NAMESPACE, "org:demo-clinic"))
    other_org_id = str(uuid.uuid5(_NAMESPACE, "org:other-clinic"))
    facilities = {
        "westside": _facility(
            "westside", "Westside Dermatology", "America/Los_Angeles", "Dermatology", "1467382910"
        ),
        "harbor": _facility(
            "harbor",
            "Harbor Skin & Wound Clinic",
            "America/Los_Angeles",
            "Wound Care",
            "1619283746",
        ),
    }
    providers = {row[0]: _provider(*row[:5], hidden=row[5]) for row in _PROVIDER_ROWS}
    patients = {row[0]: _patient(*row) for row in _PATIENT_ROWS}
    notes: list[dict[str, Any]] = []
    for key, pat, fac, visit, status, prvs, version in _NOTE_ROWS:
        notes.append(
            {
                "id": stable_id("nte", key),
                "version": version,
                "visitDate": visit,
                "status": status,
                "aiStatus": "issues_found" if version % 2 else "no_issues",
                "aiIssueCount": 2 if version % 2 else 0,
                "ehrType": "modmed",
                "patient": _patient_ref(patients[pat]),
                "facility": facilities[fac],
                "assignedProviders": [_assigned(providers[p], i) for i, p in enumerate(prvs)],
                "createdAt": _CREATED,
                "updatedAt": _UPDATED,
            }
        )
    # A second clinic, to prove one clinic never sees another's notes.
    other_fac = _facility(
        "other-north",
        "Northside Family Practice",
        "America/Chicago",
        "Family Medicine",
        "1184736502",
    )
    other_prv = _provider("other-ito", "Kenji", "Ito", "MD", "1275849301")
    other_pat = _patient("other-ahmed", "Yasmin", "Ahmed", "NF0000004411", "1990-03-03", "Female")
    other_note: dict[str, Any] = {
        "id": stable_id("nte", "other-ahmed-1"),
        "version": 1,
        "visitDate": "2026-03-20 14:00:00+00",
        "status": "awaiting_sign",
        "aiStatus": "no_issues",
        "aiIssueCount": 0,
        "ehrType": "modmed",
        "patient": _patient_ref(other_pat),
        "facility": other_fac,
        "assignedProviders": [_assigned(other_prv, 0)],
        "createdAt": _CREATED,
        "updatedAt": _UPDATED,
    }
    demo_ids = (
        {f["id"] for f in facilities.values()}
        | {p["id"] for p in providers.values()}
        | {p["id"] for p in patients.values()}
        | {n["id"] for n in notes}
    )
    other_ids = {other_fac["id"], other_prv["id"], other_pat["id"], other_note["id"]}
    return DemoData(
        org_id=org_id,
        other_org_id=other_org_id,
        api_key=api_key or generate_key(DEV_KEY_PREFIX),
        readonly_key=readonly_key or generate_key(DEV_KEY_PREFIX),
        prod_key=prod_key or generate_key(PRD_KEY_PREFIX),
        facilities=[*facilities.values(), other_fac],
        providers=[*providers.values(), other_prv],
        patients=[*patients.values(), other_pat],
        notes=[*notes, other_note],
        open_note_id=stable_id("nte", "rivera-1"),
        signed_note_id=stable_id("nte", "rivera-2"),
        provider_id=providers["wilson"]["id"],
        hidden_provider_id=providers["moreau"]["id"],
        other_org_note_id=other_note["id"],
        other_org_provider_id=other_prv["id"],
        org_members={org_id: demo_ids, other_org_id: other_ids},
    )
