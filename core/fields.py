"""Model fields shared by the apps."""

from django.db import models
from django.views.decorators.debug import sensitive_variables

from core import crypto


class EncryptedTextField(models.TextField):
    """Text encrypted at rest (core.crypto): the database row holds only the token.

    The value is decrypted when a row is read, so anything holding the instance holds the
    plaintext: keep it out of `__str__`, logs and the audit trail (`@audited(redact=...)`).
    Encryption is randomised, so the database cannot filter or sort on the plaintext.
    """

    description = "Text encrypted at rest"

    @sensitive_variables()
    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return crypto.decrypt(value)

    @sensitive_variables()
    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)

    def get_lookup(self, lookup_name):
        # A lookup on ciphertext would silently match nothing; refuse it loudly instead.
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)
