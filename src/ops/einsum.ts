// Einsum: equations parsed to one letter per axis (an ellipsis becomes letters of its own), shape rule, and a VJP made of
// Einsums with the operand and output subscripts swapped.
import type { Builder } from "../builder/builder.js";
import type { Dim, Node, Value } from "../ir/graph.js";
import { formatShape, isFloatDType } from "../ir/tensor.js";
import type { OpTable } from "./types.js";
import { opLabel } from "./util.js";

export interface EinsumSpec {
  /** Letters of each operand, one per axis. */
  inputs: string[][];
  output: string[];
  /** Letters standing for ellipsis axes (they broadcast numpy-style, size 1 against n). */
  ellipsis: string[];
}

const LETTER = /^[a-zA-Z]$/;
// ORT orders the implicit output a–z, then A–Z
const order = (c: string) => (c >= "a" ? c.charCodeAt(0) - 97 : 26 + c.charCodeAt(0) - 65);

/** Parses `equation` for operands of the given ranks; diagonals (a letter twice in one operand) only where `diagonal` allows. */
export function parseEinsum(label: string, equation: string, ranks: readonly (number | undefined)[], diagonal = false): EinsumSpec {
  const bad = (why: string) => new Error(`${label}: equation "${equation}": ${why}`);
  const eq = equation.replace(/\s+/g, "");
  const [lhs, rhs, ...rest] = eq.split("->");
  if (rest.length || lhs === undefined) throw bad(`has more than one "->"`);
  const terms = lhs.split(",");
  if (terms.length !== ranks.length) throw bad(`names ${terms.length} operands, the node has ${ranks.length}`);
  const used = new Set(eq.replace(/[^a-zA-Z]/g, ""));
  const free = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"].filter((c) => !used.has(c));
  const split = (term: string, what: string): { before: string[]; after: string[]; dots: boolean } => {
    const parts = term.split("...");
    if (parts.length > 2) throw bad(`${what} has more than one ellipsis`);
    const [before, after = ""] = parts;
    for (const c of before! + after) if (!LETTER.test(c)) throw bad(`${what} has "${c}"; subscripts are letters a-z, A-Z and one "..."`);
    return { before: [...before!], after: [...after], dots: parts.length === 2 };
  };
  const parsed = terms.map((t, k) => split(t, `operand ${k}`));
  const dotsRank = parsed.map((p, k) => {
    if (!p.dots) return 0;
    const r = ranks[k];
    if (r === undefined) throw bad(`operand ${k} has an ellipsis and unknown rank`);
    const n = r - p.before.length - p.after.length;
    if (n < 0) throw bad(`operand ${k} of rank ${r} has more subscripts than axes`);
    return n;
  });
  const maxDots = Math.max(0, ...dotsRank);
  // ONNX shape inference (run by ORT) requires every ellipsis to cover as many axes; size-1 axes then broadcast
  const uneven = dotsRank.findIndex((r, k) => parsed[k]!.dots && r !== maxDots);
  if (uneven >= 0)
    throw bad(`the ellipsis of operand ${uneven} covers ${dotsRank[uneven]} axes, another covers ${maxDots}; ONNX needs equal counts`);
  if (maxDots > free.length) throw bad(`needs ${maxDots} ellipsis axes, more than the free letters`);
  const ellipsis = free.slice(0, maxDots);
  const inputs = parsed.map((p, k) => {
    const letters = [...p.before, ...ellipsis.slice(maxDots - dotsRank[k]!), ...p.after];
    const r = ranks[k];
    if (r !== undefined && letters.length !== r) throw bad(`operand ${k} has ${letters.length} subscripts for rank ${r}`);
    const twice = letters.find((c, i) => letters.indexOf(c) !== i);
    if (twice && !diagonal) throw bad(`operand ${k} repeats "${twice}" (a diagonal), which has no gradient rule`);
    return letters;
  });
  let output: string[];
  if (rhs === undefined) {
    const count = new Map<string, number>();
    for (const l of inputs.flat()) if (!ellipsis.includes(l)) count.set(l, (count.get(l) ?? 0) + 1);
    const once = [...count].filter(([, n]) => n === 1).map(([l]) => l);
    output = [...ellipsis, ...once.sort((a, b) => order(a) - order(b))];
  } else {
    const p = split(rhs, "the output");
    if (p.dots && maxDots === 0 && !parsed.some((q) => q.dots)) throw bad(`the output has an ellipsis no operand has`);
    output = [...p.before, ...(p.dots ? ellipsis : []), ...p.after];
    const all = new Set(inputs.flat());
    const twice = output.find((c, i) => output.indexOf(c) !== i);
    if (twice) throw bad(`the output repeats "${twice}"`);
    const missing = output.find((c) => !all.has(c));
    if (missing) throw bad(`the output's "${missing}" is in no operand`);
    if (!p.dots && ellipsis.length) throw bad(`the ellipsis axes must appear in the output`);
  }
  return { inputs, output, ellipsis };
}

/** The equation of operand and output letters, ellipsis letters written back as "..." (so their size-1 axes still broadcast). */
export function formatEinsum(ins: readonly string[][], out: readonly string[], ellipsis: readonly string[]): string {
  const term = (ls: readonly string[]) => {
    const i = ls.findIndex((l) => ellipsis.includes(l));
    if (i < 0 || !ellipsis.length) return ls.join("");
    return `${ls.slice(0, i).join("")}...${ls.slice(i + ellipsis.length).join("")}`;
  };
  return `${ins.map(term).join(",")}->${term(out)}`;
}

/** Size of each letter over the operands; an ellipsis letter of size 1 broadcasts, any other mismatch is an error. */
function letterSizes(label: string, spec: EinsumSpec, shapes: readonly (readonly Dim[])[]): Map<string, Dim> {
  const sizes = new Map<string, Dim>();
  spec.inputs.forEach((letters, k) =>
    letters.forEach((l, ax) => {
      const d = shapes[k]![ax]!,
        prev = sizes.get(l);
      if (prev === undefined || prev === d) sizes.set(l, prev ?? d);
      else if (typeof prev === "number" && typeof d === "number") {
        if (spec.ellipsis.includes(l) && (prev === 1 || d === 1)) sizes.set(l, Math.max(prev, d));
        else throw new Error(`${label}: subscript "${l}" is ${prev} in one operand and ${d} in operand ${k} ${formatShape(shapes[k]!)}`);
      } else if (typeof prev === "string" && typeof d === "number" && d !== 1) sizes.set(l, d);
    }),
  );
  return sizes;
}

/** Gradient of operand k: Einsum(dy, other operands → its letters), broadcast ellipsis axes summed back, letters summed alone re-expanded. */
function operandGrad(g: Builder, node: Node<"Einsum">, spec: EinsumSpec, x: readonly Value[], dy: Value, k: number): Value {
  const mine = spec.inputs[k]!;
  const others = spec.inputs.filter((_, j) => j !== k);
  const seen = new Set([...spec.output, ...others.flat()]);
  const kept = mine.filter((l) => seen.has(l));
  const rest = x.filter((_, j) => j !== k);
  // an operand without the ellipsis gets its gradient summed over those axes: kept in front (ONNX wants them in the output), then reduced
  const lead = spec.ellipsis.some((l) => mine.includes(l)) ? [] : spec.ellipsis;
  const einsum = (ins: Value[], subs: string[][]) => {
    const e = g.add(
      "Einsum",
      ins,
      { equation: formatEinsum(subs, [...lead, ...kept], spec.ellipsis) },
      { name: `${node.name}_grad${k}` },
    )[0]!;
    return lead.length
      ? g.reduceSum(
          e,
          lead.map((_, i) => i),
          false,
        )
      : e;
  };
  let d: Value;
  // a scalar dy multiplies in (no empty subscripts); a lone operand's gradient is a transpose of dy
  if (!spec.output.length) d = rest.length ? g.mul(einsum(rest, others), dy) : dy;
  else if (!rest.length)
    d = g.transpose(
      dy,
      kept.map((l) => spec.output.indexOf(l)),
    );
  else d = einsum([dy, ...rest], [spec.output, ...others]);
  const shape = x[k]!.shape!;
  const sizes = letterSizes(
    opLabel(node.op, node.name),
    spec,
    x.map((v) => v.shape!),
  );
  // an operand's size-1 ellipsis axis was broadcast: its gradient is the sum over that axis
  const summed = kept.flatMap((l, i) => (shape[mine.indexOf(l)] === 1 && sizes.get(l) !== 1 ? [i] : []));
  if (summed.length) d = g.reduceSum(d, summed, true);
  const alone = mine.flatMap((l, i) => (seen.has(l) ? [] : [i]));
  if (alone.length) d = g.expand(g.unsqueeze(d, alone), g.shapeOf(x[k]!));
  return d;
}

export const einsumOps: OpTable<"Einsum"> = {
  Einsum: {
    attrs: { equation: "string" },
    arity: [1, 64],
    infer: ({ node, inputs }) => {
      const label = opLabel("Einsum", node.name);
      const xs = inputs as Value[];
      if (typeof node.attrs.equation !== "string") throw new Error(`${label}: needs an equation attribute`);
      const dtype = xs[0]!.dtype;
      for (const v of xs) if (v.dtype !== dtype) throw new Error(`${label}: operand ${v} is ${v.dtype}, the first is ${dtype}`);
      // ORT runs diagonals forward; only the VJP refuses them
      const spec = parseEinsum(
        label,
        node.attrs.equation,
        xs.map((v) => v.shape?.length),
        true,
      );
      if (xs.some((v) => !v.shape)) return [{ dtype, shape: null }];
      const sizes = letterSizes(
        label,
        spec,
        xs.map((v) => v.shape!),
      );
      return [{ dtype, shape: spec.output.map((l) => sizes.get(l)!) }];
    },
    grad: {
      kind: "vjp",
      // y = Σ_{letters not in y} Π_k x_k  ⇒  dx_k = Einsum(dy, x_{j≠k} → letters of x_k), summed-alone letters broadcast back
      vjp: ({ g, node, x, needs }, [dy]) => {
        const xs = x as Value[];
        const label = opLabel("Einsum", node.name);
        if (!dy) return xs.map(() => null);
        if (xs.some((v) => !v.shape)) throw new Error(`grad: cannot differentiate ${label}: operand shapes must be known`);
        if (!isFloatDType(dy.dtype)) throw new Error(`grad: cannot differentiate ${label}: operands are ${dy.dtype}`);
        let spec: EinsumSpec;
        try {
          spec = parseEinsum(
            label,
            node.attrs.equation,
            xs.map((v) => v.shape!.length),
          );
        } catch (e) {
          throw new Error(`grad: cannot differentiate ${(e as Error).message}`);
        }
        return xs.map((_, k) => (needs[k] ? operandGrad(g, node, spec, xs, dy, k) : null));
      },
    },
  },
};
