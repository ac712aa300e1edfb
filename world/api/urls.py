"""world API routes."""

from django.urls import path

from world.api.views import WorldView

urlpatterns = [path("world", WorldView.as_view(), name="api-world")]
