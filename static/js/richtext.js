// A post's or comment's text as DOM nodes: links people wrote, @mentions and #hashtags become
// links, everything else stays text (built with text nodes, never parsed as HTML).
//
// The same rules as microblog/text.py (`rich_text`, `_URL`, `_MENTION`, `_HASHTAG`,
// `tag_name`, `is_tag`): keep the two in step. Python's `\w` on text is a letter, a number or
// '_' of any script; here that is [\p{L}\p{N}_].
const TAG_MAX = 64;  // microblog.limits.TAG_MAX
const USERNAME = "[A-Za-z0-9_]{3,32}";  // microblog.text.USERNAME_PATTERN
const W = "[\\p{L}\\p{N}_]";
const URL = "https?://[^\\s<>\"'\\x60]+[^\\s<>\"'\\x60.,;:!?)\\]}]";
const MENTION = `(?<![\\p{L}\\p{N}_@/.])@(${USERNAME})(?![\\p{L}\\p{N}_@])`;
const HASHTAG = `(?<![\\p{L}\\p{N}_#&/])#(${W}{1,${TAG_MAX}})(?!${W})`;
const RICH = new RegExp(`(?<url>${URL})|(?<mention>${MENTION})|(?<tag>${HASHTAG})`, "gu");
const HASHTAG_ONLY = new RegExp(HASHTAG, "gu");
const TAG_CHARS = /^[\p{L}\p{N}_]+$/u;
const LETTER = /\p{L}/u;

// The canonical form of a hashtag's name (`#Café`, `#CAFÉ` → `café`): Python's NFKC then
// casefold, whose differences from toLowerCase that matter for letters are these two.
export function tagName(raw) {
  return raw.normalize("NFKC").toLowerCase().replace(/ß/g, "ss").replace(/ς/g, "σ");
}

export function isTag(name) {
  const length = [...name].length;
  return length > 0 && length <= TAG_MAX && LETTER.test(name) && TAG_CHARS.test(name);
}

// the distinct canonical hashtags of a text, in order (as microblog.text.hashtags)
export function hashtags(text) {
  const seen = [];
  for (const match of String(text).matchAll(HASHTAG_ONLY)) {
    const name = tagName(match[1]);
    if (isTag(name) && !seen.includes(name)) seen.push(name);
  }
  return seen;
}

function link(href, text, className = null) {
  const a = document.createElement("a");
  if (className) a.className = className;  // attributes in the server's order
  a.setAttribute("href", href);
  a.textContent = text;
  return a;
}

// `text` as a fragment of text nodes and links, like the server's `rich` filter
export function richText(text) {
  const source = String(text ?? "");
  const out = document.createDocumentFragment();
  let last = 0;
  const plain = (s) => { if (s) out.append(document.createTextNode(s)); };
  for (const match of source.matchAll(RICH)) {
    plain(source.slice(last, match.index));
    const whole = match[0];
    if (match.groups.url) {
      const a = link(whole, whole);
      a.rel = "nofollow noopener ugc";
      a.target = "_blank";
      out.append(a);
    } else if (match.groups.mention) {
      out.append(link(`/user/${encodeURIComponent(whole.slice(1))}`, whole, "mention"));
    } else {
      const name = tagName(whole.slice(1));
      if (isTag(name)) out.append(link(`/tags/${encodeURIComponent(name)}`, whole, "hashtag"));
      else plain(whole);
    }
    last = match.index + whole.length;
  }
  plain(source.slice(last));
  return out;
}
