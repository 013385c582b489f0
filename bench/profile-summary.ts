import fs from 'node:fs';

/**
 * npx tsx bench/profile-summary.ts FILE.cpuprofile [N]: where a V8 CPU profile's time went, by
 * package or source file (self time) and by function, to find what is ours to fix.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const [file, top = '25'] = process.argv.slice(2);
/** The checkout this runs in: the store's own files are named relative to it. */
const ROOT = `file://${process.cwd()}/`;
const profile = JSON.parse(fs.readFileSync(file!, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

function owner(url: string): string {
  if (!url) return '(native / idle / gc)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url;
  const ours = url.startsWith(ROOT) ? [url, url.slice(ROOT.length)] : null;
  return ours ? ours[1]! : url;
}

const byOwner = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const node of profile.nodes) {
  const t = self.get(node.id) ?? 0;
  if (!t) continue;
  const o = owner(node.callFrame.url);
  byOwner.set(o, (byOwner.get(o) ?? 0) + t);
  const f = `${node.callFrame.functionName || '(anonymous)'} ${o}:${node.callFrame.lineNumber + 1}`;
  byFunction.set(f, (byFunction.get(f) ?? 0) + t);
}
const show = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
    console.log(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
};
// Inclusive time of the store's own functions (a function counted once per stack, however deep it recurses).
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const nodeById = new Map(profile.nodes.map((n) => [n.id, n]));
const inclusive = new Map<string, number>();
for (const [id, t] of self) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const frame = nodeById.get(at)!.callFrame;
    if (!/^(dist\/)?(src|views)\//.test(owner(frame.url))) continue;
    const key = `${frame.functionName || '(anonymous)'} ${owner(frame.url)}:${frame.lineNumber + 1}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + t);
  }
}
console.log(`${(total / 1e6).toFixed(1)} s sampled`);
show('Self time by package / file', byOwner);
show('Self time by function', byFunction);
show('Inclusive time of our own functions', inclusive);
