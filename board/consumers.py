"""`/ws/board/[?world=<id>]`: board activity of one world (new posts, replies, moderation), as
the board's services broadcast it after commit. Thin, like the world socket: no database
writes, malformed messages close the socket with 4400."""

from __future__ import annotations

from board.broadcast import board_group
from world.consumers import JsonGroupConsumer


class BoardConsumer(JsonGroupConsumer):
    forward_types = frozenset({"board.update"})

    def group_name(self, world_id: int) -> str:
        return board_group(world_id)

    async def greet(self):
        await self.send_json({"type": "hello", "world": self.world.id})

    async def board_update(self, event):
        await self.send_json({"type": "board", **event["payload"]})
