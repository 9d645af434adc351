"""Re-encrypting sensitive columns under the current data key, and recomputing the blind indexes
(the HMAC columns exact-match search uses) under the current index key."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class BlindIndex:
    """A column holding `crypto.blind_index(<source column>, purpose=purpose)`; each app registers its
    own when it is ready, so that core names no app."""

    model: str  # "app_label.ModelName"
    column: str
    source: str
    purpose: str


_blind_indexes: list[BlindIndex] = []


def register_blind_index(*indexes: BlindIndex) -> None:
    for index in indexes:
        if index not in _blind_indexes:
            _blind_indexes.append(index)


def reindex_all(batch_size: int = 2000) -> dict[str, int]:
    """After KANGFU_INDEX_KEY changes (`kangfu keys reindex`): recompute every registered blind index
    from the decrypted value, a batch per transaction, in key order so an interrupted run can simply
    be run again. Until it ends, searches by ID number or phone miss the rows not yet done."""
    counts: dict[str, int] = {}
    for index in _blind_indexes:
        model = apps.get_model(index.model)
        changed, last = 0, 0
        while True:
            with transaction.atomic():
                rows = list(
                    model.objects.filter(pk__gt=last)
                    .order_by("pk")
                    .only("pk", index.source, index.column)[:batch_size]
                )
                if not rows:
                    break
                stale = []
                for row in rows:
                    digest = crypto.blind_index(getattr(row, index.source) or "", purpose=index.purpose)
                    if getattr(row, index.column) != digest:
                        setattr(row, index.column, digest)
                        stale.append(row)
                model.objects.bulk_update(stale, [index.column], batch_size=500)
            changed += len(stale)
            last = rows[-1].pk
        counts[f"{index.model}.{index.column}"] = changed
    return counts
