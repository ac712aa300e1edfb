"""`manage.py runvillage [addr:port]` — the embedded default: one process that serves the web
app and its websockets (Daphne, village.asgi) and advances ticks on a timer through the same
function the Celery beat task uses (`world.tasks.ticks_advance_due`).

On a fresh database it loads the default scenario, sets the world running and creates an
`admin` user whose password is printed once (or taken from VILLAGE_ADMIN_PASSWORD).
`--setup-only` does just that and exits (`make up` uses it before starting the production stack).

The timer is an asyncio task on Daphne's own event loop; each tick runs in a worker thread
(`database_sync_to_async`, which also closes stale connections), so web requests keep flowing
and the after-commit broadcast reaches the in-memory channel layer on the loop that owns it."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import socket
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from world.models import World
from world.services import world_set_status
from world.tasks import ticks_advance_due

log = logging.getLogger("village.ticks")
ADDRPORT = re.compile(r"^(?:(?P<addr>[\w.:\-\[\]]+):)?(?P<port>\d+)$")


class Command(BaseCommand):
    help = "Serve the live village (HTTP + websockets) and advance its ticks, in one process."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-tick", action="store_true", help="Serve only; something else ticks.")
        parser.add_argument(
            "--setup-only",
            action="store_true",
            help="Prepare the database (migrations, the default scenario running, an operator login) "
            "and exit; `make up` runs this before it starts the production stack.",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=min(settings.VILLAGE_BEAT_SECONDS, 0.5),
            help="Seconds between checks for due ticks (each world keeps its own speed).",
        )

    def handle(self, *args, **opts):
        addr, port = self._addrport(opts["addrport"])
        if not opts["setup_only"]:
            self._port_free(addr, port)
        self._migrate_if_needed()
        world = self._world_ready()
        self._admin_ready()
        self.stdout.write(f"world {world.id} {world.name!r} is {world.status}, a tick every {world.tick_seconds} s")
        if opts["setup_only"]:
            return
        self.stdout.write(f"the village is live at http://{addr}:{port}/  (admin: http://{addr}:{port}/admin/)")
        self._serve(addr, port, None if opts["no_tick"] else opts["interval"])

    # --- first run ------------------------------------------------------------------------

    def _addrport(self, value: str) -> tuple[str, int]:
        match = ADDRPORT.match(value)
        if match is None:
            raise CommandError(f"{value!r} is not addr:port or port")
        return (match["addr"] or "127.0.0.1").strip("[]"), int(match["port"])

    def _migrate_if_needed(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            self.stdout.write("applying migrations…")
            call_command("migrate", interactive=False, verbosity=0)

    def _world_ready(self) -> World:
        world = World.objects.order_by("id").first()
        if world is not None:
            return world
        from village.loading import world_create_from_scenario
        from world.scenario import load_scenario

        world = world_create_from_scenario(spec=load_scenario(settings.VILLAGE_SCENARIO))
        world.tick_seconds = settings.VILLAGE_TICK_SECONDS
        world.save(update_fields=["tick_seconds"])
        self.stdout.write(f"loaded the scenario {settings.VILLAGE_SCENARIO}")
        return world_set_status(world=world, status=World.Status.RUNNING)

    def _admin_ready(self) -> None:
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return
        password = os.environ.get("VILLAGE_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        users.objects.create_superuser("admin", "admin@village.local", password)
        shown = "(from VILLAGE_ADMIN_PASSWORD)" if os.environ.get("VILLAGE_ADMIN_PASSWORD") else password
        self.stdout.write(f"created the operator login  admin / {shown}  — shown once, keep it")

    # --- serving --------------------------------------------------------------------------

    def _serve(self, addr: str, port: int, interval: float | None) -> None:
        from channels.routing import get_default_application
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server  # installs Twisted's asyncio reactor; import it first
        from twisted.internet import reactor

        if interval is not None:
            reactor.callLater(0, lambda: asyncio.ensure_future(tick_timer(interval)))
        self.stdout.flush()
        Server(
            application=get_default_application(),
            endpoints=build_endpoint_description_strings(host=addr, port=port),
            signal_handlers=True,
        ).run()
        # Daphne has stopped (Ctrl-C, SIGTERM). The embedded LLM thread may be in the middle of a
        # model call with more jobs queued, and the interpreter's exit would wait for all of them
        # (minutes on a CPU). Their results are inputs for ticks that will not run now; every
        # tick is committed, so leave at once. The next run plans afresh.
        self.stdout.write("the village has stopped")
        self.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(0)

    def _port_free(self, addr: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((addr, port))
            except OSError as exc:
                raise CommandError(f"cannot listen on {addr}:{port}: {exc.strerror}") from None


async def tick_timer(interval: float) -> None:
    from channels.db import database_sync_to_async

    # Not thread-sensitive: a tick must not wait behind (or hold up) Django's request thread.
    advance = database_sync_to_async(ticks_advance_due, thread_sensitive=False)
    while True:
        try:
            await advance()
        except Exception:  # a failing tick is logged; the timer and the web app go on
            log.exception("tick timer")
        await asyncio.sleep(interval)
