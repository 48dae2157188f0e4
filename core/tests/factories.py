"""factory_boy factories for core: users, with their roles' groups."""

import factory
from django.contrib.auth.models import Group

from core.models import ForwardBase, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@mission.test")
    password = factory.django.Password("correct horse battery staple")
    forward_base = factory.LazyFunction(lambda: ForwardBase.objects.order_by("name").first())

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=[str(r) for r in extracted]))


def second_factor_for(user) -> str:
    """Give `user` a confirmed second factor (as enrolment would); returns its secret."""
    from django.utils import timezone

    from core import totp
    from core.models import SecondFactor

    secret = totp.new_secret()
    SecondFactor.objects.update_or_create(
        user=user, defaults={"secret": secret, "confirmed_at": timezone.now(), "last_step": 0}
    )
    return secret


def code_for(user=None, *, secret=None) -> str:
    """A code the user's authenticator app would show that has not been used yet: this
    step's, or the next one's when this step's was accepted already (each code works once;
    the next step's is accepted too, for a clock a little ahead)."""
    from core import totp
    from core.models import SecondFactor

    last = 0
    if secret is None:
        factor = SecondFactor.objects.get(user=user)
        secret, last = factor.secret, factor.last_step
    now = totp.step_at()
    step = now if now > last else now + 1
    return totp.code_at_step(secret, step)
