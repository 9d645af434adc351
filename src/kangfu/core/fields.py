"""Model fields for encrypted columns."""

from __future__ import annotations

from django.db import models

from kangfu.core import crypto


class EncryptedTextField(models.TextField):
    """Holds plaintext in Python and AES-GCM ciphertext in the database.

    The ciphertext is randomised, so the column can be neither searched nor compared: pair it with
    a blind-index column for exact matches. Only `isnull` and `exact ''` make sense as lookups.
    """

    description = "Encrypted text"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))
