"""Websocket routes: the live map and the board."""

from django.urls import path

from board.consumers import BoardConsumer
from world.consumers import WorldConsumer

websocket_urlpatterns = [
    path("ws/world/", WorldConsumer.as_asgi()),
    path("ws/board/", BoardConsumer.as_asgi()),
]
