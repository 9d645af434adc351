"""Checks every uploaded file passes before anything reads or stores it: its name, its size, and its
content: an image must decode as the image its name says, a PDF must be a PDF without active content,
a spreadsheet a zip of the right parts, a CSV text. The name alone proves nothing (an executable
renamed .jpg, an SVG renamed .png)."""

from __future__ import annotations

import re
import warnings
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

TOO_LARGE = "文件过大：{size}，上限为 {limit}。"
WRONG_TYPE = "文件类型不对：只接受 {allowed} 文件。"
NOT_TEXT = "无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV 后再上传。"
EMPTY = "文件是空的。"
NOT_AN_IMAGE = "文件内容不是 JPEG 或 PNG 图片。"
NOT_A_PDF = "文件内容不是 PDF 文档。"
ACTIVE_PDF = "PDF 中含有脚本、自动操作或嵌入文件，出于安全原因不予接收；请打印为 PDF 或扫描后再上传。"
NOT_A_SPREADSHEET = "文件内容不是 XLSX 表格。"
IMAGE_TOO_LARGE = "图片像素过大（{pixels} 万像素），请缩小后上传。"

MAX_PIXELS = 60_000_000  # a 600 dpi A3 scan; beyond is a decompression bomb, not a document
# PDF names that run something when the file is opened or carry other files.
_ACTIVE_PDF = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")

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
    _check_content(upload, suffix)


def _check_content(upload: UploadedFile, suffix: str) -> None:
    try:
        if suffix in (".jpg", ".jpeg", ".png"):
            _check_image(upload, "png" if suffix == ".png" else "jpeg")
        elif suffix == ".pdf":
            _check_pdf(upload)
        elif suffix in (".xlsx", ".xlsm"):
            if upload.read(4) != b"PK\x03\x04":
                raise ValidationError(NOT_A_SPREADSHEET, code="upload_not_xlsx")
        elif suffix in (".csv", ".txt") and b"\x00" in upload.read(4096):
            raise ValidationError(NOT_TEXT, code="upload_binary")
    finally:
        upload.seek(0)


def _check_image(upload: UploadedFile, expected: str) -> None:
    """Decoded in full, not just sniffed: a polyglot with a valid header but other content fails."""
    from PIL import Image

    head = upload.read(16)
    upload.seek(0)
    if (
        _IMAGE_SIGNATURES.get(next((sig for sig in _IMAGE_SIGNATURES if head.startswith(sig)), b""))
        != expected
    ):
        raise ValidationError(NOT_AN_IMAGE, code="upload_not_image")
    try:
        with warnings.catch_warnings():
            # we judge the size ourselves, with a message for the user, before anything is decoded
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(upload)
        with image:
            if image.width * image.height > MAX_PIXELS:
                raise ValidationError(
                    IMAGE_TOO_LARGE.format(pixels=image.width * image.height // 10_000), code="upload_pixels"
                )
            image.load()
    except ValidationError:
        raise
    except Exception as exc:  # Pillow raises many kinds for a broken or hostile file
        raise ValidationError(NOT_AN_IMAGE, code="upload_not_image") from exc


def _check_pdf(upload: UploadedFile) -> None:
    data = upload.read()
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-2048:]:
        raise ValidationError(NOT_A_PDF, code="upload_not_pdf")
    if _ACTIVE_PDF.search(data):
        raise ValidationError(ACTIVE_PDF, code="upload_active_pdf")


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
    """Accept a JPEG or PNG photo by its extension and its decoded content; return the format."""
    check_upload(upload, allowed=(".jpg", ".jpeg", ".png"), max_bytes=max_bytes)
    head = upload.read(16)
    upload.seek(0)
    for signature, kind in _IMAGE_SIGNATURES.items():
        if head.startswith(signature):
            return kind
    raise ValidationError(NOT_AN_IMAGE, code="upload_not_image")
