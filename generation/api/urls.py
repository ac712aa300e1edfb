from django.urls import path

from generation.api.views import AgentInterviewApi

urlpatterns = [path("agents/<int:agent_id>/interview", AgentInterviewApi.as_view(), name="api-agent-interview")]
