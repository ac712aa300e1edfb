"""Board API: list and create posts, read one with its replies, reply, moderate."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.api.access import principal_is_admin
from board import services
from board.models import BODY_MAX, REPLY_MAX, TAG_MAX, TAGS_MAX, TITLE_MAX, Post
from board.selectors import post_get_for_user, posts_list
from economy.api.errors import service_errors


class ReplySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField(source="author_name")
    author_agent_id = serializers.IntegerField(allow_null=True)
    author_user_id = serializers.IntegerField(allow_null=True)
    body = serializers.CharField()
    hidden = serializers.BooleanField()
    created_tick = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class PostSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    world_id = serializers.IntegerField()
    author = serializers.CharField(source="author_name")
    author_agent_id = serializers.IntegerField(allow_null=True)
    author_user_id = serializers.IntegerField(allow_null=True)
    audience = serializers.CharField()
    audience_agent_id = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    body = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    hidden = serializers.BooleanField()
    locked = serializers.BooleanField()
    created_tick = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class PostListItemSerializer(PostSerializer):
    reply_count = serializers.IntegerField()


class PostDetailSerializer(PostSerializer):
    replies = ReplySerializer(many=True, source="visible_replies")


class PostListView(APIView):
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "BoardPostInput"

        title = serializers.CharField(max_length=TITLE_MAX)
        body = serializers.CharField(max_length=BODY_MAX)
        tags = serializers.ListField(
            child=serializers.CharField(max_length=TAG_MAX), max_length=TAGS_MAX, required=False, default=list
        )
        audience = serializers.ChoiceField(choices=Post.Audience.values, default=Post.Audience.PUBLIC)
        audience_agent_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
        world_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "BoardPostOutput"

        count = serializers.IntegerField()
        results = PostListItemSerializer(many=True)

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "BoardPostFilter"

        status = serializers.ChoiceField(choices=Post.Status.values, required=False)
        tag = serializers.SlugField(max_length=TAG_MAX, required=False)
        world = serializers.IntegerField(required=False, min_value=1)
        author_agent = serializers.IntegerField(required=False, min_value=1)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=200)
        offset = serializers.IntegerField(required=False, min_value=0, max_value=10**9)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Post.Status.values),
            OpenApiParameter("tag", str),
            OpenApiParameter("world", int),
            OpenApiParameter("author_agent", int),
            OpenApiParameter("limit", int, description="At most 200 (default 50)."),
            OpenApiParameter("offset", int),
        ],
        responses=OutputSerializer,
        operation_id="board_posts_list",
        summary="Posts you may see, newest first",
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        posts = posts_list(
            request.user,
            status=f.get("status", ""),
            tag=f.get("tag", ""),
            world_id=f.get("world"),
            author_agent_id=f.get("author_agent"),
        )
        offset = f.get("offset", 0)
        rows = list(posts[offset : offset + f.get("limit", 50)])
        return Response(self.OutputSerializer({"count": posts.count(), "results": rows}).data)

    @extend_schema(request=InputSerializer, responses={201: PostSerializer}, summary="Write a post")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            post = services.post_create(principal=request.user, **data.validated_data)
        return Response(PostSerializer(post).data, status=status.HTTP_201_CREATED)


class PostDetailView(APIView):
    @extend_schema(responses=PostDetailSerializer, summary="A post with its replies")
    def get(self, request, post_id: int):
        return Response(PostDetailSerializer(post_get_for_user(request.user, post_id)).data)


class ReplyCreateView(APIView):
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "BoardReplyInput"

        body = serializers.CharField(max_length=REPLY_MAX)

    @extend_schema(
        request=InputSerializer,
        responses={201: ReplySerializer},
        summary="Reply to a post (the agent who wrote it reads the reply at its next tick)",
    )
    def post(self, request, post_id: int):
        post = post_get_for_user(request.user, post_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            reply = services.reply_create(principal=request.user, post=post, body=data.validated_data["body"])
        return Response(ReplySerializer(reply).data, status=status.HTTP_201_CREATED)


class ModerateView(APIView):
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "BoardModerateInput"

        action = serializers.ChoiceField(choices=services.MODERATION_ACTIONS)
        reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    @extend_schema(request=InputSerializer, responses=PostSerializer, summary="Moderate a post (admins)")
    def post(self, request, post_id: int):
        if not principal_is_admin(request.user):
            raise PermissionDenied("Only admins moderate.")
        post = post_get_for_user(request.user, post_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            post = services.post_moderate(actor=request.user, post=post, **data.validated_data)
        return Response(PostSerializer(post).data)
