/**
 * Escaping for the three contexts the report writes user-supplied strings into: HTML text and
 * attributes, JSON inside a <script> element, and a shell command line.
 */

const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Safe in element text and in quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);
}

/**
 * JSON that can sit inside a <script> element: a `</script` or `<!--` in a string would end or
 * corrupt the element, so every `<` becomes the JSON escape \u003c (JSON.parse restores it).
 * U+2028/2029 are escaped too so the text also stays valid as a JavaScript literal.
 */
export function jsonForScript(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Third-party JavaScript inlined in a <script> element: `</script` inside it (legal in a string or
 * regex literal) would close the element early; `<\/script` means the same to JavaScript
 * (`\/` is a valid escape in strings, templates and regexes, with or without the u flag).
 */
export function scriptSafe(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1');
}

/** Quotes one argument for a POSIX shell, leaving plain words as they are. */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
