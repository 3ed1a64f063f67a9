/**
 * A strict reader of the Prometheus text exposition format (0.0.4) for tests: every sample must
 * belong to a family declared by `# TYPE`, label values are unescaped, and histograms must be
 * cumulative with a `+Inf` bucket equal to their count.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition text must end with a line feed');
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) {
      const [name, ...rest] = line.slice(7).split(' ');
      helps.set(name as string, rest.join(' '));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (families.has(name as string)) throw new Error(`family ${name} declared twice`);
      if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type as string)) {
        throw new Error(`family ${name} has unknown type ${type}`);
      }
      families.set(name as string, {
        name: name as string,
        type: type as string,
        help: helps.get(name as string) ?? '',
        samples: [],
      });
      continue;
    }
    if (line.startsWith('#') || line === '') continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const name = match[1] as string;
    const family = familyOf(families, name);
    if (family === undefined) throw new Error(`sample ${name} has no # TYPE before it`);
    family.samples.push({ name, labels: parseLabels(match[3] ?? ''), value: parseValue(match[4] as string) });
  }
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

function familyOf(families: Map<string, Family>, name: string): Family | undefined {
  const direct = families.get(name);
  if (direct !== undefined) return direct;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  const family = families.get(base);
  return family?.type === 'histogram' || family?.type === 'summary' ? family : undefined;
}

function parseLabels(body: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('=', i);
    const name = body.slice(i, eq);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || body[eq + 1] !== '"')
      throw new Error(`bad label in {${body}}`);
    let value = '';
    let j = eq + 2;
    for (; j < body.length && body[j] !== '"'; j += 1) {
      if (body[j] === '\\') {
        const next = body[j + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`bad escape \\${next} in {${body}}`);
        j += 1;
      } else value += body[j];
    }
    if (body[j] !== '"') throw new Error(`unterminated label value in {${body}}`);
    if (name in labels) throw new Error(`label ${name} repeated`);
    labels[name] = value;
    i = j + 1;
    if (body[i] === ',') i += 1;
  }
  return labels;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) throw new Error(`bad sample value ${text}`);
  return value;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    const { le: _le, ...rest } = sample.labels;
    const key = JSON.stringify(rest);
    groups.set(key, [...(groups.get(key) ?? []), sample]);
  }
  for (const samples of groups.values()) {
    const buckets = samples.filter((s) => s.name.endsWith('_bucket'));
    const count = samples.find((s) => s.name.endsWith('_count'));
    const inf = buckets.find((s) => s.labels.le === '+Inf');
    if (count === undefined || inf === undefined || inf.value !== count.value) {
      throw new Error(`histogram ${family.name} lacks a +Inf bucket equal to its count`);
    }
    for (let k = 1; k < buckets.length; k += 1) {
      if ((buckets[k] as Sample).value < (buckets[k - 1] as Sample).value) {
        throw new Error(`histogram ${family.name} buckets are not cumulative`);
      }
    }
  }
}

/** The value of the one sample of `name` with exactly `labels`, or undefined. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      const keys = Object.keys(sample.labels);
      if (keys.length === Object.keys(labels).length && keys.every((k) => sample.labels[k] === labels[k])) {
        return sample.value;
      }
    }
  }
  return undefined;
}
