"""schemathesis hooks for tools/schemathesis.sh: drops the "schema-valid request rejected" failures
that no JSON Schema can prevent, and only those:

- an image that is valid base64 / a valid file part but not a decodable JPEG or PNG (422, the
  `bad_image` of our envelope, or the same message in Immich's and Weaviate's shapes), or one over
  the pixel limit (413 `too_many_pixels`): `format: byte` cannot say "decodes";
- a /search query that its negative texts or weights cancel out (400 `invalid_query`, "the zero
  vector"): the schema cannot compare embeddings.

Immich's 422 for bad `entries` ("Invalid request format") is not dropped: the schema describes
valid entries exactly.
"""
import atexit
import collections
import sys

import schemathesis

_dropped = collections.Counter()


@atexit.register
def _report():
    for (operation, status, reason), count in sorted(_dropped.items()):
        print(f"schemathesis_hooks: dropped {count} x {operation} {status} {reason}", file=sys.stderr)


def _message(response):
    try:
        body = response.json()
    except Exception:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    error = body.get("error", body.get("detail"))
    if isinstance(error, dict):
        return error.get("code"), str(error.get("message", ""))
    return None, str(error or "")


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if type(failure).__name__ != "RejectedPositiveData":
        return True
    code, message = _message(response)
    reason = None
    if response.status_code == 422 and code in (None, "bad_image") and not message.startswith("Invalid request format"):
        reason = "image that does not decode"
    elif response.status_code == 413 and (code == "too_many_pixels" or "pixels" in message):
        reason = "image over the pixel limit"
    elif response.status_code == 400 and code == "invalid_query" and "zero vector" in message:
        reason = "query cancelled out by its negatives"
    if reason is None:
        return True
    _dropped[(case.operation.label, response.status_code, reason)] += 1
    return False
