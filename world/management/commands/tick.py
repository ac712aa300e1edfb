"""`manage.py tick [--world ID] [--count N]` — the periodic tick by hand.

Without `--world` it does what beat's `world_tick_due` does, inline: every running world whose
next tick is due advances once. With `--world` that world advances N ticks now, running or not."""

from django.core.management.base import BaseCommand, CommandError

from world.models import World
from world.tasks import ticks_advance_due, world_tick_run


class Command(BaseCommand):
    help = "Advance due worlds once (like the beat task), or one world N ticks."

    def add_arguments(self, parser):
        parser.add_argument("--world", type=int, default=None, help="World id to advance, due or not.")
        parser.add_argument("--count", type=int, default=1)

    def handle(self, *args, **opts):
        if opts["count"] < 1:
            raise CommandError("--count must be at least 1")
        if opts["world"] is None:
            ran = sum(ticks_advance_due() for _ in range(opts["count"]))
            self.stdout.write(f"{ran} tick(s) ran")
            return
        if not World.objects.filter(pk=opts["world"]).exists():
            raise CommandError(f"no world with id {opts['world']}")
        for _ in range(opts["count"]):
            out = world_tick_run(world_id=opts["world"])
            self.stdout.write(
                f"world {opts['world']} tick {out.tick}: {len(out.events)} events" if out else "skipped"
            )
