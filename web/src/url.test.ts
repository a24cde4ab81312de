import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRange, parseState, serializeState } from "./url.js";

test("URL state: the issue's example parses, round-trips, and bad parameters are one-line errors naming them", () => {
  const s = parseState("?experiment=invert&models=fashion-mnist-standard,fashion-mnist-l2&targets=0-9&steps=200&autorun=1");
  assert.equal(s.experiment, "invert");
  assert.deepEqual(s.models, ["fashion-mnist-standard", "fashion-mnist-l2"]);
  assert.deepEqual(s.targets, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(s.steps, 200);
  assert.equal(s.stepSize, 1);
  assert.equal(s.eps, 1000);
  assert.equal(s.autorun, true);
  assert.deepEqual(parseState(serializeState(s)), s);
  const a = parseState("experiment=attack&threat=linf&eps=0.05&steps=10");
  assert.ok(Math.abs(a.stepSize - 0.0125) < 1e-12);
  assert.equal(a.feature, null);
  assert.deepEqual(parseRange("0-2,5", "targets"), [0, 1, 2, 5]);
  // sketches: the class, the sketch task's 60 steps, ε raised from the scaled 2.89 to 6
  const k = parseState("experiment=sketch&class=7");
  assert.equal(k.cls, 7);
  assert.deepEqual(k.targets, [0]);
  assert.equal(k.steps, 60);
  assert.equal(k.eps, 6);
  assert.deepEqual(parseState(serializeState(k)), k);
  assert.throws(() => parseState("experiment=sketch&class=-1"), /^Error: URL parameter class: expected a class index, got "-1"$/);
  assert.throws(() => parseState("steps=abc"), /^Error: URL parameter steps: expected a positive integer, got "abc"$/);
  assert.throws(() => parseState("experiment=fly"), /URL parameter experiment: expected invert \| ood/);
  assert.throws(() => parseState("targets=3-1"), /URL parameter targets: bad range "3-1"/);
});
