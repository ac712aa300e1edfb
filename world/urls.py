"""World pages: the live map, its controls and scrubber, and the daily reports."""

from django.urls import path

from world import views

urlpatterns = [
    path("", views.map_page, name="world-map"),
    path("world/<int:world_id>/control/", views.world_control, name="world-control"),
    path("world/at/<int:tick>/", views.world_at, name="world-at"),
    path("reports/", views.reports_list, name="reports"),
    path("reports/<int:day>/", views.report_detail, name="report-detail"),
    path("reports/<int:day>/<str:name>", views.report_picture, name="report-picture"),
]
