"""Turns service errors into DRF errors: a Django ValidationError with a field-level message
becomes a 400 with the same {field: [message]} body."""

from __future__ import annotations

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers


@contextmanager
def service_errors():
    try:
        yield
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        raise serializers.ValidationError(detail) from None
