"""`/ws/world/[?world=<id>]`: a full snapshot on connect, then one frame per committed tick.

The consumer is thin: it picks the world through the same access helper as the pages, joins
`world.<id>`, forwards the frames `world.broadcast` sends, and never writes to the database.
Clients may send `{"type": "ping"}` (answered with a pong); other well-formed messages are
ignored, and anything that is not a small JSON object closes the socket with code 4400. None of
this touches the ticks."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from world.broadcast import world_group
from world.selectors import world_get_for_viewer, world_snapshot

CLOSE_BAD_REQUEST = 4400
CLOSE_NOT_FOUND = 4404
MAX_MESSAGE = 4096


class BadQuery(ValueError):
    pass


def query_world_id(scope) -> int | None:
    """The `world` query parameter as an id, None when absent; BadQuery when it is not one."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("world")
    if not values or values[0] == "":
        return None
    try:
        value = int(values[0])
    except ValueError:
        raise BadQuery(values[0]) from None
    if value < 1:
        raise BadQuery(values[0])
    return value


_world_get = database_sync_to_async(lambda world_id: world_get_for_viewer(world_id=world_id))


@database_sync_to_async
def _snapshot(world):
    world.refresh_from_db()
    return world_snapshot(world=world)


class JsonGroupConsumer(AsyncJsonWebsocketConsumer):
    """Shared shape of the live sockets: resolve the world, join one group, accept, greet."""

    # Group messages whose handlers only forward text and never touch the database.
    forward_types: frozenset[str] = frozenset()

    async def dispatch(self, message):
        # Channels runs close_old_connections in Django's one sync thread before every handler.
        # Taken by every socket for every broadcast, that hop queues all of a tick's sockets
        # behind one thread; forwarding handlers need no database, so they skip it.
        if message.get("type") in self.forward_types:
            await getattr(self, message["type"].replace(".", "_"))(message)
            return
        await super().dispatch(message)

    def group_name(self, world_id: int) -> str:
        raise NotImplementedError

    async def connect(self):
        try:
            world_id = query_world_id(self.scope)
        except BadQuery:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        self.world = await _world_get(world_id)
        if self.world is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        group = self.group_name(self.world.id)
        # Join before building the greeting, so no frame committed meanwhile is missed; frames
        # that the greeting already covers are recognised by their tick number in the browser.
        self.groups = [group]
        await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.greet()

    async def greet(self):
        pass

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None or len(text_data) > MAX_MESSAGE:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        if not isinstance(content, dict):
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        # Any other message type is ignored: the socket is for watching, not for commands.


class WorldConsumer(JsonGroupConsumer):
    forward_types = frozenset({"world.tick"})

    def group_name(self, world_id: int) -> str:
        return world_group(world_id)

    async def greet(self):
        await self.send_json(await _snapshot(self.world))

    async def world_tick(self, event):
        await self.send(text_data=event["text"])
