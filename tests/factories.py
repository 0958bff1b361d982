from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from trading.models import Strategy
from trading.strategies.params import preset

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def groups(self, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        for name in extracted or []:
            group, _ = Group.objects.get_or_create(name=name)
            self.groups.add(group)
        self.save()


class StrategyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Strategy

    name = factory.Sequence(lambda n: f"strategy_{n}")
    logic_kind = "covered_call"
    risk_profile = "conservative"
    underlyings = factory.LazyFunction(lambda: ["BTC"])
    option_types = factory.LazyFunction(lambda: ["call"])
    decision_mode = "rules"
    parameters = factory.LazyAttribute(lambda s: preset(s.logic_kind, s.risk_profile))
    risk_limits = factory.LazyFunction(dict)
    enabled = True
