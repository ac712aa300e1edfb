"""economy API routes (under /api/economy/)."""

from django.urls import path

from economy.api import views

urlpatterns = [
    path("balance/<int:agent_id>", views.BalanceView.as_view(), name="api-economy-balance"),
    path("ledger/<int:agent_id>", views.LedgerView.as_view(), name="api-economy-ledger"),
    path("reward", views.RewardView.as_view(), name="api-economy-reward"),
    path("penalize", views.PenalizeView.as_view(), name="api-economy-penalize"),
    path("deposits", views.DepositView.as_view(), name="api-economy-deposits"),
    path("purchases", views.PurchaseView.as_view(), name="api-economy-purchases"),
    path("tiers", views.TierView.as_view(), name="api-economy-tiers"),
    path("tokens", views.TokenListView.as_view(), name="api-economy-tokens"),
    path("tokens/<int:token_id>/revoke", views.TokenRevokeView.as_view(), name="api-economy-token-revoke"),
    path(
        "agents/<int:agent_id>/tokens", views.AgentTokenIssueView.as_view(), name="api-economy-agent-tokens"
    ),
    path(
        "agents/<int:agent_id>/tokens/rotate",
        views.AgentTokenRotateView.as_view(),
        name="api-economy-agent-token-rotate",
    ),
]
