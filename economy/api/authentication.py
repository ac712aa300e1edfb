"""API token authentication: `Authorization: Bearer <token>`.

A per-agent token authenticates as an `AgentPrincipal` (acts only as its agent); a personal token
authenticates as its human user. Tokens are looked up by sha256 digest; revoked tokens, tokens of
quarantined or killed agents and tokens of inactive users are refused."""

from __future__ import annotations

import hashlib

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from economy.models import ApiToken


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AgentPrincipal:
    """Stands in for `request.user` when an agent calls the API with its own token."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True
    pk = None
    id = None

    def __init__(self, agent, token_id: int):
        self.agent = agent
        self.token_id = token_id

    @property
    def acting_agent_id(self) -> int:
        return self.agent.id

    def get_username(self) -> str:
        return f"agent:{self.agent.name}"

    def __str__(self) -> str:
        return self.get_username()


class ApiTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Use `Authorization: Bearer <token>`.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token = (
            ApiToken.objects.select_related("agent", "user")
            .filter(digest=token_digest(raw), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if token.kind == ApiToken.Kind.AGENT:
            if not token.agent.is_active or token.agent.quarantined:
                raise exceptions.AuthenticationFailed("This agent is quarantined or switched off.")
            return AgentPrincipal(token.agent, token.id), token
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("This user is inactive.")
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
