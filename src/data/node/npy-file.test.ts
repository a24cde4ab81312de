import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tensor } from "../../ir/tensor.js";
import { serializeNpy } from "../npy.js";
import { loadNpy, saveNpy } from "./npy-file.js";

const PYTHON = "/usr/bin/python3";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "robustlens-npy-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("saveNpy then loadNpy round-trips and leaves no temp file behind", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "x.npy");
    const t = tensor("float32", [2, 3], [1, 2, 3, 4, 5, 6.5]);
    await saveNpy(path, t);
    assert.deepEqual(await readdir(dir), ["x.npy"]);
    assert.deepEqual(new Uint8Array(await readFile(path)), serializeNpy(t));
    const back = await loadNpy(path);
    assert.equal(back.dtype, "float32");
    assert.deepEqual(back.shape, [2, 3]);
    assert.deepEqual([...back.data], [1, 2, 3, 4, 5, 6.5]);
    // Overwriting replaces the file whole and still leaves nothing else in the directory.
    await saveNpy(path, tensor("int64", [], [42]));
    assert.deepEqual(await readdir(dir), ["x.npy"]);
    assert.deepEqual([...(await loadNpy(path)).data], [42n]);
  }));

test("saveNpy failures are one line and leave no temp file", () =>
  withTempDir(async (dir) => {
    await assert.rejects(saveNpy(join(dir, "missing-dir", "x.npy"), tensor("uint8", [1], [1])), (e: Error) => {
      assert.match(e.message, /^cannot write .*x\.npy: no such file$/);
      return true;
    });
    // Renaming a file over a directory fails after the temp file is written: it must be cleaned up.
    const target = join(dir, "d.npy");
    await mkdir(target);
    await assert.rejects(saveNpy(target, tensor("uint8", [1], [1])), /^Error: cannot write .*d\.npy: /);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith(".tmp")),
      [],
    );
    await assert.rejects(saveNpy(join(dir, "bad.npy"), { dtype: "float32", shape: [2], data: new Float32Array(1) }), /do not fill shape/);
    assert.ok(!(await readdir(dir)).includes("bad.npy"));
  }));

test("loadNpy: missing file and bad contents give one-line errors naming the path", () =>
  withTempDir(async (dir) => {
    const missing = join(dir, "nope.npy");
    await assert.rejects(loadNpy(missing), (e: Error) => {
      assert.equal(e.message, `cannot read ${missing}: no such file`);
      return true;
    });
    const junk = join(dir, "junk.npy");
    await writeFile(junk, "hello\nworld\n");
    await assert.rejects(loadNpy(junk), (e: Error) => {
      assert.equal(e.message, `${junk}: not a .npy file (bad magic)`);
      return true;
    });
    await assert.rejects(loadNpy(dir), (e: Error) => {
      assert.equal(e.message, `cannot read ${dir}: is a directory`);
      return true;
    });
  }));

function hasNumpy(): boolean {
  try {
    execFileSync(PYTHON, ["-c", "import numpy"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const WRITE_PY = `
import sys, numpy as np
d = sys.argv[1]
np.save(d + "/f4.npy", (np.arange(2*3*4*5, dtype=np.float32).reshape(2, 3, 4, 5) / 7 - 3).astype(np.float32))
np.save(d + "/i8.npy", np.array([0, -1, 2**40, -(2**62), 7], dtype=np.int64))
np.save(d + "/u1.npy", np.arange(0, 256, 17, dtype=np.uint8).reshape(4, 4)[:, :4])
np.save(d + "/b1.npy", np.array([True, False, True, True]))
np.save(d + "/f8.npy", np.float64(3.141592653589793))
np.save(d + "/i4.npy", np.array([[1, -2], [3, 2**31 - 1]], dtype=np.int32))
`;

const CHECK_PY = `
import sys, numpy as np
a = np.load(sys.argv[1] + "/from-ts.npy")
assert a.dtype == np.float32, a.dtype
assert a.shape == (2, 1, 3), a.shape
assert a.flags.c_contiguous
np.testing.assert_array_equal(a.ravel(), np.array([0.5, -1.25, 3, 1e-3, 65504, -0.0], dtype=np.float32))
b = np.load(sys.argv[1] + "/scalar-ts.npy")
assert b.shape == () and b.dtype == np.int64 and int(b) == -(2**53) - 1, (b.shape, b.dtype, b)
c = np.load(sys.argv[1] + "/bool-ts.npy")
assert c.dtype == np.bool_ and c.tolist() == [True, False, True], c
print("ok")
`;

test("interoperates with numpy (np.save -> loadNpy, saveNpy -> np.load)", () =>
  withTempDir(async (dir) => {
    if (!hasNumpy()) {
      assert.fail(`${PYTHON} cannot import numpy; install it with: apt-get install python3-numpy`);
    }
    execFileSync(PYTHON, ["-c", WRITE_PY, dir]);

    const f4 = await loadNpy(join(dir, "f4.npy"));
    assert.equal(f4.dtype, "float32");
    assert.deepEqual(f4.shape, [2, 3, 4, 5]);
    assert.deepEqual(
      [...f4.data],
      Array.from({ length: 120 }, (_, i) => Math.fround(Math.fround(i / 7) - 3)),
    );

    const i8 = await loadNpy(join(dir, "i8.npy"));
    assert.equal(i8.dtype, "int64");
    assert.deepEqual(i8.shape, [5]);
    assert.deepEqual([...i8.data], [0n, -1n, 2n ** 40n, -(2n ** 62n), 7n]);

    const u1 = await loadNpy(join(dir, "u1.npy"));
    assert.equal(u1.dtype, "uint8");
    assert.deepEqual(u1.shape, [4, 4]);
    assert.deepEqual(
      [...u1.data],
      Array.from({ length: 16 }, (_, i) => i * 17),
    );

    const b1 = await loadNpy(join(dir, "b1.npy"));
    assert.equal(b1.dtype, "bool");
    assert.deepEqual([...b1.data], [1, 0, 1, 1]);

    const f8 = await loadNpy(join(dir, "f8.npy"));
    assert.equal(f8.dtype, "float64");
    assert.deepEqual(f8.shape, []);
    assert.deepEqual([...f8.data], [Math.PI]);

    const i4 = await loadNpy(join(dir, "i4.npy"));
    assert.equal(i4.dtype, "int32");
    assert.deepEqual([...i4.data], [1, -2, 3, 2 ** 31 - 1]);

    await saveNpy(join(dir, "from-ts.npy"), tensor("float32", [2, 1, 3], [0.5, -1.25, 3, 1e-3, 65504, -0]));
    await saveNpy(join(dir, "scalar-ts.npy"), tensor("int64", [], BigInt64Array.of(-(2n ** 53n) - 1n)));
    await saveNpy(join(dir, "bool-ts.npy"), tensor("bool", [3], [1, 0, 1]));
    const out = execFileSync(PYTHON, ["-c", CHECK_PY, dir], { encoding: "utf8" });
    assert.equal(out.trim(), "ok");
  }));
