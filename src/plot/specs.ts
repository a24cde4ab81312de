// Vega-Lite specs for robustlens plots (browser-safe): accuracy vs ε, training curves, search objectives. Data is always inline.
import type { TopLevelSpec } from "vega-lite";
import type { EpochRecord, RobustnessPoint } from "./data.js";
import { CONFIG, DASHES } from "./style.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Dash legends show line samples, not symbols. */
const STROKE_LEGEND = { symbolType: "stroke", symbolSize: 400, symbolStrokeColor: "#555" };

export interface PlotSize {
  width?: number;
  height?: number;
}

/** Distinct values in first-seen order (legend order = the order the caller gave). */
const distinct = <T>(xs: readonly T[]): T[] => [...new Set(xs)];

const round = (v: number, digits = 6) => Number(v.toPrecision(digits));

/** ε axis title per threat model: the radius is in pixel units of [0,1] images (DESIGN.md §4). */
export function epsTitle(threat?: string): string {
  if (threat === "linf") return "ε (L∞ radius, pixels in [0,1])";
  if (threat === "l2") return "ε (L2 radius, pixels in [0,1])";
  return "ε (pixels in [0,1])";
}

export interface RobustnessPlotOptions extends PlotSize {
  threat?: string;
  title?: string;
  subtitle?: string;
}

/**
 * Accuracy (%) against ε, one line per (model, attack), clean accuracy at ε = 0. One model: colour per attack; several: colour per
 * model and dash per attack.
 */
export function robustnessSpec(points: readonly RobustnessPoint[], o: RobustnessPlotOptions = {}): TopLevelSpec {
  if (points.length === 0) throw new Error("accuracy-vs-ε plot: no points (an unconstrained eval has no ε axis)");
  const models = distinct(points.map((p) => p.model)),
    attacks = distinct(points.map((p) => p.attack));
  const several = models.length > 1;
  const values = points.map((p) => ({ model: p.model, attack: p.attack, eps: round(p.eps), accuracy: round(100 * p.accuracy, 4) }));
  const colorBy = several ? { field: "model", domain: models, title: "model" } : { field: "attack", domain: attacks, title: "attack" };
  return {
    $schema: SCHEMA,
    title: { text: o.title ?? "Accuracy under attack", subtitle: o.subtitle ?? "clean accuracy at ε = 0" },
    width: o.width ?? 380,
    height: o.height ?? 250,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "eps", type: "quantitative", title: epsTitle(o.threat) },
      y: { field: "accuracy", type: "quantitative", title: "accuracy (%)", scale: { domain: [0, 100] } },
      color: { field: colorBy.field, type: "nominal", title: colorBy.title, scale: { domain: colorBy.domain } },
      ...(several && attacks.length > 1
        ? {
            strokeDash: {
              field: "attack",
              type: "nominal",
              title: "attack",
              scale: { domain: attacks, range: DASHES.slice(0, attacks.length) },
              legend: STROKE_LEGEND,
            },
          }
        : {}),
      tooltip: [
        { field: "model" },
        { field: "attack" },
        { field: "eps", title: "ε" },
        { field: "accuracy", title: "accuracy (%)", format: ".1f" },
      ],
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/** A training run's epochs under a display name. */
export interface TrainingRun {
  name: string;
  epochs: readonly EpochRecord[];
}

export const TRAINING_SERIES = { loss: "train loss", clean: "clean", adv: "adversarial (PGD-10)", lr: "learning rate" } as const;

/** Three panels over epochs: training loss, clean and adversarial test accuracy (%), learning rate; colour per run. */
export function trainingSpec(runs: readonly TrainingRun[], o: PlotSize & { title?: string } = {}): TopLevelSpec {
  if (runs.length === 0 || runs.every((r) => r.epochs.length === 0)) throw new Error("training plot: no epochs to plot");
  const names = runs.map((r) => r.name);
  if (new Set(names).size !== names.length) throw new Error(`training plot: run names must differ, got ${names.join(", ")}`);
  const values = runs.flatMap((r) =>
    r.epochs.flatMap((e) => [
      { run: r.name, epoch: e.epoch + 1, series: TRAINING_SERIES.loss, value: round(e.train_loss) },
      { run: r.name, epoch: e.epoch + 1, series: TRAINING_SERIES.clean, value: round(100 * e.test_acc, 4) },
      ...(e.adv_acc === null ? [] : [{ run: r.name, epoch: e.epoch + 1, series: TRAINING_SERIES.adv, value: round(100 * e.adv_acc, 4) }]),
      { run: r.name, epoch: e.epoch + 1, series: TRAINING_SERIES.lr, value: round(e.lr) },
    ]),
  );
  const accSeries = distinct(values.map((v) => v.series)).filter((s) => s === TRAINING_SERIES.clean || s === TRAINING_SERIES.adv);
  const width = o.width ?? 240,
    height = o.height ?? 200;
  const x = { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1, format: "d" } };
  const color = { field: "run", type: "nominal", title: "run", scale: { domain: names } };
  const tooltip = [{ field: "run" }, { field: "epoch" }, { field: "series" }, { field: "value", format: ".4~g" }];
  const panel = (series: string[], title: string, y: object, extra: object = {}) => ({
    width,
    height,
    title: { text: title, fontSize: 12 },
    transform: [{ filter: { field: "series", oneOf: series } }],
    mark: { type: "line", point: true },
    encoding: { x, y: { field: "value", type: "quantitative", ...y }, color, tooltip, ...extra },
  });
  return {
    $schema: SCHEMA,
    title: { text: o.title ?? "Training curves", subtitle: runs.length > 1 ? `${runs.length} runs` : runs[0]!.name },
    data: { values },
    hconcat: [
      panel([TRAINING_SERIES.loss], "training loss (cross-entropy)", { title: "loss", scale: { zero: false } }),
      panel(
        accSeries,
        "test accuracy",
        { title: "accuracy (%)", scale: { domain: [0, 100] } },
        {
          strokeDash: {
            field: "series",
            type: "nominal",
            title: "test accuracy",
            scale: { domain: accSeries, range: DASHES.slice(0, accSeries.length) },
            legend: STROKE_LEGEND,
          },
        },
      ),
      panel([TRAINING_SERIES.lr], "learning rate (end of epoch)", { title: "learning rate", axis: { format: ".2~g" } }),
    ],
    config: CONFIG,
  } as TopLevelSpec;
}

/** One step of a search's objective for one model (the mean over the search's examples). */
export interface ObjectivePoint {
  model: string;
  step: number;
  value: number;
}

/** A search's objective against the step, one line per model on one axis. */
export function objectiveSpec(
  points: readonly ObjectivePoint[],
  o: PlotSize & { title: string; yTitle: string; subtitle?: string; logY?: boolean },
): TopLevelSpec {
  if (points.length === 0) throw new Error(`objective plot "${o.title}": no steps to plot`);
  const bad = points.find((p) => !Number.isFinite(p.value));
  if (bad) throw new Error(`objective plot "${o.title}": ${bad.model} has a non-finite objective at step ${bad.step}`);
  const models = distinct(points.map((p) => p.model));
  return {
    $schema: SCHEMA,
    title: { text: o.title, ...(o.subtitle ? { subtitle: o.subtitle } : {}) },
    width: o.width ?? 320,
    height: o.height ?? 200,
    data: { values: points.map((p) => ({ model: p.model, step: p.step, value: round(p.value) })) },
    mark: { type: "line" },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step", axis: { tickMinStep: 1, format: "d" } },
      y: { field: "value", type: "quantitative", title: o.yTitle, scale: o.logY ? { type: "log" } : { zero: false } },
      color: { field: "model", type: "nominal", title: "model", scale: { domain: models } },
      strokeDash: {
        field: "model",
        type: "nominal",
        title: "model",
        scale: { domain: models, range: DASHES.slice(0, models.length) },
        legend: STROKE_LEGEND,
      },
      tooltip: [{ field: "model" }, { field: "step" }, { field: "value", format: ".4~g" }],
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/** The inline rows of a spec built here (what a plot shows, for tests and readers). */
export function specValues(spec: TopLevelSpec): Record<string, unknown>[] {
  const d = (spec as { data?: { values?: unknown } }).data;
  if (!d || !Array.isArray(d.values)) throw new Error("plot spec: data must be inline values");
  return d.values as Record<string, unknown>[];
}
