"""Builds the contract other systems pin (`make protos-package`), versioned as the project (pyproject.toml):

- dist/integrity_protos-<version>-py3-none-any.whl: the generated Python code (messages, gRPC stubs, type
  stubs) with the .proto files beside it, depending only on protobuf and grpcio;
- dist/integrity-protos-<version>.binpb: a buf image (FileDescriptorSet with source info) for any
  language's code generator: `buf generate dist/integrity-protos-<version>.binpb`.

The protobuf floor is the one the generated code checks at import (its gencode version).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"


def gencode_floor(generated: Path) -> str:
    """The protobuf version the generated code requires at run time (ValidateProtobufRuntimeVersion
    checks major, minor and patch), the highest any module asks for."""
    found = [
        tuple(int(part) for part in match)
        for module in generated.rglob("*_pb2.py")
        for match in re.findall(
            r"ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,\s*(\d+),\s*(\d+),\s*(\d+)",
            module.read_text(),
        )
    ]
    return ".".join(map(str, max(found))) if found else "5.26"


def grpc_floor(generated: Path) -> str:
    """The grpcio version the generated stubs require at import (GRPC_GENERATED_VERSION)."""
    found = [
        match
        for module in generated.rglob("*_pb2_grpc.py")
        for match in re.findall(r"GRPC_GENERATED_VERSION = '([\d.]+)'", module.read_text())
    ]
    return max(found, key=lambda v: tuple(map(int, v.split(".")))) if found else "1.70"


def main() -> int:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    generated = ROOT / "gen" / "integrity"
    if not any(generated.rglob("*_pb2.py")):
        print("protos-package: no generated code in gen/; run `make gen`", file=sys.stderr)
        return 1
    DIST.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="integrity-protos-") as scratch:
        source = Path(scratch)
        shutil.copytree(generated, source / "integrity", ignore=shutil.ignore_patterns("__pycache__"))
        for proto in (ROOT / "protos").rglob("*.proto"):
            target = source / proto.relative_to(ROOT / "protos")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(proto, target)
        (source / "integrity" / "py.typed").touch()
        (source / "pyproject.toml").write_text(
            f"""[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "integrity-protos"
version = "{version}"
description = "The gRPC APIs and Kafka event payloads of the metrology-integrity system (integrity.*.v1)"
requires-python = ">=3.9"
dependencies = ["protobuf>={gencode_floor(generated)},<8", "grpcio>={grpc_floor(generated)},<2"]

[tool.setuptools.packages.find]
include = ["integrity*"]

[tool.setuptools.package-data]
"*" = ["*.proto", "*.pyi", "py.typed"]
"""
        )
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(DIST), str(source)],
            check=True,
        )
    image = DIST / f"integrity-protos-{version}.binpb"
    subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "buf"), "build", "-o", str(image)], check=True, cwd=ROOT
    )
    print(f"protos-package: {DIST / f'integrity_protos-{version}-py3-none-any.whl'} and {image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
