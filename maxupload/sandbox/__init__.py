"""A local implementation of the Max AI API contract, for demo mode and tests.

Start one::

    from maxupload.sandbox import SandboxServer, SandboxConfig, Faults
    with SandboxServer(SandboxConfig(rate_limit=5, faults=Faults(ehr_fail=1))) as srv:
        srv.base_url, srv.demo.api_key, srv.demo.org_id, srv.demo.open_note_id, ...

What it answers (bodies exactly as ``contract/openapi.yaml``; errors ``{code, message,
trace_id}`` with a fresh uuid4 ``trace_id`` each):

* ``POST /v3/notes/{noteId}/images?providerId=`` (multipart part ``file``; scope
  ``write:notes``), ``GET /v3|v2/notes/{noteId}/images/{imageId}/url`` (``read:notes``),
  ``GET /v3/notes[/{id}]``, ``GET /v3/providers[/{id}]``, ``GET /v3/patients[/{id}]``
  (``search`` matches name, MRN and date of birth), ``GET /v3/facilities``,
  ``GET /v1/marketplace/me``; the contract itself at ``GET /openapi.yaml``.
* Choices where the contract is silent: an organization the key cannot reach answers 403
  ``forbidden`` (every endpoint documents 403; 404 is reserved for notes and images); an
  unknown provider on upload answers 400 naming ``providerId``; a file over
  ``max_upload_bytes`` answers 400 naming the limit (the contract lists no 413); ``sizeKb``
  is ``ceil(bytes / 1024)``; ``X-Organization-Id`` may be the UUID or ``org_<32 hex>``.
* Signed URLs point back at this server (``/_s3/<bucket>/<key>?X-Amz-...``), serve the stored
  bytes, expire after ``url_ttl_s``, answer 403 (S3 XML) when expired or altered and 400 when an
  ``Authorization`` header is sent with them.
* Control (never rate-limited, no key needed, not in the request log): ``GET
  /_sandbox/uploads``, ``GET /_sandbox/requests``, ``POST /_sandbox/reset``, ``GET|POST
  /_sandbox/faults`` (JSON fields of :class:`Faults`, merged into the current ones), ``POST
  /_sandbox/clock`` (``{"advance_s": N}``), ``GET /_sandbox/demo`` (IDs, no keys), ``GET
  /_sandbox/labels`` (the demo patients' wristband labels) and ``GET
  /_sandbox/labels/<patientId>.png`` (one label, drawn on request).
"""

from maxupload.sandbox.config import Faults, SandboxConfig
from maxupload.sandbox.demo_data import DemoData
from maxupload.sandbox.server import SandboxServer

__all__ = ["DemoData", "Faults", "SandboxConfig", "SandboxServer"]
