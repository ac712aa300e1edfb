"""URL map: pages from each app, the API under /api/, admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("village.api_urls")),
    path("board/", include("board.urls")),
    path("economy/", include("economy.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("generation.urls")),
    path("", include("agents.urls")),
    path("", include("world.urls")),
]
