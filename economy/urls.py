"""economy pages (under /economy/)."""

from django.urls import path

from economy import views

urlpatterns = [
    path("agents/<int:agent_id>/feedback/", views.agent_feedback, name="economy-feedback"),
]
