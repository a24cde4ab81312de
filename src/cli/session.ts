// The command's one program cache: every model run of a CLI command goes through this session.
import { deviceExecutor } from "./device.js";
import { Session } from "../runtime/session.js";
import { onCommandEnd } from "./lifetime.js";

export const session = new Session(deviceExecutor);
onCommandEnd(() => session.dispose());
