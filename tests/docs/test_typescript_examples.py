"""The pages' TypeScript blocks, compiled with ``tsc`` (strict) against the workspace's
``@cinch/sdk``: an example that stops matching the SDK's types fails here."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.docs.examples import ROOT, blocks, pages

TSC = ROOT / "node_modules" / ".bin" / "tsc"
SDK_TYPES = ROOT / "sdk-ts" / "dist" / "index.d.ts"


@pytest.mark.skipif(not (TSC.exists() and SDK_TYPES.exists()),
                    reason="needs the npm workspace with the SDK built (make install-all)")
def test_the_typescript_blocks_compile() -> None:
    work = ROOT / "docs" / ".examples"  # inside the workspace, so @cinch/sdk resolves
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    files = []
    try:
        for page in pages():
            for number, code in enumerate(blocks(page, "ts", "typescript"), 1):
                name = f"{page.stem}-{number}.ts"
                # each block is its own module (top-level await, no clashing names)
                (work / name).write_text(code if "export " in code else code + "\nexport {};\n")
                files.append(name)
        assert len(files) >= 4, files
        (work / "tsconfig.json").write_text(json.dumps({"compilerOptions": {
            "target": "ES2022", "module": "ESNext", "moduleResolution": "Bundler",
            "strict": True, "noEmit": True, "skipLibCheck": True, "types": ["node"],
            "lib": ["ES2022", "DOM"]}, "files": files}))
        done = subprocess.run([str(TSC), "-p", str(work / "tsconfig.json")], cwd=work,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        shutil.rmtree(work, ignore_errors=True)
