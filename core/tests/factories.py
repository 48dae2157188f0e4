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
