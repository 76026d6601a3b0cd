"""Sending a JSON-protocol request whose body our code serialized with :func:`json.dumps`.

botocore serializes a request by walking the operation's input shape value by value: for a
``BatchExecuteStatement`` of 25 statements (about 300 ``AttributeValue`` structures) that walk
costs more CPU than everything else the processor does per event. Our statements are plain JSON
by construction (strings, ``S``/``N`` attribute values, maps; no blobs, no timestamps: see
:mod:`._partiql`), and for DynamoDB's JSON 1.0 protocol the body is exactly the parameters as
JSON, so ``json.dumps`` (C) writes the same bytes.

Two documented botocore events do it: ``before-parameter-build`` stores the body serialized by
``json.dumps`` in the request context and leaves botocore a one-element placeholder to validate
and serialize;
``request-created`` (registered first, so before the SigV4 signer signs the payload) puts the
stored body back. Everything else (endpoint, headers, signing, retries, parsing) stays botocore's.

Only while botocore's model for the service says its protocol is ``json``: botocore has moved
services to other protocols before (the installed one serves CloudWatch over
``smithy-rpc-v2-cbor``), and a JSON body sent under another protocol's headers would be refused
or misread. Under any other protocol :func:`install` installs nothing and botocore serializes as
usual (see docs/ASSUMPTIONS.md).
"""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger(__name__)

_CONTEXT_KEY = "nicelist_prebuilt_body"
#: the protocol whose request body is exactly the parameters as JSON
JSON_PROTOCOL = "json"


def protocol_of(client: Any) -> str:
    """The protocol botocore uses for ``client``'s service (its model's ``metadata.protocol``)."""
    return str(client.meta.service_model.metadata.get("protocol", ""))


def install(client: Any, operation: str, field: str, placeholder: Any) -> bool:
    """Send ``operation``'s parameters serialized by ``json.dumps`` on this client; botocore sees
    ``placeholder`` (a valid value of ``field``) instead of the real ``field``. Returns False (and
    installs nothing) when botocore does not speak JSON to the service."""
    protocol = protocol_of(client)
    if protocol != JSON_PROTOCOL:
        log.info("botocore speaks %s to %s, not json: its own serializer builds the body", protocol, operation)
        return False
    service = client.meta.service_model.service_id.hyphenize()

    def stash(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_CONTEXT_KEY] = json.dumps(params, separators=(",", ":")).encode()
        params[field] = placeholder

    def swap(request: Any, **_: Any) -> None:
        body = request.context.pop(_CONTEXT_KEY, None)
        if body is not None:
            request.data = body

    # unique ids: a second install on the same client (another sink sharing it) is a no-op
    events = client.meta.events
    events.register_first(f"before-parameter-build.{service}.{operation}", stash, unique_id=f"{_CONTEXT_KEY}-stash")
    events.register_first(f"request-created.{service}.{operation}", swap, unique_id=f"{_CONTEXT_KEY}-swap")
    return True
