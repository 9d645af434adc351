"""Every upload is checked by its content, not its name: what a hostile sender renames is refused
with a clear message before it is stored."""

import time

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from kangfu.core import uploads
from kangfu.core.tests import files

DOCUMENTS = (".pdf", ".jpg", ".jpeg", ".png")
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def check(name: str, content: bytes, allowed=DOCUMENTS):
    uploads.check_upload(SimpleUploadedFile(name, content), allowed=allowed, max_bytes=5 * 1024 * 1024)


@pytest.mark.parametrize(
    ("name", "content"),
    [("证.png", files.PNG), ("证.jpg", files.JPEG), ("证.jpeg", files.JPEG), ("证.pdf", files.PDF)],
)
def test_real_documents_pass(name, content):
    check(name, content)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("证.jpg", b"MZ\x90\x00" + b"\x00" * 200, uploads.NOT_AN_IMAGE),  # an executable renamed
        ("证.png", SVG, uploads.NOT_AN_IMAGE),  # an SVG renamed
        ("证.png", files.JPEG, uploads.NOT_AN_IMAGE),  # a JPEG is not what a .png says
        ("证.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, uploads.NOT_AN_IMAGE),  # a header, no image
        ("证.pdf", b"%PDF-1.4 nothing more", uploads.NOT_A_PDF),
        (
            "证.pdf",
            files.PDF.replace(b"/Type/Catalog", b"/Type/Catalog/OpenAction<</S/JavaScript/JS(x)>>"),
            uploads.ACTIVE_PDF,
        ),
        ("名单.xlsx", b"not a zip at all", uploads.NOT_A_SPREADSHEET),
        ("名单.csv", b"\x00\x01binary", uploads.NOT_TEXT),
    ],
)
def test_a_file_that_is_not_what_its_name_says_is_refused(name, content, message):
    allowed = (*DOCUMENTS, ".xlsx", ".csv")
    with pytest.raises(ValidationError) as caught:
        check(name, content, allowed)
    assert caught.value.messages == [message]


def test_an_svg_by_its_own_name_is_not_accepted_anywhere_a_document_is():
    with pytest.raises(ValidationError) as caught:
        check("证.svg", SVG)
    assert caught.value.messages == [uploads.WRONG_TYPE.format(allowed="、".join(DOCUMENTS))]


def test_an_image_bomb_is_refused_from_its_header_quickly():
    bomb = files.image_bytes("png", size=(10_000, 10_000))  # 100 million pixels, a small file
    started = time.monotonic()
    with pytest.raises(ValidationError) as caught:
        check("证.png", bomb)
    assert time.monotonic() - started < 2
    assert "像素过大" in caught.value.messages[0]


def test_an_oversized_file_is_refused_by_its_size():
    with pytest.raises(ValidationError) as caught:
        uploads.check_upload(
            SimpleUploadedFile("证.pdf", files.PDF + b"0" * 2048), allowed=DOCUMENTS, max_bytes=1024
        )
    assert "文件过大" in caught.value.messages[0]
