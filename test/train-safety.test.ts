// Training runs are never replaced, mixed or silently corrupted (issue 13): existing runs, resume options, locks,
// non-finite training, damaged checkpoints and temp files left by a kill.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cli, tmp } from "./helpers.js";

const DATA = "fashion-mnist?limit=128";
const trainArgs = (out: string, extra: string[] = []) => [
  "train",
  "--data",
  DATA,
  "--arch",
  "small-cnn",
  "--batch-size",
  "64",
  "--eval-limit",
  "64",
  "--out",
  out,
  ...extra,
];

function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [
        f,
        createHash("sha1")
          .update(readFileSync(join(dir, f)))
          .digest("hex"),
      ]),
  );
}

function refuses(args: string[], re: RegExp, dir: string): string {
  const before = snapshot(dir);
  const r = cli(args);
  assert.notEqual(r.status, 0, `${args.join(" ")} succeeded`);
  assert.match(r.stderr, re);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.deepEqual(snapshot(dir), before, `${args.join(" ")} changed the run directory`);
  return r.stderr;
}

/** A pid that is certainly not running: a process that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ["-e", "0"]).pid!;

test("an existing run is refused without --resume/--overwrite, resume must keep the options, and a live lock blocks a second trainer", () => {
  const out = join(tmp(), "run");
  const first = cli(trainArgs(out, ["--epochs", "1"]));
  assert.equal(first.status, 0, first.stderr);
  refuses(
    trainArgs(out, ["--epochs", "1"]),
    /holds a training run \(checkpoint\.rlck, metrics\.jsonl, model\.onnx, model\.json, curves\.svg\); pass --resume to continue it or --overwrite/,
    out,
  );
  refuses(
    trainArgs(out, ["--epochs", "1", "--resume", "--lr", "0.5"]),
    /--resume: option lr differs from the run in .*checkpoint\.rlck: it was 0\.1, now 0\.5/,
    out,
  );
  refuses(trainArgs(out, ["--epochs", "1", "--resume", "--adv", "l2", "--eps", "1"]), /option adv differs/, out);
  refuses(trainArgs(out, ["--epochs", "1", "--resume", "--seed", "3"]), /option seed differs/, out);
  refuses(trainArgs(out, ["--epochs", "2", "--resume"]), /option epochs differs/, out);
  refuses(trainArgs(out, ["--epochs", "1", "--resume", "--overwrite"]), /--resume and --overwrite exclude each other/, out);
  // a lock held by a live process (this test runner)
  writeFileSync(join(out, ".lock"), `${process.pid}\n`);
  refuses(trainArgs(out, ["--epochs", "1", "--resume"]), new RegExp(`is in use by training process ${process.pid}`), out);
  // a stale lock (dead pid) and a temp file left by a killed writer: taken over and cleaned
  writeFileSync(join(out, ".lock"), `${deadPid()}\n`);
  writeFileSync(join(out, ".checkpoint.rlck.99999.0123456789ab.tmp"), "torn");
  const again = cli(trainArgs(out, ["--epochs", "1", "--resume"]));
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /taking over the stale lock .*\.lock \(process \d+ is gone\)/);
  assert.deepEqual(
    readdirSync(out).filter((f) => f.endsWith(".tmp") || f === ".lock"),
    [],
  );
  const over = cli(trainArgs(out, ["--epochs", "1", "--overwrite", "--seed", "5"]));
  assert.equal(over.status, 0, over.stderr);
  assert.equal(readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").length, 1);
});

test("a damaged checkpoint is refused on --resume with one line naming it; non-finite training fails and exports nothing", () => {
  const out = join(tmp(), "run");
  assert.equal(cli(trainArgs(out, ["--epochs", "1"])).status, 0);
  const ck = join(out, "checkpoint.rlck");
  const good = readFileSync(ck);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 100] ^= 0x10;
  writeFileSync(ck, flipped);
  refuses(trainArgs(out, ["--epochs", "1", "--resume"]), /checkpoint\.rlck: checksum mismatch/, out);
  writeFileSync(ck, good.subarray(0, good.length - 7));
  refuses(trainArgs(out, ["--epochs", "1", "--resume"]), /checkpoint\.rlck: checksum mismatch/, out);

  const nan = join(tmp(), "nan");
  const r = cli([
    "train",
    "--data",
    "fashion-mnist?limit=512",
    "--arch",
    "small-cnn",
    "--batch-size",
    "64",
    "--epochs",
    "1",
    "--lr",
    "1e6",
    "--out",
    nan,
  ]);
  assert.notEqual(r.status, 0, "training with lr 1e6 must fail, not export a NaN model");
  assert.match(
    r.stderr,
    /epoch 1: (the training loss became (NaN|Infinity)|weight ".*" became non-finite).*no epoch completed, so no checkpoint was written/,
  );
  assert.deepEqual(readdirSync(nan), ["metrics.jsonl"]);
  assert.equal(readFileSync(join(nan, "metrics.jsonl"), "utf8"), "");
});

test("train --batch-size larger than the data is refused before any epoch", () => {
  const out = join(tmp(), "run");
  const r = cli(["train", "--data", DATA, "--arch", "small-cnn", "--epochs", "1", "--batch-size", "500", "--out", out]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--batch-size 500 is larger than the 128 training images/);
  assert.deepEqual(readdirSync(out), []);
});
