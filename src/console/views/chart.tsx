/**
 * Waiting callers and service level over the last hour (uPlot), from the samples live.ts keeps.
 * The figure carries a text summary for screen readers; the canvas itself is hidden from them.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { HISTORY_SECONDS, history } from '../live.js';

const REDRAW_MS = 5000;

export function QueueChart({ queueId, wallboard }: { queueId: string; wallboard: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const summary = useRef<HTMLParagraphElement>(null);

  useEffect(() => {
    const el = box.current!;
    const data = (): uPlot.AlignedData => {
      const s = history(queueId);
      return [s.t, s.waiting, s.serviceLevel];
    };
    const width = (): number => Math.max(300, el.clientWidth);
    const height = wallboard ? 320 : 220;
    // Canvas text does not follow the page's font size: the wallboard's is set here.
    const font = wallboard ? '20px system-ui, sans-serif' : '12px system-ui, sans-serif';
    const scaleX = (): [number, number] => {
      const now = Date.now() / 1000;
      return [now - HISTORY_SECONDS, now];
    };
    const plot = new uPlot(
      {
        width: width(),
        height,
        scales: { x: { time: true, range: scaleX }, waiting: { range: (_u, _min, max) => [0, Math.max(5, max)] }, sl: { range: [0, 100] } },
        axes: [
          { font },
          { scale: 'waiting', label: 'Waiting callers', font, labelFont: font },
          { scale: 'sl', side: 1, label: 'Service level %', grid: { show: false }, font, labelFont: font },
        ],
        series: [
          {},
          { label: 'Waiting', scale: 'waiting', stroke: '#1d4ed8', width: 2, fill: 'rgba(29, 78, 216, 0.1)', paths: uPlot.paths.stepped?.({ align: 1 }) },
          { label: 'Service level', scale: 'sl', stroke: '#15803d', width: 2, value: (_u, v) => (v === null ? '–' : `${v}%`) },
        ],
        legend: { live: false },
      },
      data(),
      el,
    );
    const redraw = (): void => {
      const s = history(queueId);
      plot.setData(data());
      const last = s.waiting.length === 0 ? null : s.waiting[s.waiting.length - 1];
      const peak = s.waiting.length === 0 ? null : Math.max(...s.waiting);
      if (summary.current !== null) {
        summary.current.textContent =
          last === null ? 'No samples yet.' : `Now ${last} waiting; at most ${peak} waiting in the ${Math.round((s.t[s.t.length - 1]! - s.t[0]!) / 60)} minutes shown.`;
      }
    };
    redraw();
    const timer = setInterval(redraw, REDRAW_MS);
    const onResize = (): void => plot.setSize({ width: width(), height });
    addEventListener('resize', onResize);
    return () => {
      clearInterval(timer);
      removeEventListener('resize', onResize);
      plot.destroy();
    };
  }, [queueId, wallboard]);

  return (
    <figure class="chart">
      <figcaption>Waiting callers and service level, last hour (sampled by this tab)</figcaption>
      <div ref={box} aria-hidden="true" />
      <p ref={summary} class="sr-only" />
    </figure>
  );
}
