"""A layout as data: reading and checking a declared layout (TOML or JSON), and writing a batch's
rows in it. Nothing here touches the database; `services.layout_define` stores what `parse` returns.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import string
import tomllib
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from openpyxl import Workbook

from kangfu.core.exports import safe_cell
from kangfu.exchange.models import Encoding, FileFormat
from kangfu.exchange.sources import SOURCES, Field

NOT_READABLE = "格式定义文件无法读取：{error}"
MISSING = "格式定义缺少“{key}”。"
BAD_CODE_NAME = "格式代码只能由字母、数字、短横线和下划线组成。"
UNKNOWN_SOURCE = "格式定义引用了不存在的数据来源“{source}”（可用：{known}）。"
UNKNOWN_FIELD = "数据来源“{source}”没有字段：{fields}。"
NO_COLUMNS = "格式定义至少要有一列。"
BAD_COLUMN = "第 {n} 列应写明 header（列名）和 field（字段）或 value（固定值）。"
BAD_FORMAT = "文件格式只能是 csv 或 xlsx。"
BAD_ENCODING = "编码只能是 utf-8、utf-8-sig（带 BOM）、gbk 或 gb18030。"
BAD_DELIMITER = "分隔符应为一个字符。"
BAD_FILENAME = "文件名格式只能使用 {{code}}、{{region}}、{{period}}、{{version}}，且应以 .{ext} 结尾。"
BAD_DAY = "每月自动生成日应为 1 到 28 之间的整数。"
BAD_DATE = "第 {n} 列“{header}”的日期格式无效。"
DATE_ON_OTHER = "第 {n} 列“{header}”不是日期字段，不能指定日期格式。"
BAD_MONEY = "第 {n} 列“{header}”的金额格式只能是 yuan（元，两位小数）或 fen（分，整数）。"
MONEY_ON_OTHER = "第 {n} 列“{header}”不是金额字段，不能指定金额格式。"
CODES_ON_OTHER = "第 {n} 列“{header}”不是代码字段，不能指定代码表。"
UNKNOWN_TABLE = "第 {n} 列“{header}”引用了不存在的代码表“{table}”。"
BAD_TABLE = "第 {n} 列“{header}”的代码表应为“本系统值 = 对方代码”的对照。"
CODES_UNKNOWN = "第 {n} 列“{header}”的代码表含本系统没有的值：{values}（应为：{known}）。"
CODES_MISSING = "第 {n} 列“{header}”的代码表缺少本系统的值：{values}。"
CANNOT_ENCODE = "第 {line} 行“{header}”的内容“{value}”无法用 {encoding} 编码，请改用 GB18030 或 UTF-8。"

_PLACEHOLDERS = {"code", "region", "period", "version"}
_SAMPLE = {"code": "x", "region": "120103000000", "period": "202601", "version": 1}
_CODE_CHARS = set(string.ascii_letters + string.digits + "-_")


def load(text: str, *, suffix: str = ".toml") -> dict:
    """A layout file's text as a dict: JSON for a .json file, TOML otherwise."""
    try:
        return json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(NOT_READABLE.format(error=exc)) from None


def parse(data: Any) -> dict:
    """A declared layout checked against the registered sources, normalised for storing: every
    refusal names what is wrong in Chinese, and nothing partial is returned."""
    if not isinstance(data, dict):
        raise ValidationError(NOT_READABLE.format(error="应为键值表"))
    for key in ("code", "name", "system", "source", "columns"):
        if not data.get(key):
            raise ValidationError(MISSING.format(key=key))
    code = str(data["code"])
    if len(code) > 40 or not set(code) <= _CODE_CHARS:
        raise ValidationError(BAD_CODE_NAME)
    source = SOURCES.get(str(data["source"]))
    if source is None:
        raise ValidationError(UNKNOWN_SOURCE.format(source=data["source"], known="、".join(SOURCES)))
    file_format = str(data.get("format", "csv")).lower()
    if file_format not in FileFormat.values:
        raise ValidationError(BAD_FORMAT)
    encoding = str(data.get("encoding", "utf-8")).lower()
    if encoding not in Encoding.values:
        raise ValidationError(BAD_ENCODING)
    delimiter = str(data.get("delimiter", ","))
    if len(delimiter) != 1:
        raise ValidationError(BAD_DELIMITER)
    filename = str(data.get("filename", f"{{code}}_{{region}}_{{period}}.{file_format}"))
    _check_filename(filename, file_format)
    day = data.get("day_of_month")
    if day is not None and (not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 28):
        raise ValidationError(BAD_DAY)
    columns = _columns(data["columns"], source.code, source.fields, data.get("code_tables") or {})
    return {
        "code": code,
        "name": str(data["name"])[:100],
        "system": str(data["system"])[:100],
        "source": source.code,
        "file_format": file_format,
        "encoding": encoding,
        "delimiter": delimiter,
        "filename": filename,
        "day_of_month": day,
        "columns": columns,
    }


def _check_filename(pattern: str, ext: str) -> None:
    try:
        names = {name for _text, name, _spec, _conv in string.Formatter().parse(pattern) if name is not None}
        ok = names <= _PLACEHOLDERS and pattern.lower().endswith(f".{ext}") and "/" not in pattern
        ok = ok and "\\" not in pattern and bool(pattern.format(**_SAMPLE))
    except (ValueError, KeyError, IndexError):
        ok = False
    if not ok:
        raise ValidationError(BAD_FILENAME.format(ext=ext))


def _columns(columns: Any, source: str, fields: dict[str, Field], tables: Any) -> list[dict]:
    if not isinstance(columns, list) or not columns:
        raise ValidationError(NO_COLUMNS)
    out = []
    for n, column in enumerate(columns, start=1):
        if not isinstance(column, dict) or not column.get("header"):
            raise ValidationError(BAD_COLUMN.format(n=n))
        if not isinstance(column.get("field"), str) and "value" not in column:
            raise ValidationError(BAD_COLUMN.format(n=n))
        out.append(column)
    unknown = [c["field"] for c in out if "field" in c and c["field"] not in fields]
    if unknown:
        raise ValidationError(UNKNOWN_FIELD.format(source=source, fields="、".join(unknown)))
    return [_column(n, c, fields, tables) for n, c in enumerate(out, start=1)]


def _column(n: int, column: dict, fields: dict[str, Field], tables: Any) -> dict:
    header = str(column["header"])
    if "field" not in column:
        return {"header": header, "value": str(column["value"])}
    field = fields[column["field"]]
    out: dict[str, Any] = {"header": header, "field": column["field"]}
    if "date" in column:
        if field.kind != "date":
            raise ValidationError(DATE_ON_OTHER.format(n=n, header=header))
        pattern = str(column["date"])
        if "%" not in pattern or dt.date(2026, 1, 2).strftime(pattern) == pattern:
            raise ValidationError(BAD_DATE.format(n=n, header=header))
        out["date"] = pattern
    if "money" in column:
        if field.kind != "money":
            raise ValidationError(MONEY_ON_OTHER.format(n=n, header=header))
        if column["money"] not in ("yuan", "fen"):
            raise ValidationError(BAD_MONEY.format(n=n, header=header))
        out["money"] = column["money"]
    if "codes" in column:
        if field.kind != "code":
            raise ValidationError(CODES_ON_OTHER.format(n=n, header=header))
        codes = column["codes"]
        if isinstance(codes, str):
            if not isinstance(tables, dict) or codes not in tables:
                raise ValidationError(UNKNOWN_TABLE.format(n=n, header=header, table=codes))
            codes = tables[codes]
        if not isinstance(codes, dict) or not all(isinstance(v, str | int) for v in codes.values()):
            raise ValidationError(BAD_TABLE.format(n=n, header=header))
        codes = {str(k): str(v) for k, v in codes.items()}
        extra = [k for k in codes if k not in field.values]
        if extra:
            known = "、".join(v for v in field.values if v) or "（无）"
            raise ValidationError(
                CODES_UNKNOWN.format(n=n, header=header, values="、".join(extra), known=known)
            )
        # An empty value (a change that is not a stop has no stop reason) may stay empty.
        missing = [v for v in field.values if v and v not in codes]
        if missing:
            raise ValidationError(CODES_MISSING.format(n=n, header=header, values="、".join(missing)))
        out["codes"] = codes
    return out


# ------------------------------------------------------------------ writing a batch


def cell(column: dict, row: dict) -> str:
    """One value as the receiving system reads it: dates in the declared pattern, money to the fen,
    codes through the code table; everything as text, so an ID number is never read as a number."""
    if "value" in column:
        return column["value"]
    value = row.get(column["field"])
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    if isinstance(value, dt.date):
        return value.strftime(column.get("date", "%Y-%m-%d"))
    if isinstance(value, Decimal):
        value = value.quantize(Decimal("0.01"))
        return str(int(value * 100)) if column.get("money") == "fen" else f"{value:.2f}"
    value = str(value)
    if "codes" in column:
        return column["codes"].get(value, value)
    return value


def filename(layout, *, region: str, period: dt.date) -> str:
    return layout.filename.format(
        code=layout.code, region=region, period=f"{period:%Y%m}", version=layout.version
    )


def write(
    layout, rows: Iterable[dict], out: IO[bytes], *, progress: Callable[[int], None], every: int = 2000
) -> int:
    """The rows in the layout's file format and encoding, streamed into `out`; the number written.
    A value the encoding cannot hold is refused with its line, rather than silently replaced."""
    columns = layout.columns
    header = [c["header"] for c in columns]
    n = 0
    if layout.file_format == FileFormat.XLSX:
        # write_only keeps memory flat: rows go to a temporary file, not a tree of cells.
        book = Workbook(write_only=True)
        sheet = book.create_sheet(title=layout.name[:31])
        sheet.append(header)
        for row in rows:
            sheet.append([safe_cell(cell(c, row)) for c in columns])
            n += 1
            if n % every == 0:
                progress(n)
        book.save(out)
        return n
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=layout.delimiter, lineterminator="\r\n")
    encoding = layout.encoding
    if encoding == Encoding.UTF8_BOM:
        out.write("\ufeff".encode())
        encoding = Encoding.UTF8
    writer.writerow(header)
    out.write(buffer.getvalue().encode(encoding))
    for row in rows:
        values = [safe_cell(cell(c, row)) for c in columns]
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        try:
            out.write(buffer.getvalue().encode(encoding))
        except UnicodeEncodeError:
            raise ValidationError(_unencodable(n + 2, header, values, encoding)) from None
        n += 1
        if n % every == 0:
            progress(n)
    return n


def _unencodable(line: int, header: list[str], values: list[str], encoding: str) -> str:
    for name, value in zip(header, values, strict=True):
        try:
            value.encode(encoding)
        except UnicodeEncodeError:
            return CANNOT_ENCODE.format(line=line, header=name, value=value, encoding=encoding.upper())
    return CANNOT_ENCODE.format(line=line, header="", value="", encoding=encoding.upper())
