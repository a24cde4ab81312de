// `robustlens data fetch NAME`: download a standard dataset for use with --data NAME:DIR.
import { readFile } from "node:fs/promises";
import { fetchDataset } from "../data/node/fetch.js";

export interface DataFetchOptions {
  dir?: string;
  baseUrl?: string;
  checksums?: string;
}

export async function dataFetchCommand(name: string, o: DataFetchOptions): Promise<void> {
  const dir = o.dir ?? `data/${name}`;
  let checksums: Record<string, string> | undefined;
  if (o.checksums) {
    let text: string;
    try {
      text = await readFile(o.checksums, "utf8");
    } catch (e) {
      throw new Error(
        `cannot read ${o.checksums}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`,
      );
    }
    try {
      checksums = JSON.parse(text) as Record<string, string>;
    } catch (e) {
      throw new Error(`${o.checksums}: not JSON (${(e as Error).message})`);
    }
    if (typeof checksums !== "object" || checksums === null || Object.values(checksums).some((v) => typeof v !== "string")) {
      throw new Error(`${o.checksums}: expected {"FILE": "md5:HEX" or "sha256:HEX", ...}`);
    }
  }
  await fetchDataset(name, {
    dir,
    baseUrl: o.baseUrl,
    checksums,
    onFile: (e) =>
      console.log(
        e.status === "present"
          ? `${e.file}: already present`
          : `${e.file}: ${(e.bytes! / 1e6).toFixed(1)} MB from ${e.url}, checksum verified`,
      ),
  });
  console.log(`${name} is in ${dir}; use --data ${name}:${dir}`);
}
