// CIFAR-style residual networks: ResNet-18/50 (basic/bottleneck), PreAct ResNet-18 and WideResNet-D-k.
// Parameter names follow the common PyTorch CIFAR implementations (kuangliu/robustness library), so checkpoints map 1:1.
import type { Value } from "../ir/graph.js";
import type { Layers } from "./layers.js";

/** Channels after the width multiplier (at least one). */
export const scaled = (c: number, width: number): number => Math.max(1, Math.round(c * width));

/** Where a block's final ReLU goes: the network's last one is the representation ReLU ("rep_relu", fake-ReLU target). */
const reluName = (prefix: string, last: boolean) => (last ? "rep_relu" : `${prefix}.relu`);

interface Block {
  x: Value;
  cin: number;
}

/** conv3x3 → BN → ReLU → conv3x3 → BN, plus identity or conv1x1+BN shortcut; ReLU after the sum. */
function basicBlock(L: Layers, p: string, { x, cin }: Block, planes: number, stride: number, last: boolean): Block {
  let h = L.relu(L.batchNorm(L.conv(x, `${p}.conv1`, { out: planes, kernel: 3, stride, pad: 1 }), `${p}.bn1`), `${p}.relu1`);
  h = L.batchNorm(L.conv(h, `${p}.conv2`, { out: planes, kernel: 3, pad: 1 }), `${p}.bn2`);
  const sc =
    stride !== 1 || cin !== planes ? L.batchNorm(L.conv(x, `${p}.shortcut.0`, { out: planes, kernel: 1, stride }), `${p}.shortcut.1`) : x;
  return { x: L.relu(L.add(h, sc, `${p}.add`), reluName(p, last)), cin: planes };
}

/** 1x1 → 3x3 (carries the stride, as torchvision v1.5) → 1x1 expanding 4×, each with BN; ReLU after the sum. */
function bottleneck(L: Layers, p: string, { x, cin }: Block, planes: number, stride: number, last: boolean): Block {
  const out = 4 * planes;
  let h = L.relu(L.batchNorm(L.conv(x, `${p}.conv1`, { out: planes, kernel: 1 }), `${p}.bn1`), `${p}.relu1`);
  h = L.relu(L.batchNorm(L.conv(h, `${p}.conv2`, { out: planes, kernel: 3, stride, pad: 1 }), `${p}.bn2`), `${p}.relu2`);
  h = L.batchNorm(L.conv(h, `${p}.conv3`, { out, kernel: 1 }), `${p}.bn3`);
  const sc = stride !== 1 || cin !== out ? L.batchNorm(L.conv(x, `${p}.shortcut.0`, { out, kernel: 1, stride }), `${p}.shortcut.1`) : x;
  return { x: L.relu(L.add(h, sc, `${p}.add`), reluName(p, last)), cin: out };
}

/** ResNet-18 ([2,2,2,2] basic) or ResNet-50 ([3,4,6,3] bottleneck), 3×3 stride-1 stem, no max pool. */
export function resnet(L: Layers, x: Value, depth: 18 | 50, width: number): Value {
  const blocks = depth === 18 ? [2, 2, 2, 2] : [3, 4, 6, 3];
  const block = depth === 18 ? basicBlock : bottleneck;
  const c0 = scaled(64, width);
  let s: Block = { x: L.relu(L.batchNorm(L.conv(x, "conv1", { out: c0, kernel: 3, pad: 1 }), "bn1"), "relu"), cin: c0 };
  blocks.forEach((n, i) => {
    const planes = scaled(64 * 2 ** i, width);
    for (let j = 0; j < n; j++) {
      const last = i === blocks.length - 1 && j === n - 1;
      s = block(L, `layer${i + 1}.${j}`, s, planes, j === 0 && i > 0 ? 2 : 1, last);
    }
  });
  return s.x;
}

/** Pre-activation block (He et al. 2016): BN-ReLU before each conv; a conv1x1 shortcut (no BN) reads the activated input. */
function preactBlock(L: Layers, p: string, { x, cin }: Block, planes: number, stride: number): Block {
  const o = L.relu(L.batchNorm(x, `${p}.bn1`), `${p}.relu1`);
  const sc = stride !== 1 || cin !== planes ? L.conv(o, `${p}.shortcut.0`, { out: planes, kernel: 1, stride }) : x;
  let h = L.conv(o, `${p}.conv1`, { out: planes, kernel: 3, stride, pad: 1 });
  h = L.conv(L.relu(L.batchNorm(h, `${p}.bn2`), `${p}.relu2`), `${p}.conv2`, { out: planes, kernel: 3, pad: 1 });
  return { x: L.add(h, sc, `${p}.add`), cin: planes };
}

/** PreAct ResNet-18 as in the robust-overfitting / fast-adversarial code: plain conv stem, final BN-ReLU before pooling. */
export function preactResnet18(L: Layers, x: Value, width: number): Value {
  const c0 = scaled(64, width);
  let s: Block = { x: L.conv(x, "conv1", { out: c0, kernel: 3, pad: 1 }), cin: c0 };
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 2; j++) s = preactBlock(L, `layer${i + 1}.${j}`, s, scaled(64 * 2 ** i, width), j === 0 && i > 0 ? 2 : 1);
  }
  return L.relu(L.batchNorm(s.x, "bn"), "rep_relu");
}

/** WideResNet basic block (Zagoruyko & Komodakis): BN-ReLU-conv3x3 twice; conv1x1 shortcut on the activated input. */
function wideBlock(L: Layers, p: string, { x, cin }: Block, out: number, stride: number): Block {
  const o = L.relu(L.batchNorm(x, `${p}.bn1`), `${p}.relu1`);
  let h = L.conv(o, `${p}.conv1`, { out, kernel: 3, stride, pad: 1 });
  h = L.conv(L.relu(L.batchNorm(h, `${p}.bn2`), `${p}.relu2`), `${p}.conv2`, { out, kernel: 3, pad: 1 });
  const sc = stride !== 1 || cin !== out ? L.conv(o, `${p}.shortcut.0`, { out, kernel: 1, stride }) : x;
  return { x: L.add(h, sc, `${p}.add`), cin: out };
}

/** WRN-depth-k: 16-channel stem, three groups of (depth−4)/6 blocks at 16k, 32k, 64k channels, final BN-ReLU. */
export function wideResnet(L: Layers, x: Value, depth: number, k: number, width: number): Value {
  const n = (depth - 4) / 6;
  const c0 = scaled(16, width);
  let s: Block = { x: L.conv(x, "conv1", { out: c0, kernel: 3, pad: 1 }), cin: c0 };
  [16 * k, 32 * k, 64 * k].forEach((c, i) => {
    for (let j = 0; j < n; j++) s = wideBlock(L, `block${i + 1}.${j}`, s, scaled(c, width), j === 0 && i > 0 ? 2 : 1);
  });
  return L.relu(L.batchNorm(s.x, "bn"), "rep_relu");
}
