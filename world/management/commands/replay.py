"""`manage.py replay --day N` — recompute a day from its snapshot and input log; exit 1 on divergence."""

from django.core.management.base import BaseCommand, CommandError

from village.replay import ReplayError, replay_day
from world.models import World


class Command(BaseCommand):
    help = "Recompute a simulated day without calling any model and compare digests."

    def add_arguments(self, parser):
        parser.add_argument("--day", type=int, required=True)
        parser.add_argument("--world", default="")

    def handle(self, *args, **opts):
        world = (
            World.objects.filter(name=opts["world"]).first()
            if opts["world"]
            else World.objects.order_by("id").first()
        )
        if world is None:
            raise CommandError("no world: run world_init first")
        try:
            result = replay_day(world=world, day=opts["day"])
        except ReplayError as exc:
            raise CommandError(str(exc)) from None
        if result.matches:
            self.stdout.write(f"replay day {result.day} digest {result.digest} matches")
            return
        where = (
            f"tick {result.diverged_at}: {result.detail}" if result.diverged_at is not None else "day digest"
        )
        raise CommandError(
            f"replay day {result.day} diverged at {where} (expected {result.expected}, got {result.digest})"
        )
