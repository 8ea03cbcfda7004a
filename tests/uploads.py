"""Upload a file with the pre-signed form of POST /campaigns/{id}/recipients/upload, as a
browser's form post does: the form's fields, then the file (S3 wants it last)."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from typing import Any


def form_body(fields: dict[str, str], data: bytes,
              filename: str = "recipients.csv") -> tuple[bytes, str]:
    """(multipart/form-data body, its Content-Type)."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             .encode() for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode())
    return b"".join(parts) + data + f"\r\n--{boundary}--\r\n".encode(), (
        f"multipart/form-data; boundary={boundary}")


def post_file(upload: dict[str, Any], data: bytes, timeout: float = 60) -> int:
    """The HTTP status S3 (moto) answers to the upload of `data`."""
    assert upload["method"] == "POST", upload
    body, content_type = form_body(upload["fields"], data)
    request = urllib.request.Request(upload["url"], data=body, method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
