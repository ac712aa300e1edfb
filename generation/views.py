"""The interview form on the agent page (htmx partial)."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from agents.models import Agent
from generation.services import InterviewError, interview_answer


@require_POST
def agent_interview(request, agent_id: int):
    agent = get_object_or_404(Agent.objects.select_related("world"), pk=agent_id)
    context = {"agent": agent, "question": request.POST.get("question", "")}
    try:
        context["answer"] = interview_answer(agent=agent, question=context["question"])
        status = 200
    except InterviewError as exc:
        context["error"] = str(exc)
        status = 400
    return render(request, "generation/_interview_answer.html", context, status=status)
