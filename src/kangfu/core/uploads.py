"""Checks every uploaded file passes before anything reads it."""

from __future__ import annotations

from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

TOO_LARGE = "文件过大：{size}，上限为 {limit}。"
WRONG_TYPE = "文件类型不对：只接受 {allowed} 文件。"
NOT_TEXT = "无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV 后再上传。"
EMPTY = "文件是空的。"
NOT_AN_IMAGE = "文件内容不是 JPEG 或 PNG 图片。"

# The first bytes of the image formats we accept; the file name alone proves nothing.
_IMAGE_SIGNATURES = {b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png"}


def _human(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def check_upload(upload: UploadedFile, *, allowed: tuple[str, ...], max_bytes: int) -> None:
    suffix = PurePath(upload.name or "").suffix.lower()
    if suffix not in allowed:
        raise ValidationError(WRONG_TYPE.format(allowed="、".join(allowed)), code="upload_type")
    if upload.size is not None and upload.size > max_bytes:
        raise ValidationError(
            TOO_LARGE.format(size=_human(upload.size), limit=_human(max_bytes)), code="upload_size"
        )
    if not upload.size:
        raise ValidationError(EMPTY, code="upload_empty")


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM) or GBK, the two encodings government spreadsheets come in."""
    if b"\x00" in raw[:4096]:
        raise ValidationError(NOT_TEXT, code="upload_binary")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(NOT_TEXT, code="upload_encoding")


def read_text_upload(upload: UploadedFile, *, allowed: tuple[str, ...], max_bytes: int) -> str:
    check_upload(upload, allowed=allowed, max_bytes=max_bytes)
    return decode_text(upload.read())


def check_image_upload(upload: UploadedFile, *, max_bytes: int = 5 * 1024 * 1024) -> str:
    """Accept a JPEG or PNG photo by its extension and its content; return the format."""
    check_upload(upload, allowed=(".jpg", ".jpeg", ".png"), max_bytes=max_bytes)
    head = upload.read(16)
    upload.seek(0)
    for signature, kind in _IMAGE_SIGNATURES.items():
        if head.startswith(signature):
            return kind
    raise ValidationError(NOT_AN_IMAGE, code="upload_not_image")
