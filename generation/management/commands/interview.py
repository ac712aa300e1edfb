"""`manage.py interview <agent> "<question>"` — ask an agent; the answer comes from its memories."""

from django.core.management.base import BaseCommand, CommandError

from agents.models import Agent
from generation.services import InterviewError, interview_answer


class Command(BaseCommand):
    help = "Ask an agent a question and print its answer and the memories it drew on."

    def add_arguments(self, parser):
        parser.add_argument("agent", help="Agent name or id.")
        parser.add_argument("question")
        parser.add_argument("--world", default="")
        parser.add_argument("--llm", choices=["scripted", "local", "openai"], default=None)

    def handle(self, *args, **opts):
        agents = Agent.objects.select_related("world")
        if opts["world"]:
            agents = agents.filter(world__name=opts["world"])
        ref = opts["agent"]
        agent = agents.filter(pk=int(ref)).first() if ref.isdigit() else agents.filter(name=ref).order_by("-world_id").first()
        if agent is None:
            raise CommandError(f"unknown agent {ref!r}")
        try:
            answer = interview_answer(agent=agent, question=opts["question"], backend_name=opts["llm"])
        except InterviewError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{agent.name}: {answer.answer}")
        for memory in answer.memories:
            self.stdout.write(f"  - [{memory.kind}, importance {memory.importance}] {memory.text}")
