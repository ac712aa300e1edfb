from django.urls import path

from generation import views

urlpatterns = [path("agents/<int:agent_id>/interview/", views.agent_interview, name="agent-interview")]
