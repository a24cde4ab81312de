// PNG iTXt chunks (UTF-8 text): a rendered PNG carries the Vega-Lite spec it was drawn from.
import { crc32 } from "../../util/crc32.js";

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const enc = new TextEncoder(),
  dec = new TextDecoder();

function checkPng(png: Uint8Array, what: string): void {
  if (png.length < 33 || SIGNATURE.some((b, i) => png[i] !== b)) throw new Error(`${what}: not a PNG file`);
}

/** The PNG with an uncompressed iTXt chunk (keyword → UTF-8 text) inserted after IHDR. */
export function addPngText(png: Uint8Array, keyword: string, text: string): Uint8Array {
  checkPng(png, "addPngText");
  const body = new Uint8Array([...enc.encode(keyword), 0, 0, 0, 0, 0, ...enc.encode(text)]);
  const chunk = new Uint8Array(12 + body.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, body.length);
  chunk.set(enc.encode("iTXt"), 4);
  chunk.set(body, 8);
  view.setUint32(8 + body.length, crc32(chunk.subarray(4, 8 + body.length)));
  const ihdrEnd = 8 + 12 + new DataView(png.buffer, png.byteOffset).getUint32(8);
  const out = new Uint8Array(png.length + chunk.length);
  out.set(png.subarray(0, ihdrEnd));
  out.set(chunk, ihdrEnd);
  out.set(png.subarray(ihdrEnd), ihdrEnd + chunk.length);
  return out;
}

/** The text of the first uncompressed iTXt chunk with this keyword, if any. */
export function readPngText(png: Uint8Array, keyword: string, what = "PNG"): string | undefined {
  checkPng(png, what);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at + 12 <= png.length;) {
    const len = view.getUint32(at);
    const type = dec.decode(png.subarray(at + 4, at + 8));
    if (type === "iTXt") {
      const body = png.subarray(at + 8, at + 8 + len);
      const z = body.indexOf(0);
      if (dec.decode(body.subarray(0, z)) === keyword && body[z + 1] === 0) {
        // skip compression flag, method, language tag and translated keyword (both NUL-terminated)
        const lang = body.indexOf(0, z + 3),
          trans = body.indexOf(0, lang + 1);
        return dec.decode(body.subarray(trans + 1));
      }
    }
    if (type === "IEND") break;
    at += 12 + len;
  }
  return undefined;
}
