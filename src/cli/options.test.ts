import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError } from "commander";
import { intIn, numberIn, numberList, oneOf, parse } from "./options.js";
import { inputCandidates } from "./paths.js";

test("number parsers accept what a user means and refuse non-finite, fractional and out-of-range values", () => {
  const steps = intIn(1, 1000);
  assert.equal(steps("10"), 10);
  assert.equal(steps("1e3"), 1000);
  for (const bad of ["abc", "", " ", "1.5", "0", "-3", "1e308", "Infinity", "NaN", "0x10x"])
    assert.throws(() => steps(bad), InvalidArgumentError, bad);
  const eps = numberIn(1e6);
  assert.equal(eps("0.5"), 0.5);
  assert.equal(eps("8e-3"), 0.008);
  for (const bad of ["0", "-1", "1e308", "Infinity", "NaN", "abc", ""]) assert.throws(() => eps(bad), InvalidArgumentError, bad);
  assert.equal(numberIn(10, { zero: true })("0"), 0);
  assert.equal(parse.seed("4294967295"), 4294967295);
  assert.throws(() => parse.seed("4294967296"), /0\.\.4294967295/);
  assert.throws(() => parse.seed("-1"), InvalidArgumentError);
  assert.deepEqual(numberList(10)("0.25, 0.5,1"), [0.25, 0.5, 1]);
  assert.throws(() => numberList(10)("0.25,,1"), /comma-separated/);
  assert.throws(() => numberList(10)("0.25,1e9"), /\(0, 10\]/);
  assert.equal(oneOf(["l2", "linf"] as const)("linf"), "linf");
  assert.throws(() => oneOf(["l2", "linf"] as const)("l7"), /one of l2, linf/);
});

test("input arguments name their files: specs, npy pairs, :INDICES and ?options", () => {
  assert.deepEqual(
    new Set(inputCandidates("npy:a/x.npy,a/y.npy?limit=3")),
    new Set(["npy:a/x.npy,a/y.npy?limit=3", "npy:a/x.npy", "npy", "a/x.npy", "a/y.npy", "limit=3"]),
  );
  assert.ok(inputCandidates("x.npy:0-9").includes("x.npy"));
  assert.ok(inputCandidates("cifar10:/data/c?limit=5").includes("/data/c"));
});
