import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDataSpec } from "./spec.js";

test("data specs parse into kinds, paths and options", () => {
  assert.deepEqual(parseDataSpec("mnist"), { kind: "mnist", dir: undefined, options: {} });
  assert.deepEqual(parseDataSpec("fashion-mnist:/d/f?limit=100"), { kind: "fashion-mnist", dir: "/d/f", options: { limit: 100 } });
  assert.deepEqual(parseDataSpec("cifar10:C:\\data"), { kind: "cifar10", dir: "C:\\data", options: {} });
  assert.deepEqual(parseDataSpec("folder:pics?size=64&channels=1&holdout=0.2&flip=no"), {
    kind: "folder",
    dir: "pics",
    options: { size: 64, channels: 1, holdout: 0.2, flip: false },
  });
  assert.deepEqual(parseDataSpec("npy:x.npy,y.npy"), { kind: "npy", images: "x.npy", labels: "y.npy", options: {} });
});

test("bad data specs name the spec and what is wrong, in one line", () => {
  const cases: [string, RegExp][] = [
    ["imagenet:/d", /unknown dataset kind "imagenet"/],
    ["cifar10", /cifar10 needs a directory/],
    ["folder:", /folder needs a directory/],
    ["npy:x.npy", /npy needs two files/],
    ["mnist?size=3", /option "size" does not apply to mnist \(it takes limit\)/],
    ["mnist?limit=0", /limit must be a positive integer, got "0"/],
    ["folder:d?channels=2", /channels must be 1 or 3/],
    ["folder:d?holdout=1", /holdout must be a fraction in \(0,1\)/],
  ];
  for (const [spec, re] of cases) {
    assert.throws(
      () => parseDataSpec(spec),
      (e: Error) => {
        assert.match(e.message, re);
        assert.ok(e.message.startsWith(`--data "${spec}": `) && !e.message.includes("\n"), e.message);
        return true;
      },
    );
  }
});
