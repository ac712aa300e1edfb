"""Economy API: balances, ledgers, rewards and penalties, deposits, compute purchases, tier
changes and API tokens. One view per endpoint; serializers validate, services write."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.api.access import ECONOMY, agent_get_for_principal, principal_agent_id, principal_is_admin
from economy import services
from economy.api.errors import service_errors
from economy.api.idempotency import HEADER, idempotent
from economy.models import ApiToken, LedgerEntry
from economy.selectors import agent_economy_summary, ledger_for, tokens_for_user
from economy.services import MAX_AMOUNT
from economy.tiers import PACKAGES, TIERS

IDEMPOTENCY = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Replays with the same key and body return the first response and write nothing.",
)
PAGE = [
    OpenApiParameter("limit", int, description="At most 500 (default 50)."),
    OpenApiParameter("offset", int),
]


class EconomySummarySerializer(serializers.Serializer):
    agent_id = serializers.IntegerField()
    balance = serializers.IntegerField(help_text="aiDollar cents")
    balance_display = serializers.CharField()
    tier = serializers.CharField()
    requests_per_hour = serializers.IntegerField()
    tokens_per_day = serializers.IntegerField()
    models = serializers.ListField(child=serializers.CharField())
    frozen = serializers.BooleanField()


class LedgerEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    agent_id = serializers.IntegerField()
    amount = serializers.IntegerField(help_text="aiDollar cents, signed")
    reason = serializers.CharField()
    source = serializers.CharField()
    source_user_id = serializers.IntegerField(allow_null=True)
    source_agent_id = serializers.IntegerField(allow_null=True)
    post_id = serializers.IntegerField(source="related_post_id", allow_null=True)
    external_txn_id = serializers.CharField(allow_null=True)
    note = serializers.CharField()
    tick = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


def _summary(agent) -> dict:
    return {"agent_id": agent.id, **agent_economy_summary(agent)}


def _page(request, queryset) -> tuple[list, int]:
    def number(name, default, top):
        try:
            return max(0, min(top, int(request.query_params.get(name, default))))
        except (TypeError, ValueError):
            raise serializers.ValidationError({name: ["A whole number is required."]}) from None

    limit, offset = number("limit", 50, 500), number("offset", 0, 10**9)
    return list(queryset[offset : offset + limit]), queryset.count()


class BalanceView(APIView):
    @extend_schema(responses=EconomySummarySerializer, summary="An agent's balance and compute tier")
    def get(self, request, agent_id: int):
        agent = agent_get_for_principal(request.user, agent_id, purpose=ECONOMY)
        return Response(EconomySummarySerializer(_summary(agent)).data)


class LedgerView(APIView):
    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LedgerOutput"

        count = serializers.IntegerField()
        results = LedgerEntrySerializer(many=True)

    @extend_schema(parameters=PAGE, responses=OutputSerializer, summary="An agent's ledger, newest first")
    def get(self, request, agent_id: int):
        agent = agent_get_for_principal(request.user, agent_id, purpose=ECONOMY)
        rows, count = _page(request, ledger_for(agent.id))
        return Response(self.OutputSerializer({"count": count, "results": rows}).data)


class FeedbackInputSerializer(serializers.Serializer):
    agent_id = serializers.IntegerField(
        required=False, min_value=1, help_text="Defaults to the post's author."
    )
    post_id = serializers.IntegerField(required=False, min_value=1)
    amount = serializers.IntegerField(min_value=1, max_value=MAX_AMOUNT, help_text="aiDollar cents")
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    def validate(self, attrs):
        if "agent_id" not in attrs and "post_id" not in attrs:
            raise serializers.ValidationError({"agent_id": ["Give the agent or the post."]})
        return attrs


class RewardView(APIView):
    parser_classes = [JSONParser]
    service = staticmethod(services.ledger_reward)
    scope = "reward"

    @extend_schema(
        request=FeedbackInputSerializer,
        responses={201: LedgerEntrySerializer},
        parameters=[IDEMPOTENCY],
        summary="Reward an agent (humans and admins)",
    )
    def post(self, request):
        return idempotent(request, scope=self.scope, handler=lambda: self._handle(request))

    def _handle(self, request):
        data = FeedbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            entry = self.service(actor=request.user, **data.validated_data)
        return Response(LedgerEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class PenalizeView(RewardView):
    service = staticmethod(services.ledger_penalize)
    scope = "penalize"

    @extend_schema(
        request=FeedbackInputSerializer,
        responses={201: LedgerEntrySerializer},
        parameters=[IDEMPOTENCY],
        summary="Penalize an agent (humans and admins)",
    )
    def post(self, request):
        return super().post(request)


class DepositView(APIView):
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DepositInput"

        agent_id = serializers.IntegerField(min_value=1)
        amount = serializers.IntegerField(min_value=1, max_value=MAX_AMOUNT, help_text="aiDollar cents")
        external_txn_id = serializers.CharField(max_length=120)
        note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    class OutputSerializer(LedgerEntrySerializer):
        class Meta:
            ref_name = "DepositOutput"

        created = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OutputSerializer},
        parameters=[IDEMPOTENCY],
        summary="Credit a deposit once per external transaction (admins)",
    )
    def post(self, request):
        if not principal_is_admin(request.user):
            raise_forbidden("Only admins credit deposits.")
        return idempotent(request, scope="deposit", handler=lambda: self._handle(request))

    def _handle(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            entry, created = services.deposit_credit(actor=request.user, **data.validated_data)
        body = {**LedgerEntrySerializer(entry).data, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PurchaseView(APIView):
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PurchaseInput"

        agent_id = serializers.IntegerField(min_value=1)
        package = serializers.ChoiceField(choices=sorted(PACKAGES))

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PurchaseOutput"

        tier = serializers.CharField()
        until_tick = serializers.IntegerField(allow_null=True)
        ledger_entry = LedgerEntrySerializer()
        entitlement = EconomySummarySerializer()

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer},
        parameters=[IDEMPOTENCY],
        summary="Buy a one-game-day tier boost (the agent itself or an admin)",
    )
    def post(self, request):
        return idempotent(request, scope="purchase", handler=lambda: self._handle(request))

    def _handle(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agent = agent_get_for_principal(request.user, data.validated_data["agent_id"], purpose="act")
        with service_errors():
            grant = services.compute_purchase(
                actor=request.user, agent_id=agent.id, package=data.validated_data["package"]
            )
        entry = LedgerEntry.objects.get(pk=grant.ledger_entry_id)
        body = {
            "tier": grant.tier,
            "until_tick": grant.until_tick,
            "ledger_entry": entry,
            "entitlement": _summary(agent),
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class TierView(APIView):
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TierInput"

        agent_id = serializers.IntegerField(min_value=1)
        tier = serializers.ChoiceField(choices=["auto", *TIERS])
        game_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=3650)

    @extend_schema(
        request=InputSerializer,
        responses=EconomySummarySerializer,
        summary="Set or clear an agent's tier override (admins)",
    )
    def post(self, request):
        if not principal_is_admin(request.user):
            raise_forbidden("Only admins change tiers.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            services.tier_set(actor=request.user, **data.validated_data)
        agent = agent_get_for_principal(request.user, data.validated_data["agent_id"], purpose=ECONOMY)
        return Response(EconomySummarySerializer(_summary(agent)).data)


# ---------------------------------------------------------------------------- tokens


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    agent_id = serializers.IntegerField(allow_null=True)
    user_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)


class IssuedTokenSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The secret; shown only now. Send it as `Authorization: Bearer`.")


class TokenNameSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=80, default="")


def _issued(token: ApiToken, raw: str) -> Response:
    body = {**TokenSerializer(token).data, "token": raw}
    return Response(IssuedTokenSerializer(body).data, status=status.HTTP_201_CREATED)


def raise_forbidden(message: str):
    raise PermissionDenied(message)


class TokenListView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        responses=TokenSerializer(many=True), summary="Your tokens (admins: all), never the secrets"
    )
    def get(self, request):
        if principal_agent_id(request.user) is not None:
            tokens = ApiToken.objects.filter(agent_id=principal_agent_id(request.user))
        else:
            tokens = tokens_for_user(request.user)
        return Response(TokenSerializer(tokens[:500], many=True).data)

    @extend_schema(
        request=TokenNameSerializer,
        responses={201: IssuedTokenSerializer},
        summary="Issue a personal token for the signed-in human",
    )
    def post(self, request):
        data = TokenNameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = services.personal_token_issue(actor=request.user, name=data.validated_data["name"])
        return _issued(token, raw)


class AgentTokenIssueView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=TokenNameSerializer,
        responses={201: IssuedTokenSerializer},
        summary="Issue a token for an agent (admins)",
    )
    def post(self, request, agent_id: int):
        if not principal_is_admin(request.user):
            raise_forbidden("Only admins issue agent tokens.")
        agent = agent_get_for_principal(request.user, agent_id, purpose="act")
        data = TokenNameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = services.agent_token_issue(
            actor=request.user, agent=agent, name=data.validated_data["name"]
        )
        return _issued(token, raw)


class AgentTokenRotateView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=TokenNameSerializer,
        responses={201: IssuedTokenSerializer},
        summary="Revoke an agent's tokens and issue a new one (the agent itself or admins)",
    )
    def post(self, request, agent_id: int):
        agent = agent_get_for_principal(request.user, agent_id, purpose="act")
        data = TokenNameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            token, raw = services.agent_token_rotate(
                actor=request.user, agent=agent, name=data.validated_data["name"]
            )
        return _issued(token, raw)


class TokenRevokeView(APIView):
    @extend_schema(request=None, responses=TokenSerializer, summary="Revoke a token (its owner or admins)")
    def post(self, request, token_id: int):
        token = token_get_for_principal(request.user, token_id)
        token = services.token_revoke(actor=request.user, token=token)
        return Response(TokenSerializer(token).data)


def token_get_for_principal(principal, token_id) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id).first()
    own_agent = principal_agent_id(principal)
    allowed = token is not None and (
        principal_is_admin(principal)
        or (own_agent is not None and token.agent_id == own_agent)
        or (own_agent is None and token.user_id is not None and token.user_id == principal.pk)
    )
    if not allowed:
        raise Http404("No such token.")
    return token
