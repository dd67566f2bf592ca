#!/usr/bin/env python3
"""Vendor ONNX Runtime Web into site/vendor/ort from the npm package at a pinned version (npm pack, by
package name), checking each file's sha256, so the page loads nothing from a CDN. Idempotent.

Usage: python vendor_ort.py    (needs npm; the tarball is kept in ../../.cache)
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

PACKAGE, VERSION = "onnxruntime-web", "1.22.0"
# The WebGPU build (JSEP) also carries the WASM execution provider, so these three files do both.
FILES = {
    "ort.webgpu.min.mjs": "e131e81c9324807e1e6f9103e8f8e936112827dcc9993cde9407a333b1f07ae0",
    "ort-wasm-simd-threaded.jsep.mjs": "1cbcba8f2c769c1eecbab66a1b1e55ef11704515bf4306373e3db3c37cf6dcd8",
    "ort-wasm-simd-threaded.jsep.wasm": "b45970d0632383a057c27ca5b660b216f8e00c17cf8db9f6207b5e4abc839368",
}
HERE = Path(__file__).resolve().parent
TARGET = HERE / "site" / "vendor" / "ort"
CACHE = HERE.parents[1] / ".cache"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def vendored() -> bool:
    return all((TARGET / name).is_file() and sha256((TARGET / name).read_bytes()) == digest
               for name, digest in FILES.items())


def main() -> int:
    if vendored():
        print(f"{PACKAGE} {VERSION} already vendored in {TARGET}")
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"{PACKAGE}-{VERSION}.tgz"
    if not tarball.exists():
        npm = shutil.which("npm")  # on Windows npm is npm.cmd, which only a PATH search with PATHEXT finds
        if npm is None:
            print("npm not found on PATH: install Node.js (it brings npm)", file=sys.stderr)
            return 1
        subprocess.run([npm, "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", str(CACHE)],
                       check=True, stdout=subprocess.DEVNULL)
    TARGET.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        for name, digest in FILES.items():
            data = tar.extractfile(f"package/dist/{name}").read()
            if sha256(data) != digest:
                print(f"{name}: checksum mismatch, refusing to vendor it", file=sys.stderr)
                return 1
            (TARGET / name).write_bytes(data)
    print(f"vendored {PACKAGE} {VERSION} into {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
