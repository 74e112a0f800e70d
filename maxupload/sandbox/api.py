"""The Max AI API endpoints the sandbox implements: auth, scopes, notes, uploads, lists."""

from __future__ import annotations

import math
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from maxupload.sandbox.config import SandboxConfig
from maxupload.sandbox.demo_data import ALL_SCOPES, DemoData
from maxupload.sandbox.faults import FaultBoard
from maxupload.sandbox.imagecheck import check_image
from maxupload.sandbox.multipart import MultipartError, parse_file_part
from maxupload.sandbox.replies import ApiFailure, Reply, success
from maxupload.sandbox.signing import UrlSigner
from maxupload.sandbox.store import ImageStore, StoredImage

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_PAGE_SIZE = 100


@dataclass
class ApiRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    now: float
    trace_id: str


@dataclass(frozen=True)
class KeyRecord:
    scopes: frozenset[str]
    orgs: frozenset[str]
    label: str


@dataclass
class Keyring:
    """The API keys this sandbox accepts, each with its scopes and the clinics it reaches."""

    keys: dict[str, KeyRecord] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self, key: str, scopes: tuple[str, ...] | list[str], orgs: set[str], label: str
    ) -> None:
        with self.lock:
            self.keys[key] = KeyRecord(frozenset(scopes), frozenset(orgs), label)

    def find(self, key: str) -> KeyRecord | None:
        with self.lock:
            for known, record in self.keys.items():
                if secrets.compare_digest(known.encode(), key.encode()):
                    return record
            return None


def _bare_uuid_to_prefixed(prefix: str, value: str) -> str:
    """``3cc73cb6-9c59-...`` (v1/v2 style) -> ``nte_3cc73cb69c59...``; other values unchanged."""
    if _UUID.match(value):
        return f"{prefix}_{value.replace('-', '').lower()}"
    return value


class SandboxApi:
    """Answers API requests from the demo data and the image store."""

    def __init__(
        self,
        config: SandboxConfig,
        demo: DemoData,
        keyring: Keyring,
        store: ImageStore,
        faults: FaultBoard,
        signer: Callable[[], UrlSigner],
    ) -> None:
        self.config = config
        self.demo = demo
        self.keyring = keyring
        self.store = store
        self.faults = faults
        self._signer = signer
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("GET", re.compile(r"^/v[12]/marketplace/me$"), self.me),
            ("POST", re.compile(r"^/v3/notes/(?P<note_id>[^/]+)/images$"), self.upload),
            (
                "GET",
                re.compile(
                    r"^/(?P<version>v[23])/notes/(?P<note_id>[^/]+)/images/(?P<image_id>[^/]+)/url$"
                ),
                self.image_url,
            ),
            ("GET", re.compile(r"^/v3/notes$"), self.list_notes),
            ("GET", re.compile(r"^/v3/notes/(?P<note_id>[^/]+)$"), self.get_note),
            ("GET", re.compile(r"^/v3/providers$"), self.list_providers),
            ("GET", re.compile(r"^/v3/providers/(?P<item_id>[^/]+)$"), self.get_provider),
            ("GET", re.compile(r"^/v3/patients$"), self.list_patients),
            ("GET", re.compile(r"^/v3/patients/(?P<item_id>[^/]+)$"), self.get_patient),
            ("GET", re.compile(r"^/v3/facilities$"), self.list_facilities),
        ]

    # -- dispatch -------------------------------------------------------------------------

    def handle(self, req: ApiRequest) -> Reply:
        path = req.path.rstrip("/") or "/"
        allowed: set[str] = set()
        for method, pattern, func in self._routes:
            match = pattern.match(path)
            if match and method == req.method:
                return func(req, **match.groupdict())
            if match:
                allowed.add(method)
        if allowed:  # the path exists, the method is not declared for it
            raise ApiFailure(
                405,
                "method_not_allowed",
                f"{req.method} is not allowed on {req.path}",
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        raise ApiFailure(404, "not_found", f"Cannot {req.method} {req.path}")

    def key_label(self, headers: Message) -> str | None:
        """Which key made the request ("demo", "readonly", ...), for the request log."""
        key = self._bearer(headers)
        record = self.keyring.find(key) if key else None
        return record.label if record else ("invalid" if key else None)

    @staticmethod
    def _bearer(headers: Message) -> str | None:
        value = (headers.get("Authorization") or "").strip()
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    def _authorize(self, req: ApiRequest, scope: str | None) -> tuple[KeyRecord, str]:
        """The key and organization of a request, or the documented 401/400/403."""
        key = self._bearer(req.headers)
        record = self.keyring.find(key) if key else None
        if record is None:
            raise ApiFailure(401, "unauthorized", "Invalid or missing API key")
        raw_org = (req.headers.get("X-Organization-Id") or "").strip()
        if not raw_org:
            raise ApiFailure(400, "bad_request", "'X-Organization-Id' is required")
        org = self._resolve_org(raw_org)
        if org is None or org not in record.orgs:
            raise ApiFailure(
                403, "forbidden", f"This API key has no access to organization '{raw_org}'"
            )
        if scope is not None and scope not in record.scopes:
            raise ApiFailure(403, "forbidden", f"Insufficient scope. Required: {scope}")
        return record, org

    def _resolve_org(self, raw: str) -> str | None:
        for org in self.demo.org_members:
            if raw.lower() in (org, "org_" + org.replace("-", "")):
                return org
        return None

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _int_param(req: ApiRequest, name: str, default: int, low: int, high: int | None) -> int:
        raw = req.query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)  # an empty value is not a number either
        except ValueError:
            raise ApiFailure(400, "bad_request", f"'{name}' must be an integer number") from None
        if value < low:
            raise ApiFailure(400, "bad_request", f"'{name}' must not be less than {low}")
        if high is not None and value > high:
            raise ApiFailure(400, "bad_request", f"'{name}' must not be greater than {high}")
        return value

    def _page(self, req: ApiRequest, key: str, items: list[dict[str, Any]]) -> Reply:
        page = self._int_param(req, "page", 1, 1, None)
        size = self._int_param(req, "pageSize", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        total = len(items)
        chunk = items[(page - 1) * size : page * size]
        pagination = {
            "page": page,
            "pageSize": size,
            "totalCount": total,
            "totalPages": math.ceil(total / size) if total else 0,
        }
        return success({key: chunk, "pagination": pagination})

    @staticmethod
    def _bool_param(req: ApiRequest, name: str) -> bool | None:
        raw = req.query.get(name)
        if raw is None:
            return None
        if raw in ("true", "false"):  # the contract's booleans; not 1, 0, null or empty
            return raw == "true"
        raise ApiFailure(400, "bad_request", f"'{name}' must be true or false")

    def _visible(
        self, org: str, item_id: str, item: dict[str, Any] | None, what: str
    ) -> dict[str, Any]:
        """The demo record when it belongs to this clinic, else the API's 404 for ``what``."""
        if item is None or not self.demo.visible(org, item_id):
            raise ApiFailure(404, "not_found", f"{what} not found")
        return item

    def _visible_note(self, org: str, raw_id: str) -> dict[str, Any]:
        note_id = _bare_uuid_to_prefixed("nte", raw_id)
        return self._visible(org, note_id, self.demo.note(note_id), "Note")

    # -- endpoints ------------------------------------------------------------------------

    def me(self, req: ApiRequest) -> Reply:
        record, org = self._authorize(req, None)
        scopes = [s for s in ALL_SCOPES if s in record.scopes] + sorted(
            record.scopes - set(ALL_SCOPES)
        )
        return success(
            {
                "app": {
                    "id": "app_01J5K8SANDBOX0DEM0MAXUPLD",
                    "slug": "maxupload-sandbox",
                    "liveVersionId": "apv_01J5K8SANDBOX0DEM0V0001",
                },
                "organization": {"id": org},
                "scopes": scopes,
            }
        )

    def upload(self, req: ApiRequest, note_id: str) -> Reply:
        _, org = self._authorize(req, "write:notes")
        provider_id = req.query.get("providerId", "").strip()
        if not provider_id:
            raise ApiFailure(400, "bad_request", "'providerId' is required")
        note = self._visible_note(org, note_id)
        if self.demo.provider(provider_id) is None or not self.demo.visible(org, provider_id):
            raise ApiFailure(
                400, "bad_request", "'providerId' is not a provider of this organization"
            )
        if note["status"] == "signed":
            raise ApiFailure(409, "conflict", "Cannot edit a signed note")
        try:
            part = parse_file_part(req.headers.get("Content-Type", ""), req.body)
        except MultipartError as exc:
            raise ApiFailure(400, "bad_request", str(exc)) from None
        limit = self.config.max_upload_bytes
        if len(part.data) > limit:
            raise ApiFailure(400, "bad_request", too_large_message(len(part.data), limit))
        if not part.data:
            raise ApiFailure(400, "bad_request", "'file' is empty")
        problem = check_image(part.data, part.content_type)
        if problem:
            raise ApiFailure(400, "bad_request", problem)
        ehr_fails = self.faults.take("ehr_fail", req.method, req.path)
        status = "pending_upload" if ehr_fails else self.config.upload_status
        image = StoredImage(
            id="img_" + secrets.token_hex(16),
            note_id=note["id"],
            provider_id=provider_id,
            org_id=org,
            file_name=part.file_name,
            mime_type=part.content_type,
            data=part.data,
            status=status,
            received_at=req.now,
            trace_id=req.trace_id,
        )
        self.store.add(image)
        if ehr_fails:
            # The file is stored (as S3 would hold it); only the push to the EHR failed.
            raise ApiFailure(502, "unexpected_integration_error", "EHR sync failed")
        return success(
            {
                "id": image.id,
                "fileName": image.file_name,
                "mimeType": image.mime_type,
                "sizeKb": math.ceil(len(image.data) / 1024),
                "status": image.status,
            }
        )

    def image_url(self, req: ApiRequest, version: str, note_id: str, image_id: str) -> Reply:
        if version not in self.config.signed_url_versions:
            raise ApiFailure(404, "not_found", f"Cannot {req.method} {req.path}")
        _, org = self._authorize(req, "read:notes")
        note = self._visible_note(org, note_id)
        image = self.store.get(_bare_uuid_to_prefixed("img", image_id))
        if image is None or image.note_id != note["id"] or image.org_id != org:
            raise ApiFailure(404, "not_found", "Image not found")
        link = self._signer().sign(image.object_key, req.now, self.config.url_ttl_s)
        return success(
            {"url": link.url, "expiresAt": link.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
        )

    def list_notes(self, req: ApiRequest) -> Reply:
        _, org = self._authorize(req, "read:notes")
        self._bool_param(req, "includeSoapNote")  # validated; the demo notes carry no SOAP text
        patient_id = req.query.get("patientId")
        facility_id = req.query.get("facilityId")
        provider_id = req.query.get("providerId")
        notes = [
            n
            for n in self.demo.notes
            if self.demo.visible(org, n["id"])
            and (not patient_id or n["patient"]["id"] == patient_id)
            and (not facility_id or n["facility"]["id"] == facility_id)
            and (not provider_id or any(p["id"] == provider_id for p in n["assignedProviders"]))
        ]
        notes.sort(key=lambda n: n["visitDate"], reverse=True)
        return self._page(req, "notes", notes)

    def get_note(self, req: ApiRequest, note_id: str) -> Reply:
        _, org = self._authorize(req, "read:notes")
        self._bool_param(req, "includeSoapNote")
        return success(self._visible_note(org, note_id))

    def list_providers(self, req: ApiRequest) -> Reply:
        _, org = self._authorize(req, "read:providers")
        hidden = self._bool_param(req, "hidden")
        words = (req.query.get("search") or "").lower().split()
        providers = [
            p
            for p in self.demo.providers
            if self.demo.visible(org, p["id"])
            and (hidden is None or p["hidden"] == hidden)
            and _matches_all(words, _provider_text(p))
        ]
        return self._page(req, "providers", providers)

    def get_provider(self, req: ApiRequest, item_id: str) -> Reply:
        _, org = self._authorize(req, "read:providers")
        return success(self._visible(org, item_id, self.demo.provider(item_id), "Provider"))

    def list_patients(self, req: ApiRequest) -> Reply:
        _, org = self._authorize(req, "read:patients")
        words = (req.query.get("search") or "").lower().split()
        patients = [
            p
            for p in self.demo.patients
            if self.demo.visible(org, p["id"]) and _matches_all(words, _patient_text(p))
        ]
        patients.sort(key=lambda p: (p["lastName"], p["firstName"]))
        return self._page(req, "patients", patients)

    def get_patient(self, req: ApiRequest, item_id: str) -> Reply:
        _, org = self._authorize(req, "read:patients")
        return success(self._visible(org, item_id, self.demo.patient(item_id), "Patient"))

    def list_facilities(self, req: ApiRequest) -> Reply:
        _, org = self._authorize(req, "read:facilities")
        words = (req.query.get("search") or "").lower().split()
        facilities = [
            f
            for f in self.demo.facilities
            if self.demo.visible(org, f["id"]) and _matches_all(words, f["name"].lower())
        ]
        return self._page(req, "facilities", facilities)


def too_large_message(size: int | str | None, limit: int) -> str:
    """Names the size and the limit, so the user knows how far to shrink the photo."""
    told = f" ({size} bytes)" if size else ""
    return f"File is too large{told}. The limit is {limit} bytes ({limit / 1e6:g} MB)"


def _matches_all(words: list[str], text: str) -> bool:
    return all(w in text for w in words)


def _provider_text(p: dict[str, Any]) -> str:
    parts = [p["firstName"], p["lastName"], p["displayFirstName"], p["displayLastName"]]
    return " ".join([*parts, p["username"]]).lower()


def _patient_text(p: dict[str, Any]) -> str:
    """Name, MRN and date of birth (as YYYY-MM-DD and MM/DD/YYYY), lowercased."""
    parts = [p["firstName"], p["lastName"], p.get("mrn") or ""]
    dob = p.get("dateOfBirth")
    if dob:
        y, m, d = dob.split("-")
        parts += [dob, f"{m}/{d}/{y}"]
    return " ".join(parts).lower()
