import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
}

/**
 * A time-series chart (uPlot, on a canvas) over UTC days. The canvas is an image to assistive
 * technology: `label` names it, and every figure it draws is also in the table next to it.
 */
export function LineChart({ label, days, series, testId }: { label: string; days: string[]; series: Series[]; testId?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const plot = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: 220,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [
          { stroke: '#a1a1aa', grid: { stroke: '#27272a' } },
          { stroke: '#a1a1aa', grid: { stroke: '#27272a' } },
        ],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: days.length < 40 } }))],
      },
      [xs, ...series.map((s) => s.values)] as uPlot.AlignedData,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [days, series]);
  return <div ref={box} role="img" aria-label={label} data-testid={testId} className="w-full min-w-0 overflow-hidden [&_.u-legend]:flex [&_.u-legend]:flex-wrap [&_.u-legend]:text-xs" />;
}
