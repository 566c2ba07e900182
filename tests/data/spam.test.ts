import { describe, expect, it } from 'vitest';
import { decodeHeaderWords, htmlToText, parseEmail } from '../../src/data/email.js';
import { spamAssassinRaw, spamDataset, spamMessages } from '../../src/data/spam.js';
import { loadTextDocuments } from '../../src/data/text.js';
import { BROWN_SPLIT } from '../../src/data/brown.js';
import { splitByKey } from '../../src/data/split.js';

const messages = spamMessages(spamAssassinRaw()); // read and parse once (~1 s)

describe('SpamAssassin', () => {
  it('has 6,046 messages: 4,150 ham and 1,896 spam, unique ids', () => {
    expect(messages.length).toBe(6046);
    expect(messages.filter((m) => m.label === 'spam').length).toBe(1896);
    expect(new Set(messages.map((m) => m.id)).size).toBe(6046);
    expect(messages[0]!.id).toBe('easy-ham-1/00001');
  });

  it('strips headers and decodes MIME and HTML', () => {
    const spam1 = messages.find((m) => m.id === 'spam-1/00001')!;
    expect(spam1.text.startsWith('Life Insurance - Why Pay More?\n')).toBe(true);
    expect(spam1.text).not.toMatch(/Received:|Return-Path:|<TABLE|=3D/i);
    const withHeaders = messages.filter((m) => /^(Received|Return-Path|Delivered-To): /m.test(m.text)).length;
    expect(withHeaders).toBeLessThan(60); // forwarded mails quote headers in their bodies
    const htmlLeft = messages.filter((m) => /<\/?(html|body|table|td|font)\b/i.test(m.text)).length;
    expect(htmlLeft).toBeLessThan(40);
  });

  it('splits 80/10/10 by message id, deterministic and disjoint', () => {
    const a = spamDataset(messages),
      b = spamDataset(messages);
    expect([a.train.length, a.validation.length, a.test.length]).toEqual([4825, 616, 605]);
    expect(b.test.map((m) => m.id)).toEqual(a.test.map((m) => m.id));
    const train = new Set(a.train.map((m) => m.id));
    expect(a.validation.concat(a.test).filter((m) => train.has(m.id))).toEqual([]);
    expect(a.test.filter((m) => m.label === 'spam').length).toBe(177);
  });

  it("gives pre-training ('--data spam') the training split's texts alone", async () => {
    const docs = await loadTextDocuments('spam');
    const train = spamDataset(messages).train;
    expect(docs.map((d) => d.id)).toEqual(train.map((m) => `spam-train/${m.id}`));
    expect(docs.map((d) => d.text)).toEqual(train.map((m) => m.text));
    // pre-training holds some of them out for its masked-LM figures (by a hash of these ids)
    const heldOut = splitByKey(docs, (d) => d.id, BROWN_SPLIT).validation.length;
    expect(heldOut).toBeGreaterThan(400);
    expect(heldOut).toBeLessThan(570);
  });
});

describe('e-mail parsing', () => {
  it('handles multipart/alternative, quoted-printable, base64 and encoded subjects', () => {
    const raw = [
      'From someone  Thu Aug 22 13:17:22 2002',
      'Subject: =?utf-8?B?SGVsbG8gd29ybGQ=?= =?iso-8859-1?Q?caf=E9_au_lait?=',
      'Content-Type: multipart/alternative;',
      '\tboundary="XX"',
      '',
      'preamble',
      '--XX',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'na=EFve soft=',
      'break',
      '--XX',
      'Content-Type: text/html',
      '',
      '<p>html version</p>',
      '--XX--',
      '',
    ].join('\n');
    expect(parseEmail(raw)).toEqual({ subject: 'Hello worldcafé au lait', body: 'naïve softbreak' });
    const b64 =
      'Subject: x\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n' +
      btoa('<html><head><title>t</title></head><body>A&amp;B<br>&#233;t&eacute;</body></html>');
    expect(parseEmail(b64).body).toBe('A&B\nét&eacute;');
    expect(decodeHeaderWords('plain')).toBe('plain');
    expect(htmlToText('<style>p{}</style>a<!-- c -->b')).toBe(' a b');
  });
});
