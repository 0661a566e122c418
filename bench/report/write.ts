/**
 * Writes a run: <dir>/<timestamp>.json (every run kept), and latest.json, latest.md, latest.png
 * (replaced each run).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunRecord } from '../lib/results.js';
import { renderChart } from './chart.js';
import { renderMarkdown } from './markdown.js';

export interface Written {
  json: string;
  latestJson: string;
  markdown: string;
  chart?: string;
}

/** `rerender`: only latest.md and latest.png again from an existing record (after report changes). */
export function writeRun(run: RunRecord, dir: string, rerender = false): Written {
  mkdirSync(dir, { recursive: true });
  const stamp = run.startedAt.replace(/[:.]/g, '-');
  const json = path.join(dir, `${stamp}${run.quick ? '-quick' : ''}.json`);
  const latestJson = path.join(dir, 'latest.json');
  if (!rerender) {
    const body = `${JSON.stringify(run, null, 2)}\n`;
    writeFileSync(json, body);
    writeFileSync(latestJson, body);
  }
  const png = path.join(dir, 'latest.png');
  const charted = renderChart(run, png);
  const markdown = path.join(dir, 'latest.md');
  writeFileSync(markdown, renderMarkdown(run, charted ? 'latest.png' : undefined));
  return { json, latestJson, markdown, ...(charted ? { chart: png } : {}) };
}
