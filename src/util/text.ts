// Text that reaches a terminal: names from files (ONNX values, .npy headers, paths) may hold control characters.

/** Escapes C0/C1 control characters and line separators as \uXXXX, so a message stays one line and cannot move the cursor. */
export function escapeControl(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
