"""Upload size limits enforced before a request body is read, not after it has been spooled to disk.

A view that takes a file declares its limit with ``UploadLimit`` (the ``upload_limit``
attribute of a view function or class). ``UploadLimitMiddleware`` runs before the
CSRF check, the first code that would read the body, and:

- refuses a declared ``Content-Length`` above the limit without reading a byte;
- refuses a body with no ``Content-Length`` (chunked): Django's WSGI request reads
  no body without one, so the file would silently go missing ("no file") instead;
- puts ``LimitedUploadHandler`` first, which stops reading once the files' bytes
  pass the limit (a declared length may still hold a file a little over the limit,
  within the allowance for the multipart framing around it).

The view's own ``refuse`` callable builds the answer (the form page with the
message, or a problem+json naming the field), and the view asks ``refusal`` after
reading the files whether the handler stopped them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext

log = logging.getLogger(__name__)

# Room for the multipart boundaries, part headers and small form fields (CSRF token) around the file.
MULTIPART_ALLOWANCE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Refusal:
    status: int  # 413 too large, 411 no length, 400 an unreadable length
    message: str


@dataclass(frozen=True)
class UploadLimit:
    setting: str  # the setting holding the largest file accepted, in bytes (read per request)
    refuse: Callable[[HttpRequest, Refusal], HttpResponse]

    @property
    def max_bytes(self) -> int:
        return int(getattr(settings, self.setting))


def upload_limit(limit: UploadLimit):
    """Declare ``limit`` on a view function (a class-based view sets ``upload_limit`` as a class attribute)."""

    def declare(view):
        view.upload_limit = limit
        return view

    return declare


def refusal(request) -> Refusal | None:
    """Why the upload was stopped while it was read, or None. Reads the body if nothing has yet."""
    request.FILES  # noqa: B018 - the upload handlers run while the body is parsed
    return getattr(request, "upload_refusal", None)


def too_large_message(limit: int, size: int | None = None) -> str:
    """What the user reads; ``size`` when the request said it (a stopped stream only knows it is over)."""
    if size is None:
        return gettext("The file is larger than the limit; a file may be at most %(limit)s. Nothing was stored.") % {
            "limit": megabytes(limit)
        }
    return gettext("The upload is %(size)s; a file may be at most %(limit)s. Nothing was stored.") % {
        "size": megabytes(size),
        "limit": megabytes(limit),
    }


class UploadLimitMiddleware:
    """Refuse oversized or length-less uploads to views that declare a limit, before their body is read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        limit = getattr(view_func, "upload_limit", None) or getattr(
            getattr(view_func, "view_class", None), "upload_limit", None
        )
        if limit is None or request.method not in ("POST", "PUT", "PATCH"):
            return None
        max_bytes = limit.max_bytes
        declared = request.META.get("CONTENT_LENGTH", "")
        stopped = None
        if not declared:
            stopped = Refusal(
                411, gettext("Send the file with a Content-Length header (a chunked upload cannot be read).")
            )
        elif not declared.isdigit():
            stopped = Refusal(400, gettext("The Content-Length header is not a number."))
        elif int(declared) > max_bytes + MULTIPART_ALLOWANCE_BYTES:
            stopped = Refusal(413, too_large_message(max_bytes, int(declared)))
        if stopped is not None:
            log.warning("upload to %s refused before reading: %s", request.path, stopped.message)
            return limit.refuse(request, stopped)
        request.upload_handlers.insert(0, LimitedUploadHandler(request, max_bytes=max_bytes))
        return None


class LimitedUploadHandler(FileUploadHandler):
    """Counts the bytes of every file in the request and stops reading the body once they pass the limit."""

    def __init__(self, request=None, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            log.warning("upload to %s stopped after %d bytes", self.request.path, self.received)
            self.request.upload_refusal = Refusal(413, too_large_message(self.max_bytes))
            raise StopUpload(connection_reset=True)  # leave the rest of the body unread
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) makes the file


def megabytes(size: int) -> str:
    """A size as users read it in upload messages."""
    if size < 1024 * 1024:
        return gettext("%(size)s bytes") % {"size": f"{size:,}"}
    return gettext("%(size)s MB") % {"size": f"{size / (1024 * 1024):,.1f}"}
