"""Agents API: read an agent (with what other apps add, e.g. balance and tier), and ask it to move
or do an activity. Commands are queued as world inputs and applied at the next tick."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.api.access import ACT, agent_get_for_principal, principal_agent_id
from agents.api.extensions import agent_detail_extras
from world.models import Activity, Location
from world.services import input_submit


class AgentDetailView(APIView):
    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AgentDetailOutput"

        id = serializers.IntegerField()
        world_id = serializers.IntegerField()
        name = serializers.CharField()
        bio = serializers.CharField()
        job = serializers.CharField()
        traits = serializers.ListField()
        x = serializers.IntegerField()
        y = serializers.IntegerField()
        needs = serializers.DictField(child=serializers.FloatField())
        home = serializers.CharField(source="home.name")
        workplace = serializers.CharField(source="workplace.name", allow_null=True, default=None)
        is_active = serializers.BooleanField()
        quarantined = serializers.BooleanField()
        balance = serializers.IntegerField(required=False, help_text="aiDollar cents")
        balance_display = serializers.CharField(required=False)
        tier = serializers.CharField(required=False)
        requests_per_hour = serializers.IntegerField(required=False)
        tokens_per_day = serializers.IntegerField(required=False)
        models = serializers.ListField(child=serializers.CharField(), required=False)
        frozen = serializers.BooleanField(required=False)

    @extend_schema(responses=OutputSerializer, summary="An agent, with its balance and compute tier")
    def get(self, request, agent_id: int):
        agent = agent_get_for_principal(request.user, agent_id)
        body = {**self.OutputSerializer(agent).data, **agent_detail_extras(agent)}
        return Response(body)


class QueuedSerializer(serializers.Serializer):
    input_id = serializers.IntegerField()
    kind = serializers.CharField()
    applies_at_tick = serializers.IntegerField()


def _queued(row, world) -> Response:
    body = {"input_id": row.id, "kind": row.kind, "applies_at_tick": world.tick}
    return Response(QueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


def _by(principal) -> str:
    return (
        f"agent:{principal_agent_id(principal)}" if principal_agent_id(principal) else f"user:{principal.pk}"
    )


class AgentMoveView(APIView):
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AgentMoveInput"

        location = serializers.CharField(max_length=80, help_text="A place name from GET /api/world.")

    @extend_schema(
        request=InputSerializer,
        responses={202: QueuedSerializer},
        summary="Walk to a place (the agent itself or admins); applied at the next tick",
    )
    def post(self, request, agent_id: int):
        agent = agent_get_for_principal(request.user, agent_id, purpose=ACT)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        name = data.validated_data["location"]
        if not Location.objects.filter(world_id=agent.world_id, name=name).exists():
            raise serializers.ValidationError({"location": ["No such place in this world."]})
        row = input_submit(
            world=agent.world,
            kind="agent.move",
            payload={"agent_id": agent.id, "location": name, "by": _by(request.user)},
            source=f"api:{_by(request.user)}",
        )
        return _queued(row, agent.world)


class AgentActionView(APIView):
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AgentActionInput"

        activity = serializers.CharField(max_length=80, help_text="An activity name of this world.")

    @extend_schema(
        request=InputSerializer,
        responses={202: QueuedSerializer},
        summary="Start an activity where the agent is (the agent itself or admins)",
    )
    def post(self, request, agent_id: int):
        agent = agent_get_for_principal(request.user, agent_id, purpose=ACT)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        name = data.validated_data["activity"]
        if not Activity.objects.filter(world_id=agent.world_id, name=name).exists():
            raise serializers.ValidationError({"activity": ["No such activity in this world."]})
        row = input_submit(
            world=agent.world,
            kind="agent.action",
            payload={"agent_id": agent.id, "activity": name},
            source=f"api:{_by(request.user)}",
        )
        return _queued(row, agent.world)
