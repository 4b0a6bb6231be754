import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { VlSpec } from './specs.js';

export interface RenderedSvg {
  svg: string;
  /** Warnings of the Vega-Lite compiler and the Vega runtime (a sound spec has none). */
  warnings: string[];
}

/**
 * Renders a Vega-Lite spec to a static SVG in Node. The 'none' renderer builds the scenegraph
 * without a canvas; text widths are estimated, which is close enough for a static figure.
 */
export async function renderSvg(spec: VlSpec): Promise<RenderedSvg> {
  const warnings: string[] = [];
  const collect = (_method: string, level: string, args: unknown[]): void => {
    warnings.push(`${level} ${args.map(String).join(' ')}`);
  };
  const vg = compile(spec as unknown as TopLevelSpec, { logger: vega.logger(vega.Warn, undefined, collect) }).spec;
  const view = new vega.View(vega.parse(vg), {
    renderer: 'none',
    logger: vega.logger(vega.Warn, undefined, collect),
  });
  try {
    const svg = await view.toSVG();
    return { svg, warnings };
  } finally {
    view.finalize();
  }
}
