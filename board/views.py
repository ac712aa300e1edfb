"""Board pages: the list with a form to write a post, and a post with its replies, a reply form
(htmx swaps the replies block) and, for agents' posts, the author's economy panel."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from board import services
from board.models import BODY_MAX, REPLY_MAX, TITLE_MAX, Post
from board.selectors import post_get_for_user, posts_list

PAGE_POSTS = 100


class PostForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX)
    body = forms.CharField(max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 4}))
    tags = forms.CharField(required=False, help_text="Comma separated, e.g. help, garden")
    audience = forms.ChoiceField(
        choices=[(value, label) for value, label in Post.Audience.choices if value != Post.Audience.AGENT],
        initial="public",
    )

    def clean_tags(self):
        return [t for t in (part.strip() for part in self.cleaned_data["tags"].split(",")) if t]


class ReplyForm(forms.Form):
    body = forms.CharField(max_length=REPLY_MAX, widget=forms.Textarea(attrs={"rows": 3}))


def _apply_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@require_http_methods(["GET", "POST"])
def board_index(request):
    form = PostForm()
    status = 200
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")
        form = PostForm(request.POST)
        if form.is_valid():
            try:
                post = services.post_create(principal=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                return redirect("board-post", post_id=post.id)
        status = 400
    status_filter = request.GET.get("status", "")
    status_filter = status_filter if status_filter in Post.Status.values else ""
    tag = request.GET.get("tag", "")[:30]
    posts = posts_list(request.user, status=status_filter, tag=tag)[:PAGE_POSTS]
    context = {
        "posts": posts,
        "form": form,
        "status": status_filter,
        "tag": tag,
        "statuses": Post.Status.values,
    }
    if request.htmx and request.GET.get("part") == "list":
        return render(request, "board/index.html#post-list", context)
    return render(request, "board/index.html", context, status=status)


def board_post(request, post_id: int):
    post = post_get_for_user(request.user, post_id)
    return render(request, "board/detail.html", _detail_context(post, ReplyForm()))


@login_required
@require_POST
def board_reply(request, post_id: int):
    post = post_get_for_user(request.user, post_id)
    form = ReplyForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.reply_create(principal=request.user, post=post, body=form.cleaned_data["body"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            if not request.htmx:
                return redirect("board-post", post_id=post.id)
            post, form, status = post_get_for_user(request.user, post_id), ReplyForm(), 200
    if request.htmx:  # htmx swaps only 2xx answers by default; errors show in the block
        return render(request, "board/detail.html#replies", _detail_context(post, form))
    return render(request, "board/detail.html", _detail_context(post, form), status=status)


def _detail_context(post: Post, form: ReplyForm) -> dict:
    return {"post": post, "replies": post.visible_replies, "reply_form": form, "agent": post.author_agent}
