/**
 * Nesting depth of JSON, checked before anything walks it recursively: `JSON.parse` takes any depth, but
 * `JSON.stringify`, `structuredClone` and tree walks overflow the stack on a few thousand levels (a RangeError,
 * not a typed error). The files read here nest a few levels (config.json 3, tokenizer.json about 6, a
 * safetensors header 3), so anything past MAX_JSON_DEPTH is refused by the parser that reads it.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether JSON text nests arrays and objects at most `max` deep (brackets inside strings do not count). */
export function jsonTextNestsWithin(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return false;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return true;
}

/** Whether a value (a parsed JSON tree, say) nests at most `max` deep; walks it without recursion. */
export function valueNestsWithin(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue; // a value met before is walked once
    if (d + 1 > max) return false;
    seen.add(v);
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, d + 1]);
  }
  return true;
}
