"""`manage.py seed_agent --name Ava --bio Designer --interests "coffee:0.8" --family '{"spouse":"Ben"}'`"""

import json

from django.core.management.base import BaseCommand, CommandError
from pydantic import ValidationError

from village.loading import agents_create
from world.models import World
from world.scenario import AgentSpec


def parse_interests(text: str) -> dict[str, float]:
    interests = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, weight = part.partition(":")
        if not name.strip():
            raise CommandError(f"--interests: {part!r} needs a name before the colon")
        try:
            interests[name.strip()] = float(weight) if sep else 0.5
        except ValueError:
            raise CommandError(f"--interests: {part!r} must look like name:0.8") from None
    return interests


class Command(BaseCommand):
    help = "Add one agent to a world."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--bio", default="")
        parser.add_argument("--interests", default="")
        parser.add_argument("--family", default="{}")
        parser.add_argument("--traits", default="")
        parser.add_argument("--job", default="")
        parser.add_argument("--home", default="", help="Location name (default: a home with room).")
        parser.add_argument("--workplace", default=None)
        parser.add_argument("--world", default="", help="World name (default: the only/first world).")

    def handle(self, *args, **opts):
        world = (
            World.objects.filter(name=opts["world"]).first()
            if opts["world"]
            else World.objects.order_by("id").first()
        )
        if world is None:
            raise CommandError(
                "no world: run world_init first" if not opts["world"] else f"unknown world {opts['world']!r}"
            )
        try:
            family = json.loads(opts["family"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--family: not valid JSON ({exc.msg})") from None
        if not isinstance(family, dict):
            raise CommandError('--family: must be a JSON object like {"spouse": "Ben"}')
        locations = {loc.name: loc for loc in world.locations.order_by("order", "id")}
        home = opts["home"] or self._free_home(world, locations)
        if home not in locations:
            raise CommandError(f"--home: unknown location {home!r}")
        if locations[home].kind != "home":
            raise CommandError(f"--home: {home!r} is a {locations[home].kind}, not a home")
        if locations[home].residents.count() >= locations[home].capacity:
            raise CommandError(f"--home: {home!r} is full (capacity {locations[home].capacity})")
        if opts["workplace"] and opts["workplace"] not in locations:
            raise CommandError(f"--workplace: unknown location {opts['workplace']!r}")
        names = set(world.agents.values_list("name", flat=True))
        if opts["name"] in names:
            raise CommandError(f"--name: agent {opts['name']!r} already exists")
        for relation, other in family.items():
            if other not in names:
                raise CommandError(f"--family: {relation} {other!r} is not an agent in {world.name!r}")
        try:
            spec = AgentSpec(
                name=opts["name"],
                bio=opts["bio"],
                interests=parse_interests(opts["interests"]),
                family=family,
                traits=[t for t in opts["traits"].split(",") if t],
                job=opts["job"],
                home=home,
                workplace=opts["workplace"],
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            raise CommandError(f"--{first['loc'][0]}: {first['msg']}") from None
        agent = agents_create(world=world, specs=[spec], locations=locations, start_order=len(names))[0]
        self.stdout.write(f"agent {agent.id} {agent.name!r} lives at {home}")

    def _free_home(self, world, locations) -> str:
        for loc in locations.values():
            if loc.kind == "home" and loc.residents.count() < loc.capacity:
                return loc.name
        raise CommandError("no home has room; pass --home")
