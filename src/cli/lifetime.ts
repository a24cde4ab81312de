// Things a command opened that main() closes when the command ends (kept free of heavy imports so --help stays fast).
const closers: (() => Promise<void>)[] = [];

export const onCommandEnd = (f: () => Promise<void>): void => {
  closers.push(f);
};

export async function endCommand(): Promise<void> {
  for (const f of closers.splice(0).reverse()) await f();
}
