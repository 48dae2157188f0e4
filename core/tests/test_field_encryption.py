"""core.crypto (Fernet): values round-trip, every encryption differs, an altered or foreign token is
refused, and keys must be real keys."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from core import crypto


def test_a_value_round_trips_in_any_script():
    for value in ("+374 91 123456", "major@mod.am.example", "Արամ", "Элчин", "x" * 1000):
        token = crypto.encrypt(value)
        assert value not in token
        assert crypto.decrypt(token) == value


def test_the_same_value_never_encrypts_the_same_way_twice():
    assert crypto.encrypt("+374 91 123456") != crypto.encrypt("+374 91 123456")


def test_an_altered_token_is_refused():
    token = crypto.encrypt("+374 91 123456")
    flipped = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(flipped)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("not a token")


def test_a_token_of_a_key_no_longer_configured_is_refused(settings):
    token = crypto.encrypt("+374 91 123456")
    settings.FIELD_ENCRYPTION_KEYS = [crypto.generate_key()]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


def test_reencrypt_moves_a_value_to_the_new_first_key(settings):
    old_token = crypto.encrypt("+374 91 123456")
    settings.FIELD_ENCRYPTION_KEYS = [crypto.generate_key(), *settings.FIELD_ENCRYPTION_KEYS]
    new_token = crypto.reencrypt(old_token)
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]
    assert crypto.decrypt(new_token) == "+374 91 123456"


@pytest.mark.parametrize("key", ["", "change-me-generate-a-field-encryption-key", "c2hvcnQ="])
def test_a_key_that_is_not_32_random_bytes_is_refused(key):
    with pytest.raises(ImproperlyConfigured):
        crypto.decode_key(key)
