/**
 * A PNG of every scenario: left, its throughput (or count) figures; right, its latency (or memory)
 * figures; one horizontal bar per target and figure, coloured by role. Drawn with @napi-rs/canvas
 * (from bench/peers: a prebuilt binary shipped inside the npm package, nothing fetched at install).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { loadPeer } from '../lib/paths.js';
import type { Figure, RunRecord, ScenarioName, TargetResult } from '../lib/results.js';

interface Ctx2D {
  fillStyle: string;
  strokeStyle: string;
  font: string;
  textAlign: string;
  textBaseline: string;
  lineWidth: number;
  fillRect(x: number, y: number, w: number, h: number): void;
  fillText(t: string, x: number, y: number): void;
  measureText(t: string): { width: number };
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  stroke(): void;
}
interface CanvasModule {
  createCanvas(w: number, h: number): { getContext(kind: '2d'): Ctx2D; toBuffer(mime: 'image/png'): Buffer };
  GlobalFonts: { registerFromPath(path: string, family?: string): unknown };
}

const FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const FONT_BOLD_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';
const WIDTH = 1400;
const LABEL_W = 185;
const PANEL_W = (WIDTH - 60) / 2;
const BAR_H = 13;
const ROLE_COLOURS: Record<string, string[]> = {
  holdline: ['#1f6feb', '#0b3d91', '#5a9bff'],
  ceiling: ['#8c959f', '#57606a', '#afb8c1'],
  peer: ['#f0883e', '#bc4c00', '#ffb77c'],
};

const isLeft = (f: Figure): boolean => f.kind === 'throughput' || f.kind === 'count';

function fmt(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  return String(Number(v.toPrecision(3)));
}

function panelHeight(rows: TargetResult[], names: string[]): number {
  return rows.length * (names.length * (BAR_H + 2) + 10);
}

function drawPanel(ctx: Ctx2D, x: number, y: number, rows: TargetResult[], names: string[], title: string): void {
  ctx.fillStyle = '#24292f';
  ctx.font = 'bold 13px DejaVu Sans';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(title, x, y - 8);
  const barW = PANEL_W - LABEL_W - 130;
  let cy = y;
  for (const r of rows) {
    const groupH = names.length * (BAR_H + 2);
    ctx.fillStyle = '#24292f';
    ctx.font = '12px DejaVu Sans';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(r.target, x + LABEL_W - 8, cy + groupH / 2);
    ctx.textAlign = 'left';
    if (r.status !== 'ok') {
      ctx.fillStyle = '#8c959f';
      ctx.font = 'italic 11px DejaVu Sans';
      ctx.fillText(r.status === 'failed' ? 'failed' : 'not available', x + LABEL_W, cy + groupH / 2);
    } else {
      names.forEach((name, i) => {
        const f = r.figures[name];
        if (!f) return;
        // Figures of one unit share a scale (p50 next to p99); different units get their own.
        const sameUnit = names.filter((n) => rows.some((o) => o.figures[n]?.unit === f.unit));
        const values = rows.flatMap((o) => (o.status === 'ok' ? sameUnit.map((n) => o.figures[n]?.value ?? 0) : []));
        const max = Math.max(...values.filter(Number.isFinite), 1e-9);
        const w = Number.isFinite(f.value) ? Math.max(1, (f.value / max) * barW) : 0;
        const by = cy + i * (BAR_H + 2);
        ctx.fillStyle = (ROLE_COLOURS[r.role] ?? ROLE_COLOURS.peer!)[i % 3]!;
        ctx.fillRect(x + LABEL_W, by, w, BAR_H);
        ctx.fillStyle = '#24292f';
        ctx.font = '11px DejaVu Sans';
        ctx.fillText(`${fmt(f.value)}${names.length > 1 ? ` ${name.replace(/_ms$|_per_s$|_bytes$/, '')}` : ''}`, x + LABEL_W + w + 5, by + BAR_H / 2);
      });
    }
    cy += groupH + 10;
  }
}

/** Writes the chart to `file`; returns false (and writes nothing) when the canvas peer is missing. */
export function renderChart(run: RunRecord, file: string): boolean {
  let canvas: CanvasModule;
  try {
    canvas = loadPeer<CanvasModule>('@napi-rs/canvas');
  } catch {
    return false;
  }
  if (existsSync(FONT_FILE)) canvas.GlobalFonts.registerFromPath(FONT_FILE, 'DejaVu Sans');
  if (existsSync(FONT_BOLD_FILE)) canvas.GlobalFonts.registerFromPath(FONT_BOLD_FILE, 'DejaVu Sans');
  const sections: Array<{ scenario: ScenarioName; rows: TargetResult[]; left: string[]; right: string[]; h: number }> = [];
  for (const scenario of run.scenarios) {
    const rows = run.results.filter((r) => r.scenario === scenario);
    if (!rows.some((r) => r.status === 'ok')) continue;
    const figs = new Map<string, Figure>();
    for (const r of rows) for (const [k, f] of Object.entries(r.figures)) figs.set(k, f);
    const left = [...figs].filter(([, f]) => isLeft(f)).map(([k]) => k);
    const right = [...figs].filter(([, f]) => !isLeft(f)).map(([k]) => k);
    const h = Math.max(panelHeight(rows, left), panelHeight(rows, right)) + 60;
    sections.push({ scenario, rows, left, right, h });
  }
  const height = 70 + sections.reduce((s, x) => s + x.h, 0) + 30;
  const c = canvas.createCanvas(WIDTH, height);
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, WIDTH, height);
  ctx.fillStyle = '#24292f';
  ctx.font = 'bold 18px DejaVu Sans';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(`Holdline benchmark ${run.startedAt}${run.quick ? ' (quick)' : ''}${run.holdline ? ` — ${run.holdline}` : ''}`, 20, 30);
  ctx.font = '12px DejaVu Sans';
  const m = run.machine;
  const machineLine = `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, Redis ${m.redis}, load avg ${run.loadAverage.start} → ${run.loadAverage.end}`;
  ctx.fillText(machineLine, 20, 50);
  let lx = 20 + ctx.measureText(machineLine).width + 30;
  for (const [role, label] of [['holdline', 'Holdline'], ['ceiling', 'ceiling'], ['peer', 'peers']] as const) {
    ctx.fillStyle = ROLE_COLOURS[role]![0]!;
    ctx.fillRect(lx, 40, 12, 12);
    ctx.fillStyle = '#24292f';
    ctx.fillText(label, lx + 16, 50);
    lx += 16 + ctx.measureText(label).width + 20;
  }
  let y = 80;
  for (const s of sections) {
    ctx.strokeStyle = '#d0d7de';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(20, y);
    ctx.lineTo(WIDTH - 20, y);
    ctx.stroke();
    ctx.fillStyle = '#24292f';
    ctx.font = 'bold 15px DejaVu Sans';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    ctx.fillText(s.scenario, 20, y + 22);
    if (s.left.length) drawPanel(ctx, 20, y + 50, s.rows, s.left, `${s.left.join(', ')} (higher is better)`);
    if (s.right.length) drawPanel(ctx, 40 + PANEL_W, y + 50, s.rows, s.right, `${s.right.join(', ')} (lower is better)`);
    y += s.h;
  }
  writeFileSync(file, c.toBuffer('image/png'));
  return true;
}
