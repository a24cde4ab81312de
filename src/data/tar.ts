// Minimal tar (ustar/GNU) reader and writer for dataset archives: regular files only, names checked — browser-safe.

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

const BLOCK = 512;

function field(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  let s = "";
  for (let i = off; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function octal(b: Uint8Array, off: number, len: number): number {
  const s = field(b, off, len).trim();
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : NaN;
}

function checksumOf(h: Uint8Array): number {
  let sum = 0;
  // The checksum field itself counts as eight spaces.
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum;
}

/** Regular files of a tar archive, in order; `source` prefixes every error. */
export function parseTar(bytes: Uint8Array, source = "<tar>"): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  while (off + BLOCK <= bytes.length) {
    const h = bytes.subarray(off, off + BLOCK);
    if (h.every((v) => v === 0)) return out;
    const stored = octal(h, 148, 8);
    if (stored !== checksumOf(h)) throw new Error(`${source}: corrupt tar header at byte ${off} (checksum mismatch)`);
    const size = octal(h, 124, 12);
    if (!Number.isSafeInteger(size)) throw new Error(`${source}: corrupt tar header at byte ${off} (bad size)`);
    const type = String.fromCharCode(h[156]!);
    const prefix = field(h, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    longName = undefined;
    const start = off + BLOCK;
    if (start + size > bytes.length)
      throw new Error(`${source}: truncated: "${name}" needs ${size} bytes, archive has ${bytes.length - start} left`);
    const data = bytes.subarray(start, start + size);
    if (type === "L")
      longName = field(data, 0, data.length); // GNU long name for the next entry
    else if (type === "0" || type === "\0") out.push({ name, data });
    off = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (off !== bytes.length || out.length === 0) throw new Error(`${source}: truncated tar archive (no end-of-archive marker)`);
  return out;
}

/** A ustar archive of regular files (names up to 100 bytes), for fixtures. */
export function writeTar(entries: readonly TarEntry[]): Uint8Array {
  const size = entries.reduce((a, e) => a + BLOCK + Math.ceil(e.data.length / BLOCK) * BLOCK, 2 * BLOCK);
  const out = new Uint8Array(size);
  let off = 0;
  const put = (s: string, at: number) => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  for (const e of entries) {
    if (e.name.length > 100) throw new Error(`writeTar: name longer than 100 bytes: ${e.name}`);
    put(e.name, off);
    put("0000644\0", off + 100);
    put("0000000\0", off + 108);
    put("0000000\0", off + 116);
    put(`${e.data.length.toString(8).padStart(11, "0")}\0`, off + 124);
    put("00000000000\0", off + 136);
    out[off + 156] = 0x30;
    put("ustar\x0000", off + 257);
    put(
      `${checksumOf(out.subarray(off, off + BLOCK))
        .toString(8)
        .padStart(6, "0")}\0 `,
      off + 148,
    );
    out.set(e.data, off + BLOCK);
    off += BLOCK + Math.ceil(e.data.length / BLOCK) * BLOCK;
  }
  return out;
}
