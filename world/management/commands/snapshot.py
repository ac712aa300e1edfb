"""`manage.py snapshot create|list|restore|delete` — world snapshots."""

from django.core.management.base import BaseCommand, CommandError

from village.replay import ReplayError, snapshot_now, snapshot_restore
from world.models import Snapshot, World


class Command(BaseCommand):
    help = "Create, list, restore or delete world snapshots."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list", "restore", "delete"])
        parser.add_argument("snapshot_id", nargs="?", type=int)
        parser.add_argument("--world", default="")
        parser.add_argument("--label", default="manual")

    def handle(self, *args, **opts):
        world = (
            World.objects.filter(name=opts["world"]).first()
            if opts["world"]
            else World.objects.order_by("id").first()
        )
        if world is None:
            raise CommandError("no world: run world_init first")
        action = opts["action"]
        if action == "create":
            snap = snapshot_now(world=world, label=opts["label"])
            self.stdout.write(f"snapshot {snap.id} tick {snap.tick} digest {snap.digest}")
        elif action == "list":
            for snap in Snapshot.objects.filter(world=world).order_by("tick", "id"):
                self.stdout.write(
                    f"{snap.id}\ttick {snap.tick}\tday {snap.day}\t{snap.label}\t{snap.digest[:16]}"
                )
        else:
            snap = self._get(world, opts["snapshot_id"])
            if action == "delete":
                snap.delete()
                self.stdout.write(f"deleted snapshot {opts['snapshot_id']}")
            else:
                try:
                    digest = snapshot_restore(snapshot=snap)
                except ReplayError as exc:
                    raise CommandError(str(exc)) from None
                self.stdout.write(f"restored snapshot {snap.id}: tick {snap.tick} state digest {digest}")

    def _get(self, world, snapshot_id):
        if snapshot_id is None:
            raise CommandError("snapshot id required")
        snap = Snapshot.objects.filter(world=world, pk=snapshot_id).first()
        if snap is None:
            raise CommandError(f"unknown snapshot {snapshot_id}")
        return snap
