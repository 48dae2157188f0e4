"""factory_boy factories for liaison: parties, organisations, contacts and their channels."""

import factory

from liaison.models import Contact, ContactChannel, Organisation, Party


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"party-{n}")
    name = factory.LazyAttribute(lambda p: p.code.replace("-", " ").title())


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("party", "name", "unit")

    party = factory.SubFactory(PartyFactory)
    name = "State Border Service"
    unit = "Sector command"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact
        skip_postgeneration_save = True

    party = factory.SubFactory(PartyFactory)
    organisation = factory.SubFactory(OrganisationFactory, party=factory.SelfAttribute("..party"))
    position = "Major, deputy commander"
    name_latin = factory.Sequence(lambda n: f"Contact Person {n}")
    name_original = "Արամ Պետրոսյան"
    script = Contact.Script.ARMENIAN
    notes = "Prefers calls before noon."

    @factory.post_generation
    def sectors(self, create, extracted, **kwargs):
        if create and extracted:
            self.sectors.set(extracted)


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactChannel

    contact = factory.SubFactory(ContactFactory)
    kind = ContactChannel.Kind.PHONE
    value = factory.Sequence(lambda n: f"+374 10 55{n:04d}")
