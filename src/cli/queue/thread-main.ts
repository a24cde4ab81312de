// A shard thread (threads.ts): the job kinds' handlers with this worker's --allow folders and device, one shard at a time.
import { parentPort, workerData } from "node:worker_threads";
import { selectDevice } from "../device.js";
import { handlers } from "./handlers.js";
import { AllowedRoots, InputCache } from "./inputs.js";
import { type ThreadInit, type ThreadReply, oneLine } from "./threads.js";

const init = workerData as ThreadInit;
selectDevice(init.device);
const run = handlers(new InputCache(await AllowedRoots.of(init.allow)));
const port = parentPort!;
port.postMessage("ready");

port.on("message", async (m: { kind: string; data: unknown }) => {
  let reply: ThreadReply;
  try {
    const handler = run[m.kind];
    if (!handler) throw new Error(`unknown job kind "${m.kind}" (this worker runs ${Object.keys(run).join(", ")})`);
    reply = { ok: true, value: await handler(m.data) };
  } catch (e) {
    reply = { ok: false, message: oneLine(e) };
  }
  port.postMessage(reply);
});
