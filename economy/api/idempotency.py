"""`Idempotency-Key` on money-moving POSTs. The first successful response is stored with the
write in one transaction; a replay by the same principal with the same key and body gets that
response back (header `Idempotent-Replayed: true`) and writes nothing. The same key with a
different body is refused. Failed requests are not stored, so they can be retried."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from rest_framework import serializers
from rest_framework.response import Response

from economy.models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEY_MAX = 200


def principal_key(user) -> str:
    agent_id = getattr(user, "acting_agent_id", None)
    return f"agent:{agent_id}" if agent_id is not None else f"user:{user.pk}"


def idempotent(request, *, scope: str, handler: Callable[[], Response]) -> Response:
    key = request.headers.get(HEADER)
    if key is None:
        return handler()
    key = key.strip()
    if not key or len(key) > KEY_MAX:
        raise serializers.ValidationError({HEADER: [f"Use a key of 1 to {KEY_MAX} characters."]})
    principal = principal_key(request.user)
    body = json.dumps([scope, request.data], sort_keys=True, default=str)
    fingerprint = hashlib.sha256(body.encode()).hexdigest()
    found = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
    if found is not None:
        return _replay(found, fingerprint)
    try:
        with transaction.atomic():
            response = handler()
            IdempotencyRecord.objects.create(
                principal=principal,
                key=key,
                scope=scope,
                fingerprint=fingerprint,
                status_code=response.status_code,
                body=json.loads(json.dumps(response.data, default=str)),
            )
    except IntegrityError:
        found = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
        if found is None:
            raise
        return _replay(found, fingerprint)
    return response


def _replay(found: IdempotencyRecord, fingerprint: str) -> Response:
    if found.fingerprint != fingerprint:
        raise serializers.ValidationError({HEADER: ["This key was already used for a different request."]})
    response = Response(found.body, status=found.status_code)
    response["Idempotent-Replayed"] = "true"
    return response
