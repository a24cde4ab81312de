import assert from "node:assert/strict";
import { test } from "node:test";
import { type TrainCliOptions, advOf } from "./train.js";

const base: TrainCliOptions = {
  data: "fashion-mnist",
  arch: "small-cnn",
  epochs: 12,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  schedule: "cosine",
  batchSize: 128,
  out: "runs/x",
  evalLimit: 1000,
  augment: true,
  seed: 0,
};

test("--adv free and n-fgsm: the union from the flags, with the documented defaults", () => {
  assert.deepEqual(advOf({ ...base, adv: "free", threat: "l2", eps: 1.25, replays: 4 }), {
    kind: "free",
    threat: "l2",
    eps: 1.25,
    replays: 4,
    stepSize: undefined,
  });
  assert.deepEqual(advOf({ ...base, adv: "n-fgsm", threat: "linf", eps: 0.1 }), {
    kind: "n-fgsm",
    threat: "linf",
    eps: 0.1,
    noise: 2,
    stepSize: undefined,
  });
  assert.equal(advOf(base), undefined);
});

test("flags that do not apply, or are missing, are one-line usage errors naming the flag", () => {
  const cases: [Partial<TrainCliOptions>, RegExp][] = [
    [{ adv: "free", threat: "l2", eps: 1 }, /^--adv free needs --replays M/],
    [{ adv: "free", eps: 1, replays: 4 }, /^--adv free needs --threat l2\|linf$/],
    [{ adv: "free", threat: "l2", eps: 1, replays: 5 }, /^--epochs 12 is not a multiple of --replays 5/],
    [{ adv: "n-fgsm", threat: "l2", eps: 1, replays: 2 }, /^--replays applies to --adv free only$/],
    [{ adv: "free", threat: "l2", eps: 1, replays: 2, noise: 1 }, /^--noise applies to --adv n-fgsm only$/],
    [{ adv: "l2", threat: "l2", eps: 1 }, /^--threat applies to --adv free\|n-fgsm only/],
    [{ adv: "n-fgsm", threat: "l2", eps: 1, steps: 3 }, /^--steps applies to --adv l2\|linf only$/],
    [{ adv: "n-fgsm", threat: "l2" }, /^--adv n-fgsm needs --eps$/],
  ];
  for (const [o, re] of cases)
    assert.throws(
      () => advOf({ ...base, ...o }),
      (e: Error) => re.test(e.message) && !e.message.includes("\n"),
    );
});
