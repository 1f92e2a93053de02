"""Documents in over HTTP: a multipart upload, or a presigned POST straight to the object store
for large files (then a submit call). Either way the bytes land in the object store and a
DocumentSubmitted goes to Kafka through the Python client.

Bad input is refused at the door with a problem+json body: a body that is not multipart, a
missing or empty ``file`` part, a type pagestream does not read (checked by magic bytes, as
ingest does), and anything over ``PAGESTREAM_MAX_UPLOAD_BYTES`` (413, while it is read: ``bodylimit``).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse

from pagestream.agents.ingest.core.document import ACCEPTED, sniff_kind
from pagestream.connectors.bridge.auth import note_document, owns, tenant_scope
from pagestream.connectors.bridge.bodylimit import upload_too_large
from pagestream.connectors.client import source_key
from pagestream.connectors.objectstore import ObjectStore, ObjectStoreError, safe_part
from pagestream.connectors.problems import Problem

_UPLOADS_PREFIX = "_uploads"  # pending presigned uploads; tenants cannot be named like this
_SWEEP_SECONDS = 60.0


def _tenant(request: Request, value: Any) -> str:
    """The tenant a document is submitted for: the API key's (naming another is a 403), or without
    authentication the one asked for, else ``default``."""
    asked = value if isinstance(value, str) and value else None
    tenant = tenant_scope(request, asked) or "default"
    try:
        return safe_part(tenant, "tenant")
    except ObjectStoreError as exc:
        raise Problem(400, "bad_tenant", str(exc)) from None


def _options(fields: Any) -> dict[str, Any]:
    """Optional submission settings: ocr_engine (a name) and render_dpi (72..600)."""
    options: dict[str, Any] = {}
    engine = fields.get("ocr_engine")
    if engine:
        options["ocr_engine"] = str(engine)
    dpi = fields.get("render_dpi")
    if dpi not in (None, ""):
        try:
            options["render_dpi"] = int(dpi)
        except (TypeError, ValueError):
            options["render_dpi"] = -1
        if not 72 <= options["render_dpi"] <= 600:
            raise Problem(400, "bad_render_dpi", f"render_dpi {dpi!r} must be an integer from 72 to 600")
    return options


def _check_type(head: bytes, filename: str) -> None:
    if not head:
        raise Problem(400, "empty_upload", f"{filename} is empty (0 bytes); send a {ACCEPTED}")
    if sniff_kind(head[:1024]) is None:
        raise Problem(415, "unsupported_type", f"{filename} is not a document pagestream reads; send a {ACCEPTED}")


async def _accepted(request: Request, doc_id: str, tenant: str, filename: str) -> JSONResponse:
    """202 once the bridge's feed has seen the submission, so the links work at once."""
    note_document(request, doc_id)
    await request.app.state.bridge.wait_known(doc_id)
    base = f"/v1/documents/{doc_id}"
    body = {
        "doc_id": doc_id,
        "tenant": tenant,
        "filename": filename,
        "status": "SUBMITTED",
        "links": {"self": base, "events": f"{base}/events"},
    }
    return JSONResponse(body, status_code=202, headers={"Location": base})


async def upload_document(request: Request) -> JSONResponse:
    """POST /v1/documents: multipart/form-data with a ``file`` part (and optional ``tenant``,
    ``ocr_engine``, ``render_dpi``)."""
    bridge = request.app.state.bridge
    limit = bridge.settings.max_upload_bytes
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem(
            415,
            "not_multipart",
            "send the document as multipart/form-data with a 'file' part, or use POST /v1/uploads for a "
            "presigned upload URL",
        )
    try:  # the body's size is bounded while it is read (bodylimit.BodyLimit)
        form = await request.form(max_files=1, max_fields=10)
    except MultiPartException as exc:
        raise Problem(400, "malformed_upload", f"the multipart body could not be read: {exc.message}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Problem(400, "malformed_upload", "the multipart body has no 'file' part holding the document")
        filename = upload.filename or "document"
        data = await upload.read()
        if len(data) > limit:
            raise upload_too_large(limit, len(data))
        _check_type(data, filename)
        tenant = _tenant(request, form.get("tenant"))
        options = _options(form)
    finally:
        await form.close()
    doc_id = await run_in_threadpool(bridge.client.submit, data, tenant=tenant, filename=filename, **options)
    return await _accepted(request, doc_id, tenant, filename)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise Problem(400, "malformed_json", f"the body is not JSON ({exc}); send a JSON object") from None
    if not isinstance(body, dict):
        raise Problem(400, "malformed_json", "the body must be a JSON object")
    return body


def _marker_key(doc_id: str) -> str:
    return f"{_UPLOADS_PREFIX}/{doc_id}.json"


def sweep_expired_uploads(store: ObjectStore, now: float) -> int:
    """Remove the markers of presigned uploads whose grant has expired, and what was uploaded for
    them but never submitted; how many were removed."""
    removed = 0
    for key in store.keys(_UPLOADS_PREFIX):
        try:
            marker = json.loads(store.get(f"s3://{store.bucket}/{key}"))
        except (ObjectStoreError, ValueError):
            continue
        if marker.get("expires_at", 0) <= now:
            if store.size(upload := source_key(marker["tenant"], marker["doc_id"], "upload")) is not None:
                store.remove(upload)
            store.remove(key)
            removed += 1
    return removed


async def _sweep_now_and_then(bridge: Any) -> None:
    """Sweep expired uploads at most once a minute, on the way of creating new ones."""
    now = time.time()
    if now - bridge.uploads_swept_at >= _SWEEP_SECONDS:
        bridge.uploads_swept_at = now
        await run_in_threadpool(sweep_expired_uploads, bridge.store, now)


async def create_upload(request: Request) -> JSONResponse:
    """POST /v1/uploads: a presigned POST (URL and form fields) for one large document, and its
    doc_id; the object store refuses a file over the upload limit."""
    bridge = request.app.state.bridge
    await _sweep_now_and_then(bridge)
    body = await _json_body(request)
    tenant = _tenant(request, body.get("tenant"))
    filename = str(body.get("filename") or "document")
    size = body.get("size_bytes")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise Problem(400, "bad_size", "size_bytes must be a non-negative integer")
    if size is not None and size > bridge.settings.max_upload_bytes:
        raise upload_too_large(bridge.settings.max_upload_bytes, size)
    doc_id = uuid.uuid4().hex
    note_document(request, doc_id)
    expiry = bridge.settings.presign_expiry_seconds
    marker = {"doc_id": doc_id, "tenant": tenant, "filename": filename, "expires_at": time.time() + expiry}
    store = bridge.store
    await run_in_threadpool(store.put, _marker_key(doc_id), json.dumps(marker).encode(), "application/json")
    url, fields = await run_in_threadpool(
        store.presigned_post, source_key(tenant, doc_id, "upload"), bridge.settings.max_upload_bytes, expiry
    )
    body = {
        "doc_id": doc_id,
        "tenant": tenant,
        "upload_url": url,
        "method": "POST",
        "fields": fields,
        "expires_at": marker["expires_at"],
        "max_bytes": bridge.settings.max_upload_bytes,
        "submit_url": f"/v1/documents/{doc_id}/submit",
    }
    return JSONResponse(body, status_code=201)


async def submit_upload(request: Request) -> JSONResponse:
    """POST /v1/documents/{doc_id}/submit: publish a document uploaded to its presigned URL."""
    bridge = request.app.state.bridge
    store = bridge.store
    doc_id = request.path_params["doc_id"]
    options = _options(await _json_body(request))
    try:
        marker = json.loads(await run_in_threadpool(store.get, f"s3://{store.bucket}/{_marker_key(doc_id)}"))
    except ObjectStoreError:
        known = bridge.feed.document(doc_id)
        if known is not None and owns(request, known[0]["tenant"]):
            raise Problem(409, "already_submitted", f"document {doc_id} was already submitted") from None
        marker = None
    if marker is None or not owns(request, marker["tenant"]):  # another tenant's upload: as if unknown
        raise Problem(
            404, "unknown_upload", f"no pending upload {doc_id!r}; ask for an upload URL with POST /v1/uploads"
        )
    tenant, filename = marker["tenant"], marker["filename"]
    key = source_key(tenant, doc_id, "upload")
    if marker["expires_at"] <= time.time():
        await run_in_threadpool(sweep_expired_uploads, store, time.time())
        raise Problem(
            410, "upload_expired", f"the upload grant for {doc_id} has expired; ask for a new one with POST /v1/uploads"
        )
    size = await run_in_threadpool(store.size, key)
    if size is None:
        raise Problem(
            409,
            "nothing_uploaded",
            f"nothing was uploaded for {doc_id}: POST the file to its upload_url with its fields first",
        )
    if size > bridge.settings.max_upload_bytes:
        await run_in_threadpool(store.remove, key)
        raise upload_too_large(bridge.settings.max_upload_bytes, size)
    stored, head = await run_in_threadpool(store.digest, key)
    _check_type(head, filename)
    await run_in_threadpool(bridge.client.submit_stored, doc_id, stored, tenant=tenant, filename=filename, **options)
    await run_in_threadpool(store.remove, _marker_key(doc_id))
    return await _accepted(request, doc_id, tenant, filename)
