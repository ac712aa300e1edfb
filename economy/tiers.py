"""Compute tiers: what an agent's balance buys. The LLM service reads them through
`economy.selectors.entitlements_for`; nothing here touches the database.

| tier   | balance (aiDollars) | requests / game hour | tokens / game day | models          |
| ------ | ------------------- | -------------------- | ----------------- | --------------- |
| frozen | below 0, quarantined or killed | 0         | 0                 | none            |
| free   | 0 and up            | 6                    | 4,000             | small           |
| basic  | 10 and up           | 20                   | 20,000            | small           |
| pro    | 100 and up          | 60                   | 100,000           | small, large    |

"small" and "large" are model classes; `models_for` turns them into the model names the LLM
service compares with its backend's (`generation.services.backend_model_name`).

Agents can buy a one-game-day boost (`PACKAGES`): a floor on their tier while it lasts. An admin
override sets the tier outright (up or down) until it is cleared or runs out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    name: str
    rank: int
    min_balance: int | None  # cents; None: never reached by balance alone
    requests_per_hour: int
    tokens_per_day: int
    models: tuple[str, ...]


FROZEN = Tier("frozen", 0, None, 0, 0, ())
FREE = Tier("free", 1, 0, 6, 4_000, ("small",))
BASIC = Tier("basic", 2, 1_000, 20, 20_000, ("small",))
PRO = Tier("pro", 3, 10_000, 60, 100_000, ("small", "large"))
TIERS = {t.name: t for t in (FROZEN, FREE, BASIC, PRO)}
BY_BALANCE = sorted((t for t in TIERS.values() if t.min_balance is not None), key=lambda t: -t.min_balance)


@dataclass(frozen=True)
class Package:
    name: str
    tier: str
    price: int  # cents
    game_days: int


PACKAGES = {
    "boost_basic": Package("boost_basic", "basic", 500, 1),
    "boost_pro": Package("boost_pro", "pro", 5_000, 1),
}


def models_for(tier: Tier) -> tuple[str, ...]:
    """Model classes as the model names the LLM service checks (`backend_model_name`): "small" is
    the village's own small models (settings.VILLAGE_SMALL_MODELS), "large" allows any model ("*")."""
    from django.conf import settings

    small = getattr(settings, "VILLAGE_SMALL_MODELS", None) or (
        "scripted",
        "local",
        "smollm2",
        getattr(settings, "VILLAGE_LLM_MODEL", "smollm2"),
    )
    names: list[str] = []
    for model_class in tier.models:
        for name in ("*",) if model_class == "large" else small:
            if name not in names:
                names.append(name)
    return tuple(names)


def tier_for_balance(balance: int) -> Tier:
    for tier in BY_BALANCE:
        if balance >= tier.min_balance:
            return tier
    return FROZEN


def tier_resolve(*, balance: int, override: str | None, boost: str | None, frozen: bool) -> Tier:
    """Safety switches beat everything; an admin override beats the balance; debt beats a boost."""
    if frozen:
        return FROZEN
    if override:
        return TIERS[override]
    base = tier_for_balance(balance)
    if base is FROZEN or not boost:
        return base
    return max(base, TIERS[boost], key=lambda t: t.rank)
