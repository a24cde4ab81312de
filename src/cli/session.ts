// The command's one program cache: every model run of a CLI command goes through this session.
import { nodeExecutor } from "../runtime/node.js";
import { Session } from "../runtime/session.js";
import { onCommandEnd } from "./lifetime.js";

export const session = new Session(nodeExecutor);
onCommandEnd(() => session.dispose());
