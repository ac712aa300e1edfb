"""board API routes (under /api/board/)."""

from django.urls import path

from board.api import views

urlpatterns = [
    path("posts", views.PostListView.as_view(), name="api-board-posts"),
    path("posts/<int:post_id>", views.PostDetailView.as_view(), name="api-board-post"),
    path("posts/<int:post_id>/replies", views.ReplyCreateView.as_view(), name="api-board-replies"),
    path("posts/<int:post_id>/moderate", views.ModerateView.as_view(), name="api-board-moderate"),
]
