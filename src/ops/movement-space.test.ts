import { test } from "node:test";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";

for (const mode of ["DCR", "CRD"]) {
  test(`DepthToSpace ${mode}: gradient is the inverse permutation`, async () => {
    await checkGradient({
      inputs: { x: randomTensor("float32", [2, 8, 2, 3], { seed: 21 }) },
      build: (g, v) => g.one("DepthToSpace", [v.x!], { blocksize: 2, mode }),
    });
  });
}

test("SpaceToDepth: gradient is the inverse permutation", async () => {
  await checkGradient({
    inputs: { x: randomTensor("float32", [2, 2, 4, 6], { seed: 22 }) },
    build: (g, v) => g.one("SpaceToDepth", [v.x!], { blocksize: 2 }),
  });
});
