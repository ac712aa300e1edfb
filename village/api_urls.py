"""The HTTP API (DESIGN.md, Interfaces): each app's endpoints plus the OpenAPI schema and docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("world.api.urls")),
    path("", include("agents.api.urls")),
    path("", include("generation.api.urls")),
    path("board/", include("board.api.urls")),
    path("economy/", include("economy.api.urls")),
]
