"""S3-style presigned URLs: signed with a secret made at start, valid for a set time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

ALGORITHM = "AWS4-HMAC-SHA256"
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class SignedLink:
    url: str
    expires_at: datetime


class UrlSigner:
    """Makes and checks ``/_s3/<bucket>/<key>?X-Amz-...`` links for one server run."""

    def __init__(self, root_url: str, bucket: str = "maxcare-sandbox-files") -> None:
        self.root_url = root_url.rstrip("/")
        self.bucket = bucket
        self._secret = secrets.token_bytes(32)
        self._access_key = "ASIA" + secrets.token_hex(8).upper()

    def path_for(self, object_key: str) -> str:
        return f"/_s3/{self.bucket}/{quote(object_key)}"

    def _signature(self, path: str, amz_date: str, expires: str) -> str:
        message = f"{ALGORITHM}\nGET\n{path}\n{amz_date}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, object_key: str, now: float, ttl_s: int) -> SignedLink:
        path = self.path_for(object_key)
        signed_at = datetime.fromtimestamp(int(now), UTC)
        amz_date = signed_at.strftime(_AMZ_DATE)
        query = {
            "X-Amz-Algorithm": ALGORITHM,
            "X-Amz-Credential": f"{self._access_key}/{signed_at:%Y%m%d}/us-west-2/s3/aws4_request",
            "X-Amz-Date": amz_date,
            "X-Amz-Expires": str(ttl_s),
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": self._signature(path, amz_date, str(ttl_s)),
        }
        expires_at = datetime.fromtimestamp(int(now) + ttl_s, UTC)
        return SignedLink(f"{self.root_url}{path}?{urlencode(query)}", expires_at)

    def check(self, path: str, query: dict[str, str], now: float) -> str | None:
        """None when the link is valid, else the S3 error code (``AccessDenied``, ...)."""
        amz_date = query.get("X-Amz-Date", "")
        expires = query.get("X-Amz-Expires", "")
        signature = query.get("X-Amz-Signature", "")
        if query.get("X-Amz-Algorithm") != ALGORITHM or not (amz_date and expires and signature):
            return "AccessDenied"
        expected = self._signature(path, amz_date, expires)
        if not hmac.compare_digest(expected, signature):
            return "SignatureDoesNotMatch"
        try:
            signed_at = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
            ttl = int(expires)
        except ValueError:
            return "AccessDenied"
        if now > signed_at.timestamp() + ttl:
            return "AccessDenied:expired"
        return None
