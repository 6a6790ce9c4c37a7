"""Excel helpers (R-PLT-10): reading an import file, per-row validation report, all-or-nothing commit."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from python_calamine import CalamineWorkbook

from kehu.core.errors import ValidationFailed
from kehu.core.excel import (
    ERROR_HEADER,
    ImportColumn,
    ImportFileError,
    ImportSpec,
    RowError,
    read_rows,
    run_import,
    write_xlsx,
)
from kehu.core.models import Region

pytestmark = pytest.mark.django_db


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("必须是整数") from None


SPEC = ImportSpec(
    columns=[
        ImportColumn("代码", "code", required=True),
        ImportColumn("名称", "name", required=True),
        ImportColumn("序号", "n", parse=_int),
    ],
    key="code",
)


def _upload(headers, rows, name="data.xlsx"):
    return SimpleUploadedFile(name, write_xlsx(headers, rows))


def _handler(values, row):
    if values["name"] == "坏":
        raise RowError("名称不允许", column="名称")
    if values["name"] == "服务错误":
        raise ValidationFailed("服务拒绝", field="name")
    Region.objects.create(code=values["code"], name=values["name"])
    return "created"


def test_read_rows_maps_headers_and_skips_blank_rows():
    headers, rows = read_rows(
        io.BytesIO(write_xlsx(["代码", "名称"], [["A", "甲"], ["", ""], [12.0, "乙"]])), SPEC
    )
    assert headers == ["代码", "名称"]
    assert [r.raw for r in rows] == [{"代码": "A", "名称": "甲"}, {"代码": "12", "名称": "乙"}]
    assert [r.number for r in rows] == [2, 4]


def test_header_problems_are_file_errors():
    with pytest.raises(ImportFileError, match="缺少必填列：名称"):
        read_rows(io.BytesIO(write_xlsx(["代码"], [["A"]])), SPEC)
    with pytest.raises(ImportFileError, match="无法识别的列：颜色"):
        read_rows(io.BytesIO(write_xlsx(["代码", "名称", "颜色"], [["A", "甲", "红"]])), SPEC)


def test_all_rows_valid_commits_everything():
    report = run_import(
        spec=SPEC, file=_upload(["代码", "名称", "序号"], [["A", "甲", 1], ["B", "乙", ""]]), handler=_handler
    )
    assert report.ok and report.created == 2 and not report.errors
    assert set(Region.objects.values_list("code", flat=True)) == {"A", "B"}


def test_one_bad_row_rolls_back_everything_and_reports_per_row():
    rows = [["A", "甲", 1], ["B", "坏", 2], ["C", "", "x"], ["A", "重复", 3], ["D", "服务错误", 4]]
    report = run_import(spec=SPEC, file=_upload(["代码", "名称", "序号"], rows), handler=_handler)
    assert not report.ok
    assert Region.objects.count() == 0  # nothing committed, not even row A
    by_row = {r.number: r.errors for r in report.rows}
    assert by_row[2] == []
    assert by_row[3] == [("名称", "名称不允许")]
    assert ("名称", "必填") in by_row[4] and ("序号", "必须是整数") in by_row[4]
    assert by_row[5] == [("代码", "与第 2 行重复")]
    assert by_row[6] == [("名称", "服务拒绝")]
    # the report: original columns plus the error column, only failed rows carry a message
    table = CalamineWorkbook.from_filelike(io.BytesIO(report.report_xlsx())).get_sheet_by_index(0).to_python()
    assert table[0] == ["代码", "名称", "序号", ERROR_HEADER]
    assert table[1][3] == ""
    assert table[2][3] == "名称：名称不允许"
    assert "必填" in table[3][3]


def test_non_xlsx_and_oversized_files_refused(settings):
    report = run_import(spec=SPEC, file=SimpleUploadedFile("data.csv", b"a,b\n1,2\n"), handler=_handler)
    assert not report.ok and "xlsx" in report.file_error
    report = run_import(spec=SPEC, file=SimpleUploadedFile("fake.xlsx", b"not a zip"), handler=_handler)
    assert not report.ok and "无法读取" in report.file_error
    settings.KEHU_IMPORT_MAX_BYTES = 100
    report = run_import(spec=SPEC, file=_upload(["代码", "名称"], [["A", "甲"]] * 50), handler=_handler)
    assert not report.ok and "文件过大" in report.file_error


def test_empty_file_and_row_limit():
    report = run_import(spec=SPEC, file=_upload(["代码", "名称"], []), handler=_handler)
    assert not report.ok and "没有数据行" in report.file_error
    report = run_import(
        spec=SPEC, file=_upload(["代码", "名称"], [["A", "甲"], ["B", "乙"]]), handler=_handler, max_rows=1
    )
    assert not report.ok and "行数过多" in report.file_error


def test_report_file_can_be_reimported_after_fixing():
    """The report keeps the original columns; its error column is ignored on re-upload."""
    report = run_import(spec=SPEC, file=_upload(["代码", "名称"], [["A", "坏"]]), handler=_handler)
    data = report.report_xlsx()
    headers, rows = read_rows(io.BytesIO(data), SPEC)
    assert headers == ["代码", "名称"] and rows[0].raw == {"代码": "A", "名称": "坏"}
