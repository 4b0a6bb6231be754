/** Rows grouped by label, classes in ascending label order, rows in ascending index order. */
export interface ClassGroups {
  classes: Int32Array;
  rows: Int32Array[];
}

export function groupByClass(labels: Int32Array): ClassGroups {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const classes = Int32Array.from(counts.keys()).sort();
  const slot = new Map<number, number>();
  const rows = Array.from(classes, (c, k) => {
    slot.set(c, k);
    return new Int32Array(counts.get(c)!);
  });
  const fill = new Int32Array(classes.length);
  for (let i = 0; i < labels.length; i++) {
    const k = slot.get(labels[i]!)!;
    rows[k]![fill[k]!++] = i;
  }
  return { classes, rows };
}
