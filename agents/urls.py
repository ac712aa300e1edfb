"""Agent pages."""

from django.urls import path

from agents import views

urlpatterns = [path("agents/<int:agent_id>/", views.agent_detail, name="agent-detail")]
