/**
 * Summaries of a V8 `.cpuprofile` (what `node --cpu-prof` writes): self time by function and by
 * module (a package under node_modules, a file of ours, or node's internals), largest first.
 */

/** The parts of a `.cpuprofile` read here. */
export interface CpuProfile {
  nodes: readonly {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  samples: readonly number[];
  /** Microseconds since the previous sample. */
  timeDeltas: readonly number[];
}

/** One line of a summary: a share of the sampled time. */
export interface SelfTime {
  name: string;
  ms: number;
  /** Of the sampled time the process was not idle, in percent. */
  percent: number;
}

/** Self time by function (`name (file:line)`), the `top` largest. */
export function selfTimeByFunction(profile: CpuProfile, top = 15): SelfTime[] {
  return summarize(profile, top, (frame) => {
    const where = frame.url === '' ? '' : ` (${shortUrl(frame.url)}:${frame.lineNumber + 1})`;
    return `${frame.functionName || '(anonymous)'}${where}`;
  });
}

/** Self time by module: `pkg:<name>` under node_modules, `node:<internal>`, or our file. */
export function selfTimeByModule(profile: CpuProfile, top = 15): SelfTime[] {
  return summarize(profile, top, (frame) => moduleOf(frame.url, frame.functionName));
}

export function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) return `pkg:${pkg[1]}`;
  if (url.startsWith('node:')) return url;
  return shortUrl(url);
}

function shortUrl(url: string): string {
  const inRepo = /\/(src|bench|workers|chaos|testkit|node_modules)\/.*$/.exec(url);
  return inRepo ? inRepo[0].slice(1) : url;
}

function summarize(
  profile: CpuProfile,
  top: number,
  keyOf: (frame: CpuProfile['nodes'][number]['callFrame']) => string,
): SelfTime[] {
  const keyById = new Map(profile.nodes.map((n) => [n.id, keyOf(n.callFrame)]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const key = keyById.get(id) ?? '(unknown)';
    totals.set(key, (totals.get(key) ?? 0) + us);
    if (key !== '(idle)') all += us;
  });
  return [...totals.entries()]
    .filter(([key]) => key !== '(idle)')
    .sort(([, a], [, b]) => b - a)
    .slice(0, top)
    .map(([name, us]) => ({
      name,
      ms: Math.round(us / 1000),
      percent: all === 0 ? 0 : Math.round((us / all) * 1000) / 10,
    }));
}
