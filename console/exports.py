"""Risk lists as files a regulator opens in a spreadsheet: CSV (UTF-8 with a byte-order mark, so Excel
reads the Chinese names) and XLSX, with headers in the person's language."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

import xlsxwriter
from starlette.responses import Response

from console import i18n
from integrity.scoring.v1 import scoring_pb2 as S

Column = tuple[str, Callable[[S.RiskEntry, str], Any]]

RISK_COLUMNS: tuple[Column, ...] = (
    ("common.uscc", lambda e, lang: e.enterprise.removeprefix("enterprises/")),
    ("common.name", lambda e, lang: e.display_name),
    ("common.region", lambda e, lang: e.region_code),
    ("common.industry", lambda e, lang: e.industry_code),
    ("common.level", lambda e, lang: S.GradeLevel.Name(e.grade.level).removeprefix("GRADE_LEVEL_")),
    ("common.score", lambda e, lang: e.grade.score),
    ("common.probability", lambda e, lang: round(e.grade.violation_probability, 4)),
    (
        "common.provisional",
        lambda e, lang: i18n.t("common.yes" if e.grade.provisional else "common.no", lang),
    ),
    (
        "risk.reasons",
        lambda e, lang: "; ".join(r.text if lang == "en" else r.text_zh for r in e.grade.reasons),
    ),
    ("common.as_of", lambda e, lang: i18n.china_time(e.grade.as_of)),
)


def _rows(entries: Sequence[Any], lang: str, columns: Sequence[Column]) -> list[list[Any]]:
    return [[value(entry, lang) for _, value in columns] for entry in entries]


def csv_response(entries: Sequence[Any], lang: str, filename: str, columns: Sequence[Column]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([i18n.t(key, lang) for key, _ in columns])
    writer.writerows(_rows(entries, lang, columns))
    return Response(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


def xlsx_response(entries: Sequence[Any], lang: str, filename: str, columns: Sequence[Column]) -> Response:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    sheet = workbook.add_worksheet("risk")
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, [i18n.t(key, lang) for key, _ in columns], bold)
    for index, row in enumerate(_rows(entries, lang, columns), start=1):
        sheet.write_row(index, 0, row)
    sheet.freeze_panes(1, 0)
    workbook.close()
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
