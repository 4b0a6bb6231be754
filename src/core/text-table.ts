/** Column widths of a header plus rows (a missing cell counts as empty). */
function widths(rows: readonly (readonly (string | undefined)[])[]): number[] {
  const cols = Math.max(...rows.map((r) => r.length));
  return Array.from({ length: cols }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
}

/** A fixed-width table for a terminal: columns padded, two spaces apart, no trailing blanks. */
export function plainTable(header: readonly string[], body: readonly (readonly (string | undefined)[])[]): string {
  const rows = [header, ...body];
  const w = widths(rows);
  return rows
    .map((r) =>
      w
        .map((width, i) => (r[i] ?? '').padEnd(width))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The same as a Markdown table, for pasting into a README or an issue. */
export function markdownTable(header: readonly string[], body: readonly (readonly (string | undefined)[])[]): string {
  const w = widths([header, ...body]);
  const line = (r: readonly (string | undefined)[]): string => `| ${w.map((width, i) => (r[i] ?? '').padEnd(width)).join(' | ')} |`;
  return [line(header), `|${w.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
