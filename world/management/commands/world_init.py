"""`manage.py world_init [--scenario PATH] [--reset]` — load a scenario file (or generate one)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from village.loading import world_create_from_scenario
from world.generate import GenerateError, generate_scenario, parse_size
from world.scenario import ScenarioError, ScenarioSpec, check_integrity, load_scenario


class Command(BaseCommand):
    help = "Load a scenario (tile map, places, activities, agents) into a new world."

    def add_arguments(self, parser):
        parser.add_argument("--scenario", default=settings.VILLAGE_SCENARIO)
        parser.add_argument("--reset", action="store_true", help="Replace a world of the same name.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--generate", action="store_true", help="Generate a town instead.")
        parser.add_argument("--agents", type=int, default=100)
        parser.add_argument("--size", default="200x200")
        parser.add_argument("--name", default="")

    def handle(self, *args, **opts):
        try:
            spec = self._spec(opts)
            world = world_create_from_scenario(spec=spec, reset=opts["reset"], seed=opts["seed"])
        except (ScenarioError, GenerateError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"world {world.id} {world.name!r}: {world.locations.count()} locations, "
            f"{world.activities.count()} activities, {world.agents.count()} agents"
        )

    def _spec(self, opts) -> ScenarioSpec:
        if not opts["generate"]:
            return load_scenario(opts["scenario"])
        if opts["agents"] < 1:
            raise GenerateError("--agents must be at least 1")
        width, height = parse_size(opts["size"])
        name = opts["name"] or f"Generated {opts['agents']}"
        data = generate_scenario(
            agents=opts["agents"], width=width, height=height, seed=opts["seed"], name=name
        )
        spec = ScenarioSpec.model_validate(data)
        check_integrity(spec, "(generated)")
        return spec
