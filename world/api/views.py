"""World API: the snapshot an agent perceives (map, places, agents where they are now)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from world.models import World
from world.selectors import agents_overlay_live


class WorldLocationSerializer(serializers.Serializer):
    class Meta:
        ref_name = "WorldLocation"

    name = serializers.CharField()
    kind = serializers.CharField()
    area = serializers.ListField(child=serializers.IntegerField())
    capacity = serializers.IntegerField()
    open_hour = serializers.IntegerField()
    close_hour = serializers.IntegerField()


class WorldAgentSerializer(serializers.Serializer):
    class Meta:
        ref_name = "WorldAgent"

    id = serializers.IntegerField()
    name = serializers.CharField()
    job = serializers.CharField()
    x = serializers.IntegerField()
    y = serializers.IntegerField()
    is_active = serializers.BooleanField()
    quarantined = serializers.BooleanField()


class WorldView(APIView):
    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WorldOutput"

        id = serializers.IntegerField()
        name = serializers.CharField()
        description = serializers.CharField()
        status = serializers.CharField()
        tick = serializers.IntegerField()
        tick_minutes = serializers.IntegerField()
        start_hour = serializers.IntegerField()
        end_hour = serializers.IntegerField()
        width = serializers.IntegerField()
        height = serializers.IntegerField()
        map_rows = serializers.ListField(child=serializers.CharField())
        legend = serializers.DictField()
        locations = serializers.SerializerMethodField()
        agents = serializers.SerializerMethodField()

        @extend_schema_field(WorldLocationSerializer(many=True))
        def get_locations(self, world):
            return WorldLocationSerializer(world.locations.all(), many=True).data

        @extend_schema_field(WorldAgentSerializer(many=True))
        def get_agents(self, world):
            agents = list(world.agents.only("id", "name", "job", "x", "y", "is_active", "quarantined"))
            return WorldAgentSerializer(agents_overlay_live(world, agents), many=True).data

    @extend_schema(
        parameters=[OpenApiParameter("world", int, description="Defaults to the first world.")],
        responses=OutputSerializer,
        summary="The world: map, places and agents",
    )
    def get(self, request):
        world = world_get(request.query_params.get("world"))
        return Response(self.OutputSerializer(world).data)


def world_get(world_id) -> World:
    if world_id in (None, ""):
        world = World.objects.order_by("id").first()
    else:
        try:
            world = World.objects.filter(pk=int(world_id)).first()
        except (TypeError, ValueError):
            raise serializers.ValidationError({"world": ["A whole number is required."]}) from None
    if world is None:
        raise Http404("No such world.")
    return world
