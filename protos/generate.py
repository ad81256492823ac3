"""Regenerate the Python code of every .proto under protos/.

    python -m protos.generate          # rewrite the generated files
    python -m protos.generate --check  # exit 1 if a committed file is stale

Protos are compiled with the repository root as include path, so generated
modules import each other as ``protos.…`` and never shadow the real ``grpc``
package (our copy of ``grpc.testing`` lives at ``protos/grpc/testing``).
"""

from __future__ import annotations

import filecmp
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
WELL_KNOWN = Path(grpc_tools.__file__).parent / "_proto"


def sources() -> list[Path]:
    return sorted(PROTOS.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    files = [str(path.relative_to(ROOT)) for path in sources()]
    args = [
        "protoc",
        f"-I{ROOT}",
        f"-I{WELL_KNOWN}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    return generated_files(out_dir)


def generated_files(root: Path) -> list[Path]:
    """The generated modules and stubs under ``root`` (bytecode caches are not generated code)."""
    return sorted(
        p.relative_to(root) for p in (root / "protos").rglob("*_pb2*.py*") if p.suffix in (".py", ".pyi")
    )


def main(argv: list[str]) -> int:
    check = "--check" in argv
    if not check:
        for path in generate(ROOT):
            print(f"wrote {path}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        stale = [
            str(p)
            for p in fresh
            if not (ROOT / p).exists() or not filecmp.cmp(Path(tmp) / p, ROOT / p, shallow=False)
        ]
        committed = generated_files(ROOT)
        extra = [str(p) for p in committed if p not in fresh]
    for path in stale:
        print(f"stale: {path}")
    for path in extra:
        print(f"no .proto generates: {path}")
    return 1 if stale or extra else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
