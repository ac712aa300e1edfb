"""agents API routes."""

from django.urls import path

from agents.api import views

urlpatterns = [
    path("agents/<int:agent_id>", views.AgentDetailView.as_view(), name="api-agent"),
    path("agents/<int:agent_id>/move", views.AgentMoveView.as_view(), name="api-agent-move"),
    path("agents/<int:agent_id>/action", views.AgentActionView.as_view(), name="api-agent-action"),
]
