"""Hostile files for the upload tests: each is small on the wire and lies about what it is."""

from __future__ import annotations

import functools
import io
import zipfile


@functools.cache
def cell_bomb(cells: int = 1_000_000) -> bytes:
    """A valid-looking XLSX whose one sheet declares the whole grid and holds `cells` empty styled
    cells: about 200 KB zipped, tens of MB of XML unpacked, millions of cells for a reader."""
    row = "".join(f'<c r="A{i}" s="1"/>' for i in range(1, 1001))
    rows = "".join(f'<row r="{r}">{row}</row>' for r in range(1, cells // 1000 + 1))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/>'
        f"<sheetData>{rows}</sheetData></worksheet>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/workbook.xml", "<workbook/>")
        book.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


# An ELF executable's header, and a Windows one's (MZ), padded as a real binary is.
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 4000
MZ = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 4000
    + b"This program cannot be run in DOS mode"
)
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" '
    b'onload="alert(document.cookie)"><script>alert(1)</script><rect width="10" height="10"/></svg>'
)
HTML = b"<!DOCTYPE html><html><body><script>fetch('/people/export/')</script>%PDF-1.4</body></html>"


def oversized(limit: int, suffix: str) -> bytes:
    """One byte past `limit`, starting as a file of its kind would."""
    head = {".jpg": b"\xff\xd8\xff\xe0", ".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-1.4\n"}.get(
        suffix, b"a,b\n"
    )
    return head + b"0" * (limit + 1 - len(head))
