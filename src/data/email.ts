/**
 * Raw RFC 822 / MIME e-mail → subject and readable body text. Pure string functions (no I/O), used by
 * `spam.ts`. What is kept and what is dropped:
 *   - headers: all dropped except `Subject`, whose RFC 2047 encoded words (`=?utf-8?B?…?=`) are decoded;
 *     folded header lines are unfolded; the mbox `From ` line is a header line like any other;
 *   - MIME: `multipart/alternative` keeps its `text/plain` part (else the first text part); every other
 *     multipart (`mixed`, `related`, `signed`, `report`, …) keeps all its text parts in order;
 *     `message/rfc822` parts are parsed as mails and contribute their body; attachments, images and
 *     signatures (any non-`text/*` leaf) are dropped;
 *   - transfer encodings `quoted-printable` and `base64` are decoded; the decoded bytes are read with
 *     the part's charset (TextDecoder; unknown charsets fall back to latin-1); `7bit`/`8bit` parts are
 *     kept as the string they already are;
 *   - HTML (`text/html`, or a `text/plain` body that starts with `<html`/`<!doctype`, common in spam) is
 *     turned into text: comments, `<head>`, `<script>`, `<style>` removed; `<br>`, `<p>`, `<div>`, `<tr>`,
 *     `<li>`, headings → line breaks; other tags removed; entities decoded (named basics and numeric);
 *   - inline PGP armour (`-----BEGIN PGP SIGNATURE-----` … `-----END PGP SIGNATURE-----`, and the
 *     `-----BEGIN PGP SIGNED MESSAGE-----` line with its `Hash:` line) is removed;
 *   - whitespace: tabs and runs of spaces → one space, spaces at line ends removed, 3+ line breaks → 2.
 */

export interface ParsedEmail {
  subject: string;
  body: string;
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

/** Split a message (or MIME part) at its first blank line and parse the header block. */
function splitPart(raw: string): Part {
  const text = raw.replace(/\r\n?/g, '\n');
  const cut = text.indexOf('\n\n');
  const headerBlock = cut < 0 ? text : text.slice(0, cut);
  const body = cut < 0 ? '' : text.slice(cut + 2);
  const headers = new Map<string, string>();
  let name = '';
  for (const line of headerBlock.split('\n')) {
    if (/^[ \t]/.test(line) && name !== '') {
      headers.set(name, headers.get(name)! + ' ' + line.trim()); // folded continuation
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) {
      name = '';
      continue; // mbox "From " line or junk
    }
    name = line.slice(0, colon).toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

/** `text/html; charset="iso-8859-1"` → { type: 'text/html', params: { charset: 'iso-8859-1' } }. */
function parseContentType(value: string | undefined): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  if (!value) return { type: 'text/plain', params };
  const [typePart, ...rest] = value.split(';');
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    params.set(
      p.slice(0, eq).trim().toLowerCase(),
      p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1'),
    );
  }
  return { type: (typePart ?? '').trim().toLowerCase() || 'text/plain', params };
}

function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  const label = (charset ?? 'utf-8').toLowerCase();
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

/** The string's code units as bytes (the corpus strings hold 8-bit data in the encoded forms). */
function quotedPrintableBytes(s: string, underscoreIsSpace = false): Uint8Array {
  const t = s.replace(/=\n/g, ''); // soft line breaks
  const out: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(t.slice(i + 1, i + 3))) {
      out.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '_' && underscoreIsSpace) {
      out.push(0x20);
    } else {
      const code = t.charCodeAt(i);
      if (code < 0x80) out.push(code);
      else for (const b of new TextEncoder().encode(c)) out.push(b);
    }
  }
  return Uint8Array.from(out);
}

function base64Bytes(s: string): Uint8Array {
  const clean = s.replace(/[^A-Za-z0-9+/]/g, '');
  const usable = clean.slice(0, clean.length - (clean.length % 4 === 1 ? 1 : 0)); // a lone sextet is no byte
  const padded = usable + '='.repeat((4 - (usable.length % 4)) % 4);
  const binary = atob(padded);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Decode RFC 2047 encoded words in a header value. */
export function decodeHeaderWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?') // whitespace between adjacent encoded words is not text
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_m, charset: string, enc: string, data: string) =>
      decodeBytes(enc.toUpperCase() === 'B' ? base64Bytes(data) : quotedPrintableBytes(data, true), charset),
    );
}

const ENTITIES: Record<string, string> = {
  nbsp: ' ',
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  copy: '©',
  reg: '®',
  trade: '™',
  mdash: '—',
  ndash: '–',
  hellip: '…',
  laquo: '«',
  raquo: '»',
  bull: '•',
  middot: '·',
  euro: '€',
  pound: '£',
};

/** HTML → text (see the module comment). */
export function htmlToText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(head|script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<(br|p|div|tr|li|h[1-6]|table|blockquote)\b[^>]*>/gi, '\n')
    .replace(/<\/(p|div|tr|li|h[1-6]|table|blockquote)\s*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);?/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

function looksLikeHtml(body: string): boolean {
  return /^\s*(<!doctype html|<html|<head|<body)/i.test(body);
}

/** The readable text of one part (recursive over multiparts). */
function partText(part: Part, depth: number): string {
  const { type, params } = parseContentType(part.headers.get('content-type'));
  if (type.startsWith('multipart/') && params.has('boundary') && depth < 8) {
    const children = splitMultipart(part.body, params.get('boundary')!).map(splitPart);
    if (type === 'multipart/alternative') {
      const plain = children.find((c) => parseContentType(c.headers.get('content-type')).type === 'text/plain');
      const pick =
        plain ?? children.find((c) => parseContentType(c.headers.get('content-type')).type.startsWith('text/'));
      return pick ? partText(pick, depth + 1) : '';
    }
    return children
      .map((c) => partText(c, depth + 1))
      .filter((t) => t.trim() !== '')
      .join('\n\n');
  }
  if (type === 'message/rfc822' && depth < 8) return partText(splitPart(part.body), depth + 1);
  if (!type.startsWith('text/') && !type.startsWith('multipart/')) return ''; // attachment, image, signature
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  let text = part.body;
  if (encoding === 'quoted-printable') text = decodeBytes(quotedPrintableBytes(text), params.get('charset'));
  else if (encoding === 'base64') text = decodeBytes(base64Bytes(text), params.get('charset'));
  if (type === 'text/html' || looksLikeHtml(text)) text = htmlToText(text);
  return text;
}

/** The parts between `--boundary` lines (preamble and epilogue dropped). */
function splitMultipart(body: string, boundary: string): string[] {
  const lines = body.replace(/\r\n?/g, '\n').split('\n');
  const parts: string[] = [];
  let current: string[] | null = null;
  for (const line of lines) {
    const t = line.trimEnd();
    if (t === `--${boundary}--`) {
      if (current) parts.push(current.join('\n'));
      return parts;
    }
    if (t === `--${boundary}`) {
      if (current) parts.push(current.join('\n'));
      current = [];
      continue;
    }
    if (current) current.push(line);
  }
  if (current) parts.push(current.join('\n')); // no closing boundary
  return parts;
}

/** Tabs and space runs → one space, trailing spaces dropped, 3+ line breaks → 2, trimmed. */
export function normaliseWhitespace(s: string): string {
  return s
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Drop inline PGP signatures and the signed-message header (the signed text itself stays). */
function stripPgpArmour(s: string): string {
  return s
    .replace(/-----BEGIN PGP SIGNATURE-----[\s\S]*?-----END PGP SIGNATURE-----/g, '')
    .replace(/-----BEGIN PGP SIGNED MESSAGE-----\n(Hash: [^\n]*\n)?/g, '');
}

/** Subject and body text of a raw message (see the module comment). */
export function parseEmail(raw: string): ParsedEmail {
  const part = splitPart(raw);
  return {
    subject: normaliseWhitespace(decodeHeaderWords(part.headers.get('subject') ?? '')),
    body: normaliseWhitespace(stripPgpArmour(partText(part, 0))),
  };
}
