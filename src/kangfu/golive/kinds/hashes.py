"""Blind indexes of a go-live line, computed once per line by `clean`: the check and the confirmed
import (which reads the check's cleaned lines) both use them, and each costs an HMAC (about ten per
line before). A line cleaned without them (an older kept copy cannot be: its stamp differs) has them
computed here."""

from __future__ import annotations

from typing import Any

from kangfu.people import services as people


def stamp_id(out: dict[str, Any]) -> None:
    """Keep the cleaned ID number's index on the line."""
    out["id_hash"] = people.id_hash(out["id_number"]) if out["id_number"] else ""


def of_id(values: dict[str, Any]) -> str:
    return values.get("id_hash") or people.id_hash(values["id_number"])


def of_phone(values: dict[str, Any]) -> str | None:
    if "phone_hash" in values:
        return values["phone_hash"]
    return people.phone_hash(values["phone"]) if values["phone"] else None


def of_certificate(cert: dict[str, Any]) -> str:
    return cert.get("hash") or people.certificate_hash(cert["number"])
