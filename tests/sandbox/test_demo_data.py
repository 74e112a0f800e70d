"""Demo clinic: stable IDs, realistic notes, list filters, pagination and patient search."""

from __future__ import annotations

import re

import httpx
import pytest

from maxupload.core.api.models import parse_visit_date
from maxupload.sandbox import SandboxServer

_ID = {p: re.compile(rf"^{p}_[0-9a-f]{{32}}$") for p in ("nte", "pat", "prv", "fac")}


def test_ids_are_prefixed_and_the_same_every_start(make_sandbox) -> None:
    a, b = make_sandbox(), make_sandbox()
    assert a.demo.summary() == b.demo.summary()
    assert a.demo.org_id == "ac974d9a-ee21-5146-a3f7-27b6a3705499"
    assert a.demo.open_note_id == "nte_7fe1780287a65c5c8284d556a2d53011"
    assert a.demo.signed_note_id == "nte_ade3925481c35a4da153409c4c742586"
    assert a.demo.provider_id == "prv_98120dcc6ace5f109dce80f17b1a98f1"
    for note in a.demo.notes:
        assert _ID["nte"].match(note["id"])
        assert _ID["pat"].match(note["patient"]["id"])
        assert _ID["fac"].match(note["facility"]["id"])
        assert all(_ID["prv"].match(p["id"]) for p in note["assignedProviders"])


def test_open_note_names_the_demo_provider(sandbox: SandboxServer, api: httpx.Client) -> None:
    note = api.get(f"/notes/{sandbox.demo.open_note_id}").json()["data"]
    assert note["status"] != "signed"
    assert note["assignedProviders"][0]["id"] == sandbox.demo.provider_id
    assert note["assignedProviders"][0]["roleType"].startswith("PRIMARY_")
    assert note["ehrType"] == "modmed"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00", note["visitDate"])
    assert parse_visit_date(note["visitDate"]) is not None
    signed = api.get(f"/notes/{sandbox.demo.signed_note_id}").json()["data"]
    assert signed["status"] == "signed"


def test_note_of_another_clinic_is_not_found(sandbox: SandboxServer, api: httpx.Client) -> None:
    r = api.get(f"/notes/{sandbox.demo.other_org_note_id}")
    assert r.status_code == 404
    assert r.json()["message"] == "Note not found"


def test_notes_list_pages_and_filters(sandbox: SandboxServer, api: httpx.Client) -> None:
    first = api.get("/notes", params={"page": 1, "pageSize": 5}).json()["data"]
    assert first["pagination"] == {"page": 1, "pageSize": 5, "totalCount": 12, "totalPages": 3}
    seen = []
    for page in (1, 2, 3):
        seen += api.get("/notes", params={"page": page, "pageSize": 5}).json()["data"]["notes"]
    assert len({n["id"] for n in seen}) == 12
    assert sandbox.demo.other_org_note_id not in {n["id"] for n in seen}
    assert api.get("/notes", params={"page": 4, "pageSize": 5}).json()["data"]["notes"] == []
    default = api.get("/notes").json()["data"]["pagination"]
    assert default["pageSize"] == 100
    patient_id = sandbox.demo.note(sandbox.demo.open_note_id)["patient"]["id"]
    by_patient = api.get("/notes", params={"patientId": patient_id}).json()["data"]["notes"]
    assert {n["patient"]["id"] for n in by_patient} == {patient_id}
    assert len(by_patient) == 2
    by_provider = api.get("/notes", params={"providerId": sandbox.demo.provider_id}).json()
    assert all(
        any(p["id"] == sandbox.demo.provider_id for p in n["assignedProviders"])
        for n in by_provider["data"]["notes"]
    )
    facility_id = sandbox.demo.facilities[1]["id"]
    by_facility = api.get("/notes", params={"facilityId": facility_id}).json()["data"]["notes"]
    assert by_facility and {n["facility"]["id"] for n in by_facility} == {facility_id}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"pageSize": 101}, "'pageSize' must not be greater than 100"),
        ({"pageSize": 0}, "'pageSize' must not be less than 1"),
        ({"page": 0}, "'page' must not be less than 1"),
        ({"page": "x"}, "'page' must be an integer number"),
    ],
)
def test_bad_paging_is_400(api: httpx.Client, params: dict, message: str) -> None:
    r = api.get("/notes", params=params)
    assert r.status_code == 400
    assert r.json()["message"] == message


def test_providers_hidden_filter_and_search(sandbox: SandboxServer, api: httpx.Client) -> None:
    everyone = api.get("/providers").json()["data"]["providers"]
    assert len(everyone) == 5
    visible = api.get("/providers", params={"hidden": "false"}).json()["data"]["providers"]
    assert len(visible) == 4
    assert sandbox.demo.hidden_provider_id not in {p["id"] for p in visible}
    hidden = api.get("/providers", params={"hidden": "true"}).json()["data"]["providers"]
    assert [p["id"] for p in hidden] == [sandbox.demo.hidden_provider_id]
    found = api.get("/providers", params={"search": "wilson"}).json()["data"]["providers"]
    assert [p["id"] for p in found] == [sandbox.demo.provider_id]
    assert api.get("/providers", params={"hidden": "maybe"}).status_code == 400


@pytest.mark.parametrize(
    ("search", "last_names"),
    [
        ("garcia", ["Garcia"]),
        ("SOFIA", ["Garcia"]),
        ("MM0000000102", ["Okafor"]),
        ("1984", ["Garcia", "Rivera"]),
        ("1984-02-17", ["Rivera"]),
        ("02/17/1984", ["Rivera"]),
        ("elena 1984", ["Rivera"]),
        ("nobody-by-this-name", []),
        ("", None),
    ],
)
def test_patient_search_matches_name_mrn_and_birth_date(
    api: httpx.Client, search: str, last_names: list[str] | None
) -> None:
    data = api.get("/patients", params={"search": search}).json()["data"]
    names = [p["lastName"] for p in data["patients"]]
    if last_names is None:
        assert len(names) == 8
        assert "Ahmed" not in names  # the other clinic's patient
    else:
        assert names == last_names
    assert data["pagination"]["totalCount"] == len(names)


def test_patient_without_mrn_or_birth_date(api: httpx.Client) -> None:
    [p] = api.get("/patients", params={"search": "kowalski"}).json()["data"]["patients"]
    assert p["mrn"] is None and p["dateOfBirth"] is None and p["gender"] is None


def test_single_patient_provider_and_facility_list(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    patient = sandbox.demo.patients[0]
    assert api.get(f"/patients/{patient['id']}").json()["data"] == patient
    assert api.get("/patients/pat_" + "0" * 32).json()["message"] == "Patient not found"
    provider = api.get(f"/providers/{sandbox.demo.provider_id}").json()["data"]
    assert provider["displayLastName"] == "Wilson, MD"
    facilities = api.get("/facilities").json()["data"]["facilities"]
    assert len(facilities) == 2
