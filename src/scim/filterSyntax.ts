// The tokens of SCIM filters and PATCH paths (RFC 7644 §3.4.2.2 Figure 1, §3.5.2 Figure 5).
// Separate from the parser so the PATCH path reader can use the same lexer.
import { ScimError } from "./errors.ts";

export type Token =
  | { kind: "word"; text: string; at: number }
  | { kind: "string"; value: string; at: number }
  | { kind: "number"; value: number; text: string; at: number }
  | { kind: "(" | ")" | "[" | "]" | "."; at: number }
  | { kind: "end"; at: number };

/**
 * An attribute path or keyword: ATTRNAME = ALPHA *(nameChar) with "$ref" allowed, optionally
 * prefixed by a schema URN, and ".subAttr". URNs carry ":" and version dots ("2.0"), so they are
 * part of the word.
 */
const WORD = /[A-Za-z$][A-Za-z0-9_\-$:.]*/y;
/** JSON numbers (RFC 7159), which is what RFC 7644 compValue allows. */
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
/** A JSON string: escapes are decoded by JSON.parse below. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids raw control characters (U+0000–U+001F) inside a string.
const STRING = /"(?:[^"\\\u0000-\u001f]|\\.)*"/y;

/** Longest filter or path UniAsset reads; a provider's real filters are far shorter. */
export const MAX_EXPRESSION_LENGTH = 2_000;

export function tokenize(text: string, fail: (detail: string) => ScimError): Token[] {
  if (text.length > MAX_EXPRESSION_LENGTH) throw fail(`is longer than ${MAX_EXPRESSION_LENGTH} characters`);
  const tokens: Token[] = [];
  let at = 0;
  const match = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = at;
    return pattern.exec(text)?.[0];
  };
  while (at < text.length) {
    const char = text[at]!;
    if (char === " " || char === "\t" || char === "\n" || char === "\r") {
      at += 1;
      continue;
    }
    if (char === "(" || char === ")" || char === "[" || char === "]" || char === ".") {
      tokens.push({ kind: char, at });
      at += 1;
      continue;
    }
    if (char === '"') {
      const literal = match(STRING);
      if (literal === undefined) throw fail(`has an unterminated string at position ${at + 1}`);
      let value: string;
      try {
        value = JSON.parse(literal) as string;
      } catch {
        throw fail(`has an invalid escape in the string at position ${at + 1}`);
      }
      tokens.push({ kind: "string", value, at });
      at += literal.length;
      continue;
    }
    if (char === "-" || (char >= "0" && char <= "9")) {
      const literal = match(NUMBER);
      if (literal === undefined) throw fail(`has an invalid number at position ${at + 1}`);
      tokens.push({ kind: "number", value: Number(literal), text: literal, at });
      at += literal.length;
      continue;
    }
    const word = match(WORD);
    if (word === undefined) throw fail(`has an unexpected character ${JSON.stringify(char)} at position ${at + 1}`);
    // "emails[type eq \"work\"].value": a word never ends with the "." that follows "]".
    tokens.push({ kind: "word", text: word, at });
    at += word.length;
  }
  tokens.push({ kind: "end", at });
  return tokens;
}

export function describeToken(token: Token): string {
  switch (token.kind) {
    case "word":
      return `"${token.text}"`;
    case "string":
      return `the string ${JSON.stringify(token.value)}`;
    case "number":
      return `the number ${token.text}`;
    case "end":
      return "the end";
    default:
      return `"${token.kind}"`;
  }
}
