"""Model fields whose values are encrypted in the database (see accounts.crypto)."""

from typing import cast

from django.db import models

from accounts import crypto

# Every Fernet token starts with the version byte 0x80 followed by a 64-bit timestamp whose high
# bytes are zero, which base64 spells "gAAAAA"; Discord's tokens never look like that.
FERNET_PREFIX = "gAAAAA"


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token: the attribute holds clear text, the column only ciphertext.

    A value that no configured key decrypts raises TokenDecryptionError: it is never handed back
    as ciphertext (some encrypted-field packages do that, and a ciphertext sent to Discord as a
    token fails far from the cause). Serialization (`dumpdata`) writes ciphertext too, and
    `loaddata` reads it back. Encrypted values differ on every write: no filtering on this field.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(FERNET_PREFIX):
            return crypto.decrypt(value)
        return super().to_python(value)

    def value_from_object(self, obj):
        # Serializers and model_to_dict read through here: keep clear tokens out of dumps.
        value = super().value_from_object(obj)
        if value is None or value == "":
            return value
        # django-stubs leaves the value type of a TextField subclass unresolved (`_GT`); it is the text.
        return crypto.encrypt(cast(str, value))
