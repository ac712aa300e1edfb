"""`manage.py simulate --days N ...` — a bounded run that prints `day <n> digest <hex>` per day."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from village.simulate import RunConfig, SimulateError, simulate_run
from world.engine.clock import ClockError
from world.models import World
from world.scenario import ScenarioError


class Command(BaseCommand):
    help = "Simulate whole days of a world and write daily reports."

    def add_arguments(self, parser):
        parser.add_argument("--world", default="", help="World name (default: the first world).")
        parser.add_argument("--days", type=int, default=1)
        parser.add_argument("--agents", type=int, default=None, help="Simulate only the first K agents.")
        parser.add_argument("--tick-minutes", type=int, default=None)
        parser.add_argument("--start-hour", type=int, default=None)
        parser.add_argument("--end-hour", type=int, default=None)
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--dry-run", action="store_true", help="Scripted text; no model is called.")
        parser.add_argument("--llm", choices=["scripted", "local", "openai"], default=None)
        parser.add_argument("--scripted-events", default=None)
        parser.add_argument("--max-concurrent-chats", type=int, default=None)
        parser.add_argument("--report-format", choices=["markdown", "json", "both"], default="both")
        parser.add_argument("--summary-only", action="store_true")
        parser.add_argument("--no-progress", action="store_true")

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
        cfg = RunConfig(**{k: opts[k] for k in RunConfig.__dataclass_fields__})
        bar = None
        if not opts["no_progress"]:
            bar = tqdm(total=None, unit="tick", file=sys.stderr, leave=False, disable=None)
        try:
            results = simulate_run(world=world, cfg=cfg, progress=bar.update if bar is not None else None)
        except (SimulateError, ClockError, ScenarioError) as exc:
            raise CommandError(str(exc)) from None
        finally:
            if bar is not None:
                bar.close()
        for r in results:
            self.stdout.write(f"day {r.day} digest {r.digest}")
            for path in (r.markdown_path, r.json_path):
                if path:
                    self.stdout.write(f"  report {path}")
            self.stdout.write(
                f"  {r.seconds:.2f}s, llm calls/agent-hour {r.extra.get('calls_per_agent_hour', 0)}"
            )
