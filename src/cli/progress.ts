// Progress on stderr: a live bar with ETA on a terminal, nothing extra when piped (summaries still print).
import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, info?: Record<string, string>): void;
  stop(): void;
}

export function progress(total: number, label: string): Progress {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      format: `${label} [{bar}] {percentage}% {value}/{total} | ETA {eta_formatted} {info}`,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { info: "" });
  return {
    update: (done, info) =>
      bar.update(done, {
        info: info
          ? Object.entries(info)
              .map(([k, v]) => `${k} ${v}`)
              .join(" ")
          : "",
      }),
    stop: () => bar.stop(),
  };
}
