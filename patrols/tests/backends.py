"""A stand-in for the mission's mail server (which lives outside this machine): it refuses
mail to addresses listed in FAILING, as an unreachable or refusing server would, and keeps
the rest in Django's test outbox."""

import smtplib

from django.core.mail.backends.locmem import EmailBackend

FAILING: set[str] = set()


class FlakyServerBackend(EmailBackend):
    def send_messages(self, messages):
        for message in messages:
            refused = FAILING.intersection(message.to)
            if refused:
                raise smtplib.SMTPRecipientsRefused({r: (451, b"try again later") for r in refused})
        return super().send_messages(messages)
