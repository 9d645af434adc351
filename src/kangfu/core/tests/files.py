"""Small real files for upload tests: uploads are checked by content, so a test's file must be what
its name says (an image that decodes, a PDF that is one)."""

import io

from PIL import Image


def image_bytes(kind: str = "png", size: tuple[int, int] = (4, 3)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format=kind.upper())
    return out.getvalue()


PNG = image_bytes("png")
JPEG = image_bytes("jpeg")
# A one-page PDF, what a scanner would give.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
