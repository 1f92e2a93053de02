"""Object store access (claim checks): any S3 endpoint through the ``minio`` client.

Events carry ``s3://bucket/key`` references, never the bytes; this module turns bytes into such
references and back. Keys are namespaced by tenant and validated so that no caller can escape its
namespace with ``..`` or absolute paths.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass
from urllib.parse import urlparse

from minio import Minio
from minio.datatypes import PostPolicy
from minio.error import S3Error

from pagestream.streams.errors import PagestreamError
from pagestream.streams.settings import Settings

_SAFE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=-]{0,199}")  # with fullmatch: 1-200 characters


class ObjectStoreError(PagestreamError):
    """An object could not be stored or read, or a reference is malformed."""

    code = "object_store"


@dataclass(frozen=True)
class StoredObject:
    uri: str
    sha256: str
    size: int


def safe_part(value: str, what: str) -> str:
    """One path component of an object key: letters, digits, ``._=-``; no traversal."""
    if not _SAFE_PART.fullmatch(value) or value in {".", ".."}:
        raise ObjectStoreError(
            f"{what} {value!r} is not allowed in object keys: use 1-200 characters of "
            "letters, digits, '.', '_', '=', '-', starting with a letter or digit",
            code="bad_key",
        )
    return value


def document_prefix(tenant: str, doc_id: str) -> str:
    return f"{safe_part(tenant, 'tenant')}/{safe_part(doc_id, 'doc_id')}"


def parse_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ObjectStoreError(f"not an object reference: {uri!r} (expected s3://bucket/key)", code="bad_key")
    return parsed.netloc, parsed.path.lstrip("/")


class ObjectStore:
    """A bucket on an S3 endpoint; thread-safe (the minio client pools connections)."""

    def __init__(self, settings: Settings) -> None:
        endpoint = urlparse(settings.s3_endpoint)
        self.bucket = settings.s3_bucket
        self._endpoint = f"{endpoint.scheme}://{endpoint.netloc}"
        self._client = Minio(
            endpoint.netloc,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=endpoint.scheme == "https",
            region=settings.s3_region,
        )

    def ensure_bucket(self) -> None:
        if not self._client.bucket_exists(self.bucket):
            self._client.make_bucket(self.bucket)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> StoredObject:
        try:
            self._client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type)
        except S3Error as exc:
            raise ObjectStoreError(f"cannot store s3://{self.bucket}/{key}: {exc.code}") from exc
        return StoredObject(f"s3://{self.bucket}/{key}", hashlib.sha256(data).hexdigest(), len(data))

    def get(self, uri: str) -> bytes:
        bucket, key = parse_uri(uri)
        try:
            response = self._client.get_object(bucket, key)
        except S3Error as exc:
            raise ObjectStoreError(f"cannot read {uri}: {exc.code}", code="object_missing") from exc
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def presigned_post(self, key: str, max_bytes: int, expires_seconds: int) -> tuple[str, dict[str, str]]:
        """A URL and the form fields that let their holder POST one object of at most ``max_bytes``
        to ``key`` until they expire (large uploads). The store itself refuses a larger body
        (S3's ``content-length-range`` condition), so a grant cannot be used to park gigabytes."""
        policy = PostPolicy(self.bucket, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_seconds))
        policy.add_equals_condition("key", key)
        policy.add_content_length_range_condition(1, max_bytes)
        fields = self._client.presigned_post_policy(policy)
        return f"{self._endpoint}/{self.bucket}", {"key": key, **fields}

    def size(self, key: str) -> int | None:
        """Size of the object at ``key`` in bytes, or None when there is none."""
        try:
            return self._client.stat_object(self.bucket, key).size
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NoSuchObject", "NotFound"}:
                return None
            raise ObjectStoreError(f"cannot stat s3://{self.bucket}/{key}: {exc.code}") from exc

    def digest(self, key: str, head_bytes: int = 1024) -> tuple[StoredObject, bytes]:
        """Reference, sha256 and size of a stored object, read as a stream (any size), and its
        first ``head_bytes`` (to tell its type)."""
        uri = f"s3://{self.bucket}/{key}"
        try:
            response = self._client.get_object(self.bucket, key)
        except S3Error as exc:
            raise ObjectStoreError(f"cannot read {uri}: {exc.code}", code="object_missing") from exc
        sha, size, head = hashlib.sha256(), 0, b""
        try:
            for chunk in response.stream(1 << 20):
                sha.update(chunk)
                size += len(chunk)
                if len(head) < head_bytes:
                    head += chunk[: head_bytes - len(head)]
        finally:
            response.close()
            response.release_conn()
        return StoredObject(uri, sha.hexdigest(), size), head

    def remove(self, key: str) -> None:
        try:
            self._client.remove_object(self.bucket, key)
        except S3Error as exc:
            raise ObjectStoreError(f"cannot remove s3://{self.bucket}/{key}: {exc.code}") from exc

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix/``, in name order."""
        try:
            return sorted(o.object_name for o in self._client.list_objects(self.bucket, f"{prefix}/", recursive=True))
        except S3Error as exc:
            raise ObjectStoreError(f"cannot list s3://{self.bucket}/{prefix}/: {exc.code}") from exc

    def folders(self) -> list[str]:
        """The top-level folders of the bucket: the tenants that have stored something."""
        try:
            listed = self._client.list_objects(self.bucket, recursive=False)
            return sorted(o.object_name.rstrip("/") for o in listed if o.is_dir)
        except S3Error as exc:
            raise ObjectStoreError(f"cannot list s3://{self.bucket}/: {exc.code}") from exc

    def presigned_url(self, key: str, expires: dt.timedelta) -> str:
        """A URL that downloads ``key`` without credentials until it expires (at most 7 days)."""
        return self._client.presigned_get_object(self.bucket, key, expires=expires)

    def healthy(self) -> bool:
        try:
            self._client.bucket_exists(self.bucket)
        except Exception:
            return False
        return True
