import tseslint from "typescript-eslint";

// Node-only modules: the browser-safe core (everything but cli/, */node/, runtime/node.ts, testing/) must not import them.
const NODE_ONLY = {
  paths: ["onnxruntime-node", "sharp", "fs", "path", "os", "child_process", "cli-progress", "commander"].map((name) => ({
    name,
    message: "browser-safe code: Node-only modules belong in node/ folders, cli/ or runtime/node.ts",
  })),
  patterns: [{ group: ["node:*"], message: "browser-safe code: Node built-ins belong in node/ folders, cli/ or runtime/node.ts" }],
};

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "test/fixtures/", "web/dist/"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/**/*.test.ts", "src/cli/**", "src/**/node/**", "src/runtime/node.ts", "src/testing/**", "src/node.ts"],
    rules: { "no-restricted-imports": ["error", NODE_ONLY] },
  },
);
