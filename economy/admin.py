"""Economy admin: the ledger and audit log (read-only), deposit credit by external transaction id,
tokens, tier grants, and per-agent compute and safety controls (quarantine, kill switch, token
rotation, tier override). Every write goes through a service, so it is audited."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from economy import services
from economy.models import AgentControl, ApiToken, AuditLog, LedgerEntry, TierGrant
from economy.selectors import cents_display, entitlements_for
from economy.tiers import TIERS


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DepositForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=AgentControl.objects.all())
    amount = forms.IntegerField(min_value=1, max_value=services.MAX_AMOUNT, help_text="aiDollar cents")
    external_txn_id = forms.CharField(max_length=120, label="External transaction id (e.g. PayPal)")
    note = forms.CharField(max_length=200, required=False)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "agent",
        "amount",
        "reason",
        "source",
        "source_user_id",
        "related_post_id",
        "external_txn_id",
        "created_at",
    )
    list_filter = ("reason", "source")
    search_fields = ("external_txn_id", "note")
    change_list_template = "admin/economy/ledgerentry_change_list.html"

    def get_urls(self):
        extra = [
            path(
                "credit-deposit/",
                self.admin_site.admin_view(self.credit_deposit_view),
                name="economy_ledgerentry_credit_deposit",
            )
        ]
        return extra + super().get_urls()

    def credit_deposit_view(self, request):
        if not request.user.is_staff:
            return redirect("admin:index")
        form = DepositForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                entry, created = services.deposit_credit(
                    actor=request.user,
                    agent_id=data["agent"].id,
                    amount=data["amount"],
                    external_txn_id=data["external_txn_id"],
                    note=data["note"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                verb = "Credited" if created else "Already credited (nothing written):"
                self.message_user(
                    request,
                    f"{verb} {cents_display(entry.amount)} aiD to {data['agent']}.",
                    messages.SUCCESS if created else messages.WARNING,
                )
                return redirect(reverse("admin:economy_ledgerentry_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Credit a deposit",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/economy/credit_deposit.html", context)


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "actor", "target_type", "target_id", "data")
    list_filter = ("action", "target_type")
    search_fields = ("actor", "target_id")


@admin.register(TierGrant)
class TierGrantAdmin(ReadOnlyAdmin):
    list_display = ("agent", "kind", "tier", "until_tick", "revoked_at", "created_by", "created_at")
    list_filter = ("kind", "tier")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "kind", "agent", "user", "name", "created_at", "revoked_at")
    list_filter = ("kind",)
    actions = ["revoke"]

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            services.token_revoke(actor=request.user, token=token)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")

    def has_change_permission(self, request, obj=None):
        return obj is None and request.user.is_staff  # the changelist action, not the form


def _tier_action(tier: str):
    def action(modeladmin, request, queryset):
        for agent in queryset:
            services.tier_set(actor=request.user, agent_id=agent.id, tier=tier)
        modeladmin.message_user(request, f"Tier set to {tier} for {queryset.count()} agent(s).")

    action.__name__ = f"tier_{tier}"
    label = "Clear tier override (balance decides)" if tier == "auto" else f"Override tier: {tier}"
    return admin.action(description=label)(action)


@admin.register(AgentControl)
class AgentControlAdmin(admin.ModelAdmin):
    list_display = ("name", "world", "balance", "tier", "is_active", "quarantined")
    list_filter = ("world", "is_active", "quarantined")
    search_fields = ("name",)
    fields = ("name", "world", "is_active", "quarantined")
    readonly_fields = fields
    actions = [
        "quarantine",
        "release",
        "kill",
        "revive",
        "rotate_token",
        *[_tier_action(t) for t in ("auto", *TIERS)],
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("world")

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        rows = getattr(response, "context_data", {}).get("cl")
        if rows is not None:
            self._entitlements = entitlements_for([a.id for a in rows.result_list])
        return response

    def _ent(self, obj):
        cached = getattr(self, "_entitlements", {})
        return cached.get(obj.id) or entitlements_for([obj.id])[obj.id]

    @admin.display(description="balance (aiD)")
    def balance(self, obj):
        return cents_display(self._ent(obj).balance)

    @admin.display(description="tier")
    def tier(self, obj):
        return self._ent(obj).tier

    @admin.action(description="Quarantine (freeze compute, revoke tokens)")
    def quarantine(self, request, queryset):
        for agent in queryset:
            services.agent_quarantine(actor=request.user, agent=agent, on=True)
        self.message_user(request, f"Quarantined {queryset.count()} agent(s).")

    @admin.action(description="Release from quarantine")
    def release(self, request, queryset):
        for agent in queryset:
            services.agent_quarantine(actor=request.user, agent=agent, on=False)
        self.message_user(request, f"Released {queryset.count()} agent(s).")

    @admin.action(description="Kill switch (no LLM at all, revoke tokens)")
    def kill(self, request, queryset):
        for agent in queryset:
            services.agent_kill_switch(actor=request.user, agent=agent, on=True)
        self.message_user(request, f"Switched off {queryset.count()} agent(s).", messages.WARNING)

    @admin.action(description="Switch back on")
    def revive(self, request, queryset):
        for agent in queryset:
            services.agent_kill_switch(actor=request.user, agent=agent, on=False)
        self.message_user(request, f"Switched on {queryset.count()} agent(s).")

    @admin.action(description="Rotate API token (shows the new secret once)")
    def rotate_token(self, request, queryset):
        for agent in queryset:
            try:
                _, raw = services.agent_token_rotate(actor=request.user, agent=agent)
            except ValidationError as exc:
                self.message_user(request, f"{agent}: {'; '.join(exc.messages)}", messages.ERROR)
                continue
            self.message_user(request, f"New token for {agent}: {raw}", messages.WARNING)
