"""The live sockets through channels' WebsocketCommunicator, on whatever channel layer the
settings pick: channels_redis when REDIS_URL is set (as in CI), else the in-memory layer."""

import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from agents.models import Agent
from board.broadcast import broadcast_board
from village.routing import websocket_urlpatterns
from village.tick import tick_advance

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _own_channel_layer(settings):
    """A channel layer (and, on Redis, a key prefix) of our own, so parallel runs never share groups."""
    layers = dict(settings.CHANNEL_LAYERS)
    default = dict(layers["default"])
    if "redis" in default["BACKEND"]:
        default["CONFIG"] = {**default.get("CONFIG", {}), "prefix": f"test-{uuid.uuid4().hex[:8]}"}
    settings.CHANNEL_LAYERS = {"default": default}
    settings.VILLAGE_LLM_DISPATCH = "off"  # no model jobs outliving a test
    yield


def application():
    from channels.routing import URLRouter

    return URLRouter(websocket_urlpatterns)


async def connect(path):
    communicator = WebsocketCommunicator(application(), path)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


# On a worker thread, as a tick worker runs; database_sync_to_async closes that thread's connection
# afterwards, or it would outlive the test database.
step = database_sync_to_async(
    lambda world_id: tick_advance(world_id=world_id, dispatch_jobs=False), thread_sensitive=False
)


async def test_it_sends_a_full_snapshot_on_connect(world):
    ws, connected, _ = await connect(f"/ws/world/?world={world.id}")
    assert connected
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    assert snapshot["tick"] == -1 and snapshot["clock"] == "day 1 08:00"
    assert len(snapshot["agents"]) == 8
    assert {"id", "x", "y", "activity", "icon", "location", "name"} <= set(snapshot["agents"][0])
    assert snapshot["world"]["width"] == world.width and snapshot["locations"]
    await ws.disconnect()


async def test_the_first_world_is_the_default(world):
    ws, connected, _ = await connect("/ws/world/")
    assert connected
    assert (await ws.receive_json_from(timeout=5))["world"]["id"] == world.id
    await ws.disconnect()


async def test_a_committed_tick_sends_exactly_one_frame(world):
    ws, _, _ = await connect(f"/ws/world/?world={world.id}")
    await ws.receive_json_from(timeout=5)
    out = await step(world.id)
    frame = await ws.receive_json_from(timeout=5)
    assert await ws.receive_nothing(timeout=0.5)
    assert frame["type"] == "tick" and frame["tick"] == out.tick == 0
    assert frame["clock"] == "day 1 08:00" and frame["full"] is True
    rows = await sync_to_async(lambda: {a.id: (a.x, a.y) for a in Agent.objects.filter(world=world)})()
    assert {a["id"]: (a["x"], a["y"]) for a in frame["agents"]} == rows
    assert frame["events_total"] == len(out.events)
    await ws.disconnect()


async def test_a_tick_task_delivered_twice_sends_one_frame(world):
    from world.tasks import world_tick_run

    ws, _, _ = await connect(f"/ws/world/?world={world.id}")
    await ws.receive_json_from(timeout=5)
    run = database_sync_to_async(lambda: world_tick_run(world_id=world.id, tick=0), thread_sensitive=False)
    assert (await run()).tick == 0
    assert await run() is None  # the world has moved on: the duplicate does nothing
    assert (await ws.receive_json_from(timeout=5))["tick"] == 0
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_later_frames_carry_speech_and_changed_agents_only(world):
    ws, _, _ = await connect(f"/ws/world/?world={world.id}")
    await ws.receive_json_from(timeout=5)
    frames = []
    for _ in range(8):
        await step(world.id)
        frames.append(await ws.receive_json_from(timeout=5))
    assert [f["tick"] for f in frames] == list(range(8))
    assert any(not f["full"] and len(f["agents"]) < 8 for f in frames[1:])
    whole = {"id", "x", "y", "activity", "icon", "category", "location"}
    for f in frames[1:]:
        for entry in f["agents"]:
            assert set(entry) == whole, entry  # all but the name
        # Walkers that only moved: (id, x, y) triples of agents no entry names.
        walkers = f["walkers"]
        assert len(walkers) % 3 == 0 and all(isinstance(v, int) for v in walkers)
        assert not {a["id"] for a in f["agents"]} & set(walkers[::3])
    assert any(f["walkers"] for f in frames[1:]), "some agents walked on without an event"
    for f in frames:
        for said in f["speech"]:
            assert isinstance(said["agent"], int) and said["text"]
    await ws.disconnect()


async def test_a_client_merging_frames_sees_the_agents_rows(world):
    """Folding every frame into the snapshot, as the map does, gives each agent its tile."""
    ws, _, _ = await connect(f"/ws/world/?world={world.id}")
    live = {a["id"]: a for a in (await ws.receive_json_from(timeout=5))["agents"]}
    for _ in range(8):
        await step(world.id)
        frame = await ws.receive_json_from(timeout=5)
        for a in frame["agents"]:
            live[a["id"]] = {**live.get(a["id"], {}), **a}
        w = frame["walkers"]
        for agent_id, x, y in zip(w[::3], w[1::3], w[2::3], strict=True):
            live[agent_id] = {**live[agent_id], "x": x, "y": y}
        rows = await sync_to_async(lambda: {a.id: (a.x, a.y) for a in Agent.objects.filter(world=world)})()
        assert {i: (a["x"], a["y"]) for i, a in live.items()} == rows, frame["tick"]
    await ws.disconnect()


async def test_a_malformed_message_closes_that_socket_with_4400_and_ticks_go_on(world):
    bad, _, _ = await connect(f"/ws/world/?world={world.id}")
    good, _, _ = await connect(f"/ws/world/?world={world.id}")
    await bad.receive_json_from(timeout=5)
    await good.receive_json_from(timeout=5)
    await bad.send_to(text_data="{not json")
    closed = await bad.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4400}
    await step(world.id)
    assert (await good.receive_json_from(timeout=5))["tick"] == 0
    await good.disconnect()


@pytest.mark.parametrize("message", ["[1, 2]", '"ping"', "x" * 5000])
async def test_non_object_or_oversized_messages_close_with_4400(world, message):
    ws, _, _ = await connect(f"/ws/world/?world={world.id}")
    await ws.receive_json_from(timeout=5)
    await ws.send_to(text_data=message)
    assert (await ws.receive_output(timeout=5))["code"] == 4400


async def test_binary_messages_close_with_4400(world):
    ws, _, _ = await connect(f"/ws/world/?world={world.id}")
    await ws.receive_json_from(timeout=5)
    await ws.send_to(bytes_data=b"\x00\x01")
    assert (await ws.receive_output(timeout=5))["code"] == 4400


async def test_unknown_message_types_are_ignored_and_ping_is_answered(world):
    ws, _, _ = await connect(f"/ws/world/?world={world.id}")
    await ws.receive_json_from(timeout=5)
    await ws.send_json_to({"type": "world.pause"})
    assert await ws.receive_nothing(timeout=0.3)
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from(timeout=5) == {"type": "pong"}
    await ws.disconnect()


async def test_a_missing_world_is_refused_with_4404(world):
    _, connected, code = await connect(f"/ws/world/?world={world.id + 100}")
    assert not connected and code == 4404


async def test_a_malformed_world_parameter_is_refused_with_4400(world):
    _, connected, code = await connect("/ws/world/?world=abc")
    assert not connected and code == 4400


async def test_the_frame_goes_to_the_world_group_in_one_message(world):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(f"world.{world.id}", channel)
    await step(world.id)
    message = await layer.receive(channel)
    assert message["type"] == "world.tick"
    assert json.loads(message["text"])["tick"] == 0
    await layer.group_discard(f"world.{world.id}", channel)


async def test_the_board_socket_forwards_board_updates(world):
    ws, connected, _ = await connect(f"/ws/board/?world={world.id}")
    assert connected
    assert await ws.receive_json_from(timeout=5) == {"type": "hello", "world": world.id}
    await sync_to_async(broadcast_board)(world.id, {"event": "post.created", "post": 7, "title": "<b>hi</b>"})
    assert await ws.receive_json_from(timeout=5) == {
        "type": "board",
        "event": "post.created",
        "post": 7,
        "title": "<b>hi</b>",
    }
    await ws.disconnect()


async def test_the_sockets_ride_on_channels_redis_when_redis_url_is_set(world):
    import os

    expected = "RedisChannelLayer" if os.environ.get("REDIS_URL") else "InMemoryChannelLayer"
    assert type(get_channel_layer()).__name__ == expected


async def test_the_redis_layer_reads_longer_than_its_blocking_pop_waits(world):
    layer = get_channel_layer()
    if not hasattr(layer, "brpop_timeout"):
        pytest.skip("not on channels_redis")
    timeout = layer.create_pool(0).connection_kwargs.get("socket_timeout")
    assert timeout is None or timeout > layer.brpop_timeout  # else idle sockets die (channels_redis#422)
