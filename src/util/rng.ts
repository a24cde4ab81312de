// Seeded PRNG (mulberry32) with normal samples; deterministic across platforms, state is one number.
export class Rng {
  constructor(public state: number = 0x9e3779b9) {
    this.state >>>= 0;
  }

  /** A stream for a tuple of integers, e.g. (seed, restart, example index): draws never depend on how work is batched. */
  static derive(...parts: number[]): Rng {
    let h = 0x811c9dc5;
    for (const p of parts) {
      // both 32-bit halves, so seeds up to 2^53 stay distinct
      for (const w of [p >>> 0, Math.floor(p / 4294967296) >>> 0]) {
        h = Math.imul(h ^ w, 0x85ebca6b);
        h ^= h >>> 13;
        h = Math.imul(h, 0xc2b2ae35);
        h ^= h >>> 16;
      }
    }
    return new Rng(h >>> 0);
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box–Muller; one sample per call keeps the state a single number). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  fill(out: { length: number; [i: number]: number }, f: () => number): void {
    for (let i = 0; i < out.length; i++) out[i] = f();
  }
}
