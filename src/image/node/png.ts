// Node-only image files with sharp: PNG out (atomic), any sharp-readable picture in as CHW floats.
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { writeAtomic } from "../../data/node/atomic.js";
import { fsReason } from "../../data/node/read.js";
import type { RawImage } from "../grid.js";

const firstLine = (e: unknown): string => String((e as Error)?.message ?? e).split("\n")[0]!;

export async function encodePng(img: RawImage): Promise<Buffer> {
  const { width, height, channels, data } = img;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1)
    throw new Error(`encodePng: image must be at least 1×1, got ${width}×${height}`);
  if (channels !== 1 && channels !== 3) throw new Error(`encodePng: channels must be 1 or 3, got ${channels}`);
  if (data.length !== width * height * channels)
    throw new Error(`encodePng: ${data.length} bytes are not a ${width}×${height}×${channels} image`);
  const { default: sharp } = await import("sharp");
  const pipe = sharp(data, { raw: { width, height, channels } });
  // Without an explicit b-w colourspace sharp writes one-channel input as an RGB PNG.
  return (channels === 1 ? pipe.toColourspace("b-w") : pipe).png().toBuffer();
}

/** Writes atomically with writeAtomic from src/data/node/atomic.ts (read it). Creates the parent directory. */
export async function writePng(path: string, img: RawImage): Promise<void> {
  const png = await encodePng(img);
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (e) {
    throw new Error(`cannot write ${path}: ${fsReason(e)}`);
  }
  await writeAtomic(path, png);
}

/** Decodes a PNG/JPEG (or anything sharp reads) to [channels,height,width] float32 in [0,1]: autoOrient, resize to cover + centre crop (like folder.ts), flatten alpha on black, gray via the same integer 601 formula folder.ts uses. Errors name the file: "<path>: cannot decode image (...)" / "<path>: no such file". */
export async function readImageFile(path: string, to: { channels: 1 | 3; height: number; width: number }): Promise<Float32Array> {
  const { channels, height, width } = to;
  if (channels !== 1 && channels !== 3) throw new Error(`readImageFile: channels must be 1 or 3, got ${channels}`);
  if (![height, width].every((v) => Number.isSafeInteger(v) && v >= 1))
    throw new Error(`readImageFile: size ${height}×${width} must be positive integers`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`${path}: ${fsReason(e)}`);
  }
  const { default: sharp } = await import("sharp");
  let raw: { data: Buffer; info: { channels: number; width: number; height: number } };
  try {
    const img = sharp(bytes, { failOn: "error" })
      .autoOrient()
      .resize(width, height, { fit: "cover" })
      .flatten({ background: "#000000" })
      .toColourspace("srgb");
    raw = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`${path}: cannot decode image (${firstLine(e)})`);
  }
  const hw = width * height;
  const { info, data: d } = raw;
  if (info.channels !== 3 || info.width !== width || info.height !== height || d.length !== 3 * hw) {
    throw new Error(`internal: ${path} decoded to ${info.width}×${info.height}×${info.channels}, ${d.length} bytes`);
  }
  const out = new Float32Array(channels * hw);
  // sharp gives HWC bytes; models take CHW in [0,1] (divide, like the dataset batches, so pixels match bit for bit).
  if (channels === 3) for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) out[c * hw + p] = d[p * 3 + c]! / 255;
  // Gray exactly as folder.ts (PIL's convert("L")), so a file and a folder dataset give the same pixels.
  else for (let p = 0; p < hw; p++) out[p] = ((d[3 * p]! * 19595 + d[3 * p + 1]! * 38470 + d[3 * p + 2]! * 7471 + 0x8000) >>> 16) / 255;
  return out;
}
