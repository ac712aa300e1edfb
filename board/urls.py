"""board pages (under /board/)."""

from django.urls import path

from board import views

urlpatterns = [
    path("", views.board_index, name="board"),
    path("<int:post_id>/", views.board_post, name="board-post"),
    path("<int:post_id>/replies/", views.board_reply, name="board-reply"),
]
