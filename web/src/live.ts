// One search (attack, inversion, feature visualization) advanced a step at a time under the caller's control: the page
// pauses, resumes and interleaves two models step by step, which pgd()'s synchronous onStep cannot do. It runs the programs
// attackPrograms builds with pgd()'s semantics (best iterate before each step and after the last); tests pin it to pgd().
import {
  type AttackLoss,
  type AttackPrograms,
  type Model,
  type Session,
  type Tensor,
  type ThreatModel,
  type ThreatSpec,
  attackPrograms,
  tensor,
  threatModel,
} from "../../src/index.js";

export interface LiveSpec {
  loss: AttackLoss;
  threat: ThreatSpec | ThreatModel;
  stepSize: number;
  /** The images the threat set is centred on (and the start unless `start` is given). */
  x0: Tensor<"float32">;
  start?: Tensor<"float32">;
  keep?: "best" | "last";
  straightThrough?: string[];
  feeds?: Record<string, Tensor>;
  /** Per pixel (H·W, shared by channels and examples) 1 where the image may change, 0 where it stays (feature painting). */
  region?: Float32Array;
}

export interface LiveStep {
  /** The iterate after this step. */
  x: Tensor<"float32">;
  /** The loss (not the oriented objective) per example at the iterate before this step, and its logits. */
  loss: Float32Array;
  logits: Tensor;
}

export interface LiveResult {
  x: Tensor<"float32">;
  loss: Float32Array;
  logits: Tensor;
}

export class LiveSearch {
  private x: Tensor<"float32">;
  private bestX: Tensor<"float32">;
  private bestObj: Tensor<"float32">;
  private readonly alpha: Tensor<"float32">;
  private readonly sign: number;
  steps = 0;

  private constructor(
    private readonly p: AttackPrograms,
    private readonly model: Model,
    private readonly spec: LiveSpec,
  ) {
    const n = spec.x0.shape[0]!;
    this.x = spec.start ?? spec.x0;
    this.bestX = this.x;
    this.bestObj = tensor("float32", [n], new Float32Array(n).fill(-Infinity)) as Tensor<"float32">;
    this.alpha = tensor(
      "float32",
      [n, ...Array(spec.x0.shape.length - 1).fill(1)],
      new Float32Array(n).fill(spec.stepSize),
    ) as Tensor<"float32">;
    this.sign = spec.loss.goal === "max" ? 1 : -1;
  }

  /** Programs are cached on (and disposed with) the session. */
  static async create(session: Session, model: Model, spec: LiveSpec): Promise<LiveSearch> {
    const n = model.checkInput(spec.x0, "x0");
    if (spec.start) model.checkInput(spec.start, "start");
    if (!(spec.stepSize > 0 && Number.isFinite(spec.stepSize))) throw new Error(`step size must be positive, got ${spec.stepSize}`);
    const plane = spec.x0.shape[2]! * spec.x0.shape[3]!;
    if (spec.region && spec.region.length !== plane) throw new Error(`region has ${spec.region.length} pixels, images have ${plane}`);
    const p = await attackPrograms(session, model, n, spec.loss, threatModel(spec.threat), { straightThrough: spec.straightThrough });
    return new LiveSearch(p, model, spec);
  }

  get current(): Tensor<"float32"> {
    return this.x;
  }

  async step(): Promise<LiveStep> {
    const { p, model, spec } = this;
    const out = await p.step.run({
      ...spec.loss.feeds,
      ...spec.feeds,
      [model.inputName]: this.x,
      x0: spec.x0,
      best_x: this.bestX,
      best_obj: this.bestObj,
      alpha: this.alpha,
    });
    let next = out[p.names.xNext] as Tensor<"float32">;
    if (spec.region) next = masked(this.x, next, spec.region);
    this.bestX = out[p.names.bestX!] as Tensor<"float32">;
    this.bestObj = out[p.names.bestObj!] as Tensor<"float32">;
    this.x = next;
    this.steps++;
    const obj = out[p.names.obj]!.data as Float32Array;
    return { x: next, loss: obj.map((v) => this.sign * v), logits: out[p.names.logits]! };
  }

  /** The kept iterate (as pgd(): best per example, the one after the last step included) with its loss and logits. */
  async finish(): Promise<LiveResult> {
    const { p, model, spec } = this;
    const last = await p.evaluate.run({ ...spec.loss.feeds, ...spec.feeds, [model.inputName]: this.x });
    const lastObj = last[p.names.obj]!.data as Float32Array;
    if (spec.keep === "last" || this.steps === 0)
      return { x: this.x, loss: lastObj.map((v) => this.sign * v), logits: last[p.names.logits]! };
    const n = this.x.shape[0]!,
      per = this.x.data.length / n;
    const chosen = new Float32Array(this.x.data.length);
    for (let i = 0; i < n; i++) {
      const src = lastObj[i]! > this.bestObj.data[i]! ? this.x.data : this.bestX.data;
      chosen.set(src.subarray(i * per, (i + 1) * per), i * per);
    }
    const xb = tensor("float32", this.x.shape, chosen) as Tensor<"float32">;
    const ev = await p.evaluate.run({ ...spec.loss.feeds, ...spec.feeds, [model.inputName]: xb });
    return { x: xb, loss: (ev[p.names.obj]!.data as Float32Array).map((v) => this.sign * v), logits: ev[p.names.logits]! };
  }
}

/** x + region·(next − x): only the brushed pixels move. */
function masked(x: Tensor<"float32">, next: Tensor<"float32">, region: Float32Array): Tensor<"float32"> {
  const out = new Float32Array(next.data.length),
    plane = region.length;
  for (let i = 0; i < out.length; i++) {
    const m = region[i % plane]!;
    out[i] = x.data[i]! + m * (next.data[i]! - x.data[i]!);
  }
  return tensor("float32", next.shape, out) as Tensor<"float32">;
}
