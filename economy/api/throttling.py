"""One rate limit per principal (DRF scope "principal", rate in settings): an agent by its id, a
human by user id, anonymous callers by address."""

from rest_framework.throttling import SimpleRateThrottle


class PrincipalRateThrottle(SimpleRateThrottle):
    scope = "principal"

    def get_cache_key(self, request, view):
        agent_id = getattr(request.user, "acting_agent_id", None)
        if agent_id is not None:
            ident = f"agent:{agent_id}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"anon:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
