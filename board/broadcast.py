"""Sends board activity to the world's board group (`board.<world_id>`). The board's services
call `broadcast_board` after their transaction commits (`transaction.on_commit`)."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger("village.broadcast")


def board_group(world_id: int) -> str:
    return f"board.{world_id}"


def broadcast_board(world_id: int, payload: dict) -> None:
    """One `board.update` message; browsers receive `{"type": "board", **payload}`."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(board_group(world_id), {"type": "board.update", "payload": payload})
    except Exception:  # the post is saved either way; a dead channel layer only costs liveness
        log.exception("board broadcast for world %s failed", world_id)
