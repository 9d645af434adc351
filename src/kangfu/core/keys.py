"""Re-encrypting sensitive columns under the current data key."""

from __future__ import annotations

from django.apps import apps
from django.db import transaction
from django.db.models import Q

from kangfu.core import crypto
from kangfu.core.fields import EncryptedTextField


def _encrypted_fields():
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            yield model, names


def rotate_all(batch_size: int = 2000) -> dict[str, int]:
    """Re-seal every value that is not under the current key, a batch per transaction.

    Pattern lookups see the stored ciphertext (they skip the field's encryption), so the
    `kid$` prefix finds stale rows without decrypting the table; each batch is one read and one
    bulk update, and rows leave the filter as they are done, so an interrupted run resumes.
    """
    prefix = crypto.current_key_id() + "$"
    counts: dict[str, int] = {}
    for model, names in _encrypted_fields():
        stale = Q()
        for name in names:
            stale |= (
                ~Q(**{f"{name}__startswith": prefix})
                & ~Q(**{f"{name}__exact": ""})
                & Q(**{f"{name}__isnull": False})
            )
        done = 0
        while True:
            with transaction.atomic():
                rows = list(model.objects.filter(stale).order_by("pk")[:batch_size])
                if not rows:
                    break
                model.objects.bulk_update(rows, names, batch_size=500)
            done += len(rows)
        counts[model._meta.label] = done
    return counts
