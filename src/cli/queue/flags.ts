// The submitting commands' queue flags, declared once (eval, visualize, report); loads no queue library.
import { options, parse } from "../options.js";

/** Seconds a submitter waits for a Redis that became unreachable mid-run before it gives up. */
export const QUEUE_TIMEOUT_S = 30;

export const queueTimeoutOption = () =>
  options.number(
    "--queue-timeout <s>",
    `with --queue: seconds to wait for a Redis that stops answering before giving up (finished shards stay for a rerun)`,
    parse.positive,
    QUEUE_TIMEOUT_S,
  );
