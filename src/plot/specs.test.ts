import assert from "node:assert/strict";
import { test } from "node:test";
import { attackLabel, modelDisplayName, parseEvalReport, parseMetricsJsonl, robustnessPoints } from "./data.js";
import { objectiveSpec, robustnessSpec, specValues, trainingSpec } from "./specs.js";
import { PALETTE } from "./style.js";

interface Enc {
  field?: string;
  title?: string;
  scale?: { domain?: unknown };
}
/** The parts of a built spec the tests read. */
interface Loose {
  encoding: Record<string, Enc | undefined>;
  config: { range: { category: unknown } };
  hconcat?: unknown[];
}

const report = parseEvalReport(
  {
    model: "models/mnist-l2/model.onnx",
    data: "mnist",
    images: 100,
    clean_accuracy: 0.98,
    results: [
      { threat: "l2", eps: 2, attack: "pgd", steps: 20, restarts: 1, step_size: 0.25, robust_accuracy: 0.7 },
      { threat: "l2", eps: 1, attack: "pgd", steps: 20, restarts: 1, step_size: 0.125, robust_accuracy: 0.9 },
      { threat: "l2", eps: 1, attack: "apgd-ce", steps: 20, restarts: 1, step_size: null, robust_accuracy: 0.88 },
    ],
  },
  "r.json",
);

test("robustness points: per attack, clean accuracy at ε = 0, then robust accuracy in ε order; name from the zoo folder", () => {
  assert.deepEqual(robustnessPoints(report), [
    { model: "mnist-l2", attack: "PGD-20", eps: 0, accuracy: 0.98 },
    { model: "mnist-l2", attack: "PGD-20", eps: 1, accuracy: 0.9 },
    { model: "mnist-l2", attack: "PGD-20", eps: 2, accuracy: 0.7 },
    { model: "mnist-l2", attack: "APGD-CE-20", eps: 0, accuracy: 0.98 },
    { model: "mnist-l2", attack: "APGD-CE-20", eps: 1, accuracy: 0.88 },
  ]);
  assert.equal(modelDisplayName("runs/x/net.onnx"), "net");
  assert.equal(modelDisplayName("model.onnx"), "model");
  assert.equal(attackLabel("fgsm", 1), "FGSM");
  assert.equal(attackLabel("pgd", 10, 5), "PGD-10 ×5");
});

test("eval reports and metrics lines are validated with the file and field named", () => {
  assert.throws(
    () => parseEvalReport({ model: "m", clean_accuracy: 1.5, results: [] }, "a.json"),
    /a\.json: "clean_accuracy" must be a number in \[0,1\]/,
  );
  assert.throws(
    () =>
      parseEvalReport(
        { model: "m", clean_accuracy: 0.5, results: [{ threat: "l2", attack: "pgd", eps: 1, robust_accuracy: null }] },
        "b.json",
      ),
    /b\.json: results\[0\]\.robust_accuracy/,
  );
  assert.throws(() => parseEvalReport([], "c.json"), /c\.json: eval report has no "model"/);
  assert.throws(
    () => parseMetricsJsonl('{"epoch":0,"lr":0.1,"train_loss":1,"train_acc":0.5,"test_acc":0.5,"adv_acc":null}\n{"epoch":1}\n', "m.jsonl"),
    /m\.jsonl:2: "lr" must be a finite number/,
  );
  assert.throws(() => parseMetricsJsonl("nope\n", "m.jsonl"), /m\.jsonl:1: not JSON/);
});

test("robustness spec: one model colours by attack; several models colour by model and dash by attack; accuracy in %", () => {
  const one = robustnessSpec(robustnessPoints(report), { threat: "l2" }) as unknown as Loose;
  assert.equal(one.encoding.color!.field, "attack");
  assert.equal(one.encoding.strokeDash, undefined);
  assert.match(one.encoding.x!.title ?? "", /L2 radius, pixels in \[0,1\]/);
  assert.equal(one.encoding.y!.title, "accuracy (%)");
  assert.deepEqual(one.config.range.category, [...PALETTE]);
  assert.deepEqual(
    specValues(one as never).find((v) => v.eps === 2),
    { model: "mnist-l2", attack: "PGD-20", eps: 2, accuracy: 70 },
  );
  const std = robustnessPoints({ ...report, model: "models/mnist-standard/model.onnx" });
  const two = robustnessSpec([...robustnessPoints(report), ...std]) as unknown as Loose;
  assert.equal(two.encoding.color!.field, "model");
  assert.deepEqual(two.encoding.color!.scale!.domain, ["mnist-l2", "mnist-standard"]);
  assert.equal(two.encoding.strokeDash!.field, "attack");
  assert.equal(specValues(two as never).length, 10);
  assert.throws(() => robustnessSpec([]), /no points/);
});

test("training spec: loss, clean/adversarial accuracy and learning rate per 1-based epoch; runs need distinct names", () => {
  const epochs = parseMetricsJsonl(
    [
      '{"epoch":0,"lr":0.05,"train_loss":1.2,"train_acc":0.5,"test_acc":0.9,"adv_acc":0.6}',
      '{"epoch":1,"lr":0.025,"train_loss":0.8,"train_acc":0.6,"test_acc":0.95,"adv_acc":0.65}',
    ].join("\n"),
    "m.jsonl",
  );
  const spec = trainingSpec([
    { name: "a", epochs },
    { name: "b", epochs: epochs.map((e) => ({ ...e, adv_acc: null })) },
  ]) as unknown as Loose;
  const v = specValues(spec as never);
  assert.equal(v.filter((r) => r.run === "a").length, 8);
  assert.equal(v.filter((r) => r.run === "b").length, 6);
  assert.deepEqual(
    v.find((r) => r.run === "a" && r.epoch === 2 && String(r.series).startsWith("adversarial")),
    { run: "a", epoch: 2, series: "adversarial (PGD-10)", value: 65 },
  );
  assert.equal(spec.hconcat!.length, 3);
  assert.throws(
    () =>
      trainingSpec([
        { name: "a", epochs },
        { name: "a", epochs },
      ]),
    /must differ/,
  );
});

test("objective spec: one line per model on one axis; a non-finite objective is refused", () => {
  const pts = [0, 1, 2].flatMap((s) => [
    { model: "std", step: s, value: 1 - s / 10 },
    { model: "robust", step: s, value: 1 - s / 5 },
  ]);
  const spec = objectiveSpec(pts, { title: "Inversion", yTitle: "distance" }) as unknown as Loose;
  assert.deepEqual(spec.encoding.color!.scale!.domain, ["std", "robust"]);
  assert.equal(specValues(spec as never).length, 6);
  assert.throws(
    () => objectiveSpec([{ model: "m", step: 3, value: NaN }], { title: "Inversion", yTitle: "d" }),
    /m has a non-finite objective at step 3/,
  );
});
