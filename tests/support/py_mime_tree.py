#!/usr/bin/env python3
"""Independent MIME tree reader built on Python's standard `email` package, used to cross-check
the golden corpus (tests/corpus) against a second, unrelated parser.

    python3 tests/support/py_mime_tree.py FILE.eml [--defects]

prints one JSON object:

    {"subject": str|null,
     "parts": [{"path", "content_type", "filename", "content_id", "disposition", "size", "sha256"}, ...]}

in walk order (pre-order, as `Message.walk()` yields), reading the file the way a user of the
standard library would: `BytesParser(policy=email.policy.default).parse(f)` and `walk()`.

Path scheme (same as Herald's): the root part is "1"; child k (1-based) of the part at P is "P.k";
the message inside a message/rfc822 part at P is "P.1" (Python stores it as a one-element payload
list, so the same child rule covers it).

Per part:
  * content_type  `get_content_type()` (lowercase; text/plain by default, message/rfc822 inside
                  multipart/digest).
  * filename      `get_filename()` (Content-Disposition filename, else Content-Type name; RFC 2231
                  and RFC 2047 decoded by Python).
  * content_id    Content-ID without the angle brackets, or null.
  * disposition   `get_content_disposition()`.
  * size/sha256   leaves: of `get_payload(decode=True)` (transfer-decoded, never charset-converted).
                  multipart containers: null.
                  message/rfc822: Python keeps no raw bytes for the encapsulated message. The tool
                  re-serialises it (BytesGenerator, CRLF, no refolding) and reports size/sha256 only
                  if exactly those bytes are found in the file between the part's blank line and
                  the parent's next "CRLF--boundary", i.e. they provably ARE the encapsulated bytes;
                  otherwise both are null (and "rfc822_exact": false is added to the part).
  * defects       (only with --defects) the class names of Python's defects for that part.

Where Python's reading legitimately differs from Herald's expected.json (observed on the corpus):
  * Bad base64 (junk characters, stray '=', dangling final character): Python does not fail. In
    malformed-bad-base64 it skips the junk, registers InvalidBase64CharactersDefect and returns a
    lenient decoding (620 bytes); when only the length is wrong it registers
    InvalidBase64LengthDefect and returns the undecoded text. Herald instead flags the part
    (warning encoding_problem). Broken quoted-printable (=ZZ, ==, "=4 ") is passed through
    literally by Python with no defect at all.
  * Unterminated multipart: Python keeps the truncated last part and records
    CloseBoundaryNotFoundDefect (the moral equivalent of Herald's unterminated_multipart).
  * multipart/* without a boundary parameter: Python records NoBoundaryInMultipartDefect and keeps
    the body as a single text payload of type multipart/mixed (is_multipart() is False), so it is
    reported as a leaf with a multipart content_type.
  * No header section / no blank line: Python treats the first line as a (defective) header when
    it has no colon -> MissingHeaderBodySeparatorDefect and the line becomes body text.
  * Deep nesting is walked completely (Python has no depth limit; 150 levels -> 151 parts, no
    defect), and 10,050 parts are listed without complaint: Python has no depth/part limits.
  * A 0-byte file and an empty header section both read as one empty/plain text/plain part with
    subject null.
  * Encoded-words inside quoted strings (`filename="=?UTF-8?B?...?="`, `"=?GBK?B?...?=" <a@b>`):
    Python decodes them, as Herald does, although RFC 2047 section 5 forbids them there.
  * Subjects: Python returns the decoded value with CR/LF/bidi controls intact; the cross-check
    applies Herald's display rule (neutralize) before comparing.
  * Quoted-pair backslashes in a quoted filename ("C:\\Windows\\evil.dll" vs "C:\\\\Windows"):
    Python's policy.default unescapes quoted-pairs per RFC 5322, so single backslashes vanish.
"""

import hashlib
import json
import sys
from email import policy
from email.generator import BytesGenerator
from email.parser import BytesParser
import io

_SERIALIZE = policy.default.clone(linesep="\r\n", refold_source="none", max_line_length=None)


def _rfc822_bytes(part, parent, raw):
    """Exact encapsulated bytes of a message/rfc822 part, or None when not provable."""
    if parent is None or not parent.is_multipart() or parent.get_content_maintype() != "multipart":
        return None
    boundary = parent.get_boundary()
    if not boundary:
        return None
    inner = part.get_payload(0)
    buf = io.BytesIO()
    BytesGenerator(buf, mangle_from_=False, policy=_SERIALIZE).flatten(inner)
    cand = buf.getvalue()
    needle = b"\r\n\r\n" + cand + b"\r\n--" + boundary.encode("ascii", "surrogateescape")
    return cand if needle in raw else None


def mime_tree(raw, with_defects=False):
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    subject = msg["subject"]
    out = {"subject": None if subject is None else str(subject), "parts": []}
    paths = {id(msg): "1"}
    parents = {id(msg): None}
    for part in msg.walk():
        path = paths[id(part)]
        ct = part.get_content_type()
        children = part.get_payload() if part.is_multipart() else []
        for k, sub in enumerate(children, 1):
            paths[id(sub)] = f"{path}.{k}"
            parents[id(sub)] = part
        cid = part.get("content-id")
        if cid is not None:
            cid = str(cid).strip()
            if cid.startswith("<") and cid.endswith(">"):
                cid = cid[1:-1]
        entry = {
            "path": path,
            "content_type": ct,
            "filename": part.get_filename(),
            "content_id": cid,
            "disposition": part.get_content_disposition(),
            "size": None,
            "sha256": None,
        }
        data = None
        if ct == "message/rfc822" and part.is_multipart():
            data = _rfc822_bytes(part, parents[id(part)], raw)
            if data is None:
                entry["rfc822_exact"] = False
        elif not part.is_multipart():
            data = part.get_payload(decode=True)
            if data is None:
                data = b""
        if data is not None:
            entry["size"] = len(data)
            entry["sha256"] = hashlib.sha256(data).hexdigest()
        if with_defects:
            entry["defects"] = [type(d).__name__ for d in part.defects]
        out["parts"].append(entry)
    return out


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print("usage: py_mime_tree.py FILE.eml [--defects]", file=sys.stderr)
        return 2
    with open(args[0], "rb") as f:
        raw = f.read()
    json.dump(mime_tree(raw, "--defects" in argv), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
