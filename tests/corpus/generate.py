#!/usr/bin/env python3
"""Deterministic generator for Herald's golden MIME corpus.

    python3 tests/corpus/generate.py            # (re)write every .eml / .expected.json / README.md, then cross-check
    python3 tests/corpus/generate.py --no-check # write only
    python3 tests/corpus/generate.py --check    # only cross-check the committed files against tests/support/py_mime_tree.py

Standard library only, no randomness: running it twice gives byte-identical output.

Every message is a hand-written template of what a real client sends (headers, boundaries,
X-Mailer/User-Agent, content-ids). Bodies are built from a tiny tree model (Leaf / Multi /
Rfc822) whose header text is written out literally below; the model only joins parts with the
boundary lines and applies the transfer encoding named in the template. The expected JSON is
computed from what the generator PUT IN (the Unicode subject, the decoded bytes, the filename
it encoded), never from running Herald or any parser.

Conventions (see README.md for the full schema):
  * paths: root "1"; child k of P is "P.k"; the message inside a message/rfc822 part P is "P.1".
  * a leaf's bytes end before the CRLF that precedes the next boundary line (RFC 2046 5.1.1);
    for base64 / quoted-printable they are the decoded bytes; never charset-converted.
  * attachments: every leaf that is not the displayed text/html body of its own message, plus
    every message/rfc822 part (its bytes: the encapsulated message as it appears in the part),
    in walk order.  inline = image whose cid: is referenced by an HTML body of the same message.
"""

import base64
import datetime
import hashlib
import io
import json
import os
import struct
import sys
import unicodedata
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CRLF = b"\r\n"

# --------------------------------------------------------------------------------------------
# Display / file-name rules, mirrored from herald-core (text.rs) and the brief.
# --------------------------------------------------------------------------------------------

BIDI = {"\u061c", "\u200e", "\u200f"} | {chr(c) for c in range(0x202A, 0x202F)} | {
    chr(c) for c in range(0x2066, 0x206A)
}
ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\u00ad"}
# Unicode White_Space property (what Rust's char::is_whitespace / str::trim use).
WHITE_SPACE = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {
    chr(c) for c in range(0x2000, 0x200B)
}


def is_control(c):
    return unicodedata.category(c) == "Cc"  # Rust char::is_control


def unsafe_in_line(c):
    return is_control(c) or c in BIDI or c in ZERO_WIDTH or c in "\u2028\u2029"


# Joiners are kept in display text: emoji sequences and Persian/Indic scripts need them.
JOINERS = {"\u200c", "\u200d"}


def neutralize(s):
    """herald_core::text::neutralize_line."""
    if s is None:
        return None
    out, pending = [], False
    for c in s:
        if (unsafe_in_line(c) and c not in JOINERS) or c in WHITE_SPACE:
            pending = bool(out)
            continue
        if pending:
            out.append(" ")
            pending = False
        out.append(c)
    return "".join(out)


EXT = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/html": "html",
    "text/csv": "csv",
    "text/calendar": "ics",
    "application/zip": "zip",
    "message/rfc822": "eml",
    "application/octet-stream": "bin",
}
RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(10)} | {f"LPT{i}" for i in range(10)}


def _wstrip(s):
    while s and s[0] in WHITE_SPACE:
        s = s[1:]
    while s and s[-1] in WHITE_SPACE:
        s = s[:-1]
    return s


def sanitize_filename(raw, content_type):
    s = (raw or "").replace("\\", "/")
    s = s[s.rfind("/") + 1:]                                               # (1)
    s = "".join("_" if unsafe_in_line(c) or c in '<>:"|?*' else c for c in s)  # (2)
    s = _wstrip(s).rstrip(". ").lstrip(".")                                # (3)
    if not s:                                                               # (4)
        if content_type not in EXT:
            raise ValueError(f"no fallback extension specified for {content_type}")
        return "attachment." + EXT[content_type]
    if s.split(".", 1)[0].upper() in RESERVED:                              # (5)
        s = "_" + s
    if len(s.encode()) > 200:                                               # (6)
        dot = s.rfind(".")
        ext = s[dot:] if dot > 0 and len(s[dot:].encode()) <= 16 else ""
        stem = s[: len(s) - len(ext)]
        while len(stem.encode()) + len(ext.encode()) > 200:
            stem = stem[:-1]
        s = stem + ext
    return s


# --------------------------------------------------------------------------------------------
# Encoders
# --------------------------------------------------------------------------------------------

PYCODEC = {
    "utf-8": "utf-8", "gbk": "gbk", "gb2312": "gb2312", "gb18030": "gb18030", "big5": "big5",
    "shift_jis": "shift_jis", "iso-2022-jp": "iso2022_jp", "euc-kr": "euc_kr", "koi8-r": "koi8_r",
    "windows-1251": "cp1251", "iso-8859-1": "latin-1", "windows-1252": "cp1252", "us-ascii": "ascii",
}


def enc(text, charset):
    return text.encode(PYCODEC[charset.lower()])


def _q(data):
    out = []
    for b in data:
        if (48 <= b <= 57) or (65 <= b <= 90) or (97 <= b <= 122) or b in b"-!*+/":
            out.append(chr(b))
        elif b == 32:
            out.append("_")
        else:
            out.append("=%02X" % b)
    return "".join(out)


def ew(text, charset, mode="B", limit=75, label=None):
    """RFC 2047 encoded-words for `text`, split on character boundaries, folded with CRLF SP."""
    label = label or charset

    def word(s):
        data = enc(s, charset)
        payload = base64.b64encode(data).decode() if mode == "B" else _q(data)
        return f"=?{label}?{mode}?{payload}?="

    words, cur = [], ""
    for ch in text:
        if cur and len(word(cur + ch)) > limit:
            words.append(word(cur))
            cur = ch
        else:
            cur += ch
    if cur:
        words.append(word(cur))
    return "\n ".join(words)


def pct(text, charset="utf-8"):
    """RFC 2231 percent-encoding of the encoded bytes (attribute-char kept literal)."""
    keep = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~")
    return "".join(chr(b) if b in keep else "%%%02X" % b for b in enc(text, charset))


def rfc2231_continuations(param, text, charset="UTF-8", seg_chars=40):
    """param*0*=UTF-8''...; param*1*=...  split on character boundaries."""
    segs, cur = [], ""
    for ch in text:
        if cur and len(pct(cur + ch)) > seg_chars:
            segs.append(pct(cur))
            cur = ch
        else:
            cur += ch
    segs.append(pct(cur))
    parts = []
    for i, s in enumerate(segs):
        parts.append(f"{param}*{i}*={charset}''{s}" if i == 0 else f"{param}*{i}*={s}")
    return ";\n ".join(parts)


def b64_body(data, width=76):
    if not data:
        return b""
    s = base64.b64encode(data)
    return CRLF.join(s[i:i + width] for i in range(0, len(s), width)) + CRLF


def qp_body(data):
    """Quoted-printable for CRLF-canonical data: each CRLF is a hard line break."""
    out_lines = []
    for line in data.split(CRLF):
        toks = []
        for i, b in enumerate(line):
            if 33 <= b <= 126 and b != 61:
                toks.append(chr(b))
            elif b in (9, 32) and i < len(line) - 1:
                toks.append(chr(b))
            else:
                toks.append("=%02X" % b)
        cur = ""
        for t in toks:
            if len(cur) + len(t) > 75:
                out_lines.append(cur + "=")
                cur = ""
            cur += t
        out_lines.append(cur)
    return CRLF.join(x.encode("ascii") for x in out_lines)


# --------------------------------------------------------------------------------------------
# Binary payloads (deterministic, stdlib only)
# --------------------------------------------------------------------------------------------


def png(w, h, seed):
    rows = []
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            row += bytes(((x * 16 + seed * 37) & 255, (y * 16 + seed * 91) & 255, ((x ^ y) * 8 + seed) & 255))
        rows.append(bytes(row))
    raw = b"".join(rows)
    # zlib stream with stored (uncompressed) blocks: identical on every zlib build
    z = bytearray(b"\x78\x01")
    for i in range(0, max(len(raw), 1), 65535):
        blk = raw[i:i + 65535]
        final = 1 if i + 65535 >= len(raw) else 0
        z += bytes([final]) + struct.pack("<HH", len(blk), len(blk) ^ 0xFFFF) + blk
    z += struct.pack(">I", zlib.adler32(raw))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", bytes(z)) + chunk(b"IEND", b""))


GIF_1X1 = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def pdf(title, lines):
    content = "BT /F1 14 Tf 72 760 Td (" + title + ") Tj ET\n"
    y = 730
    for ln in lines:
        content += f"BT /F1 11 Tf 72 {y} Td ({ln}) Tj ET\n"
        y -= 16
    content = content.encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += f"{i} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for o in offs:
        out += f"{o:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def zipped(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in files:
            zi = zipfile.ZipInfo(name, date_time=(2024, 3, 5, 10, 0, 0))
            zi.create_system = 3
            zi.external_attr = 0o644 << 16
            z.writestr(zi, data)
    return buf.getvalue()


def docx(text):
    ct = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          b'<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
          b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="http://schemas.openxmlformats.org/'
           'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>' + text + "</w:t></w:r></w:p></w:body></w:document>").encode()
    return zipped([("[Content_Types].xml", ct), ("word/document.xml", doc)])


# --------------------------------------------------------------------------------------------
# Tree model
# --------------------------------------------------------------------------------------------


def H(s):
    """Header block template -> bytes with CRLF. Lines start at column 0 after dedent;
    folded lines start with a TAB or spaces. No trailing blank line."""
    assert "\r" not in s
    lines = s.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    ind = lines[0][: len(lines[0]) - len(lines[0].lstrip(" "))]
    out = []
    for ln in lines:
        if ln.startswith(ind):
            ln = ln[len(ind):]
        else:
            # a folded continuation produced by a substituted helper (ew, rfc2231_continuations)
            assert ln[:1] in (" ", "\t") and ln.strip(), repr(ln)
        out.append(ln)
    assert out[0][:1] not in (" ", "\t") and all(ln.strip() for ln in out), out
    return "\r\n".join(out).encode("utf-8") + CRLF


class Leaf:
    def __init__(self, headers, data, *, ct, cte="7bit", role=None, filename=None, cid=None):
        self.headers = H(headers) if isinstance(headers, str) else headers
        self.data = data
        self.ct = ct
        self.cte = cte
        self.role = role          # "text" / "html" = displayed body of its message, None = attachment
        self.filename = filename  # raw decoded filename the template encodes (or None)
        self.cid = cid
        low = self.headers.lower()
        assert ct.encode() in low or ct == "text/plain", (ct, self.headers)
        if cte == "base64":
            assert b"content-transfer-encoding: base64" in low, self.headers
            self.raw = b64_body(data)
        elif cte == "qp":
            assert b"content-transfer-encoding: quoted-printable" in low, self.headers
            self.raw = qp_body(data)
        else:
            assert b"base64" not in low and b"quoted-printable" not in low
            self.raw = data
        if cid:
            assert ("<" + cid + ">").lower().encode() in low, (cid, self.headers)
        if (filename and filename.isascii() and '"' not in filename and "\\" not in filename
                and b"filename*" not in low and b"=?" not in low):
            assert filename.lower().encode() in low, (filename, self.headers)


class Multi:
    def __init__(self, headers, children, *, ct, boundary, preamble=b"", epilogue=b""):
        self.headers = H(headers)
        self.children = children
        self.ct = ct
        self.boundary = boundary.encode()
        self.preamble = preamble
        self.epilogue = epilogue
        self.filename = None
        self.cid = None
        assert ct.encode() in self.headers.lower()
        assert self.boundary in self.headers


class Rfc822:
    def __init__(self, headers, inner, *, filename=None):
        # headers=None: a part with an empty header section (digest default)
        self.headers = H(headers) if headers is not None else b""
        self.inner = inner
        self.ct = "message/rfc822"
        self.filename = filename
        self.cid = None
        assert headers is None or b"message/rfc822" in self.headers.lower()


def save_name(n):
    """The name to save under: the part's file name; a forwarded message without
    one is named after its subject (as mail clients do), else attachment.eml."""
    if n.filename is not None or not isinstance(n, Rfc822):
        return n.filename
    import email
    import email.policy

    subject = email.message_from_bytes(render(n.inner), policy=email.policy.default).get("subject")
    return neutralize(str(subject)) + ".eml" if subject else None


def render(n):
    if isinstance(n, Leaf):
        return n.headers + CRLF + n.raw
    if isinstance(n, Rfc822):
        return n.headers + CRLF + render(n.inner)
    out = n.headers + CRLF
    if n.preamble:
        out += n.preamble + CRLF
    for i, c in enumerate(n.children):
        out += (CRLF if i else b"") + b"--" + n.boundary + CRLF + render(c)
    return out + CRLF + b"--" + n.boundary + b"--" + CRLF + n.epilogue


def walk(n, path="1", msg=0, nxt=None):
    """Pre-order (path, node, message-index)."""
    nxt = nxt if nxt is not None else [0]
    yield path, n, msg
    if isinstance(n, Multi):
        for k, c in enumerate(n.children, 1):
            yield from walk(c, f"{path}.{k}", msg, nxt)
    elif isinstance(n, Rfc822):
        nxt[0] += 1
        yield from walk(n.inner, path + ".1", nxt[0], nxt)


def node_bytes(n):
    return render(n.inner) if isinstance(n, Rfc822) else n.data


def tree_expectations(root):
    nodes = list(walk(root))
    html_by_msg = {}
    for _, n, m in nodes:
        if isinstance(n, Leaf) and n.role == "html":
            html_by_msg.setdefault(m, []).append(n.data)
    parts, atts = [], []
    for path, n, m in nodes:
        p = {"path": path, "content_type": n.ct}
        if n.filename is not None:
            p["filename"] = n.filename
        if n.cid is not None:
            p["content_id"] = n.cid
        parts.append(p)
        if isinstance(n, Rfc822) or (isinstance(n, Leaf) and n.role is None):
            data = node_bytes(n)
            inline = bool(
                n.ct.startswith("image/") and n.cid
                and any(b"cid:" + n.cid.encode() in h for h in html_by_msg.get(m, []))
            )
            atts.append({
                "raw_filename": n.filename,
                "filename": sanitize_filename(save_name(n), n.ct),
                "content_type": n.ct,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "inline": inline,
                "content_id": n.cid,
            })
    has_html = any(isinstance(n, Leaf) and n.role == "html" and m == 0 for _, n, m in nodes)
    return parts, atts, has_html


# --------------------------------------------------------------------------------------------
# Header helpers
# --------------------------------------------------------------------------------------------

MON = ["", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
WDAY = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def date(y, mo, d, h, mi, s, off, neg_zero=False, pad_day=False):
    """(header value, RFC 3339 expectation). off in minutes east of UTC."""
    wd = WDAY[datetime.date(y, mo, d).weekday()]
    sign = "-" if off < 0 or neg_zero else "+"
    hh, mm = divmod(abs(off), 60)
    day = f"{d:2d}" if pad_day else f"{d}"
    hdr = f"{wd}, {day} {MON[mo]} {y} {h:02d}:{mi:02d}:{s:02d} {sign}{hh:02d}{mm:02d}"
    iso = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}" + ("Z" if off == 0 else f"{sign}{hh:02d}:{mm:02d}")
    return hdr, iso


def A(name, email):
    """Expected address object."""
    return {"name": neutralize(name) if name is not None else None, "email": email}


# --------------------------------------------------------------------------------------------
# Corpus registry
# --------------------------------------------------------------------------------------------

CASES = []  # (name, description, raw bytes, expected dict, wellformed)
PARTIAL = set()  # names whose expected.json deliberately holds only the certain keys


def case(name, desc, raw, exp, wellformed=True, partial=None):
    assert not any(c[0] == name for c in CASES), name
    CASES.append((name, desc, raw, exp, wellformed))
    if partial or (partial is None and not wellformed):
        PARTIAL.add(name)


def msg(name, desc, root, *, subject, frm, to=None, cc=None, date_iso, message_id, text_contains=None,
        warnings=None):
    raw = render(root)
    parts, atts, has_html = tree_expectations(root)
    exp = {"subject": neutralize(subject)}
    exp["from"] = frm
    if to is not None:
        exp["to"] = to
    if cc is not None:
        exp["cc"] = cc
    exp["date"] = date_iso
    exp["message_id"] = message_id
    exp["html"] = has_html
    if text_contains:
        exp["text_contains"] = text_contains
    exp["parts"] = parts
    exp["attachments"] = atts
    if warnings is not None:
        exp["warning_codes"] = warnings
    # sanity: every expected phrase is really in a displayed body of the outer message
    bodies = [n.data.decode(PYCODEC[n._cs]) for _, n, m in walk(root)
              if m == 0 and isinstance(n, Leaf) and n.role and hasattr(n, "_cs")]
    for t in text_contains or []:
        assert any(t in b for b in bodies), (name, t)
    case(name, desc, raw, exp)


def body(text, charset="utf-8"):
    """Text with \n line ends -> CRLF bytes in `charset` (remembers the charset for checks)."""
    assert "\r" not in text
    return text.replace("\n", "\r\n"), charset


def TL(headers, text, charset, *, cte="7bit", role="text", ct="text/plain", filename=None):
    """Text leaf from Unicode text."""
    s = text.replace("\n", "\r\n")
    leaf = Leaf(headers, enc(s, charset), ct=ct, cte=cte, role=role, filename=filename)
    leaf._cs = charset.lower()
    return leaf


# ============================================================================================
# The corpus
# ============================================================================================

def build():
    # ---------------------------------------------------------------- Thunderbird, plain flowed
    d, iso = date(2024, 3, 5, 10, 15, 0, 60)
    subj = "Re: Protokoll der Sitzung vom Montag – Ergänzungen"
    root = TL(f"""
        Return-Path: <martin.keller@example.de>
        Delivered-To: anna@example.net
        Received: from mail.example.de (mail.example.de [192.0.2.25])
        	by mx.example.net (Postfix) with ESMTPS id 4TqK2x0Zb9z9sW
        	for <anna@example.net>; Tue,  5 Mar 2024 10:15:03 +0100 (CET)
        Message-ID: <3f1c2a0e-8b7d-4c6e-9a51-2d0f6b7e9c14@example.de>
        Date: {d}
        MIME-Version: 1.0
        User-Agent: Mozilla Thunderbird
        Content-Language: de-DE, en-US
        To: Anna Schmidt <anna@example.net>
        References: <b71e0c52-4d1a-4f0e-8c3b-6a9d2e1f7b40@example.net>
        In-Reply-To: <b71e0c52-4d1a-4f0e-8c3b-6a9d2e1f7b40@example.net>
        From: Martin Keller <martin.keller@example.de>
        Subject: Re: Protokoll der Sitzung vom Montag {ew("– Ergänzungen", "UTF-8", "Q")}
        Content-Type: text/plain; charset=UTF-8; format=flowed
        Content-Transfer-Encoding: 8bit
        """, "Hallo Anna,\n\ndanke für das Protokoll. Ich habe zwei kleine Anmerkungen zum Abschnitt \n"
             "über die Budgetplanung, die wir am Donnerstag besprechen sollten. Die \nZahlen für "
             "das dritte Quartal fehlen noch.\n\nViele Grüße\nMartin\n\nAm 04.03.24 um 17:42 schrieb "
             "Anna Schmidt:\n> Hallo zusammen,\n>\n> anbei das Protokoll der Sitzung vom Montag. Bitte \n"
             "> bis Mittwoch Rückmeldung geben.\n>\n> Anna\n", "utf-8")
    msg("tb-plain-flowed", "Thunderbird 115 plain text reply, UTF-8 8bit, format=flowed soft breaks, subject mixing plain words and a Q encoded-word",
        root, subject=subj, frm=[A("Martin Keller", "martin.keller@example.de")],
        to=[A("Anna Schmidt", "anna@example.net")], date_iso=iso,
        message_id="3f1c2a0e-8b7d-4c6e-9a51-2d0f6b7e9c14@example.de",
        text_contains=["danke für das Protokoll.", "Budgetplanung", "Viele Grüße"])

    # ---------------------------------------------------------------- Thunderbird with attachments
    d, iso = date(2024, 3, 6, 8, 41, 12, 60)
    b = "------------r8XkZqN2vW5bT0yJcL4hF7aD"
    pdf1 = pdf("Travel expenses February 2024", ["Train Berlin - Hamburg 89.90 EUR", "Hotel 2 nights 212.00 EUR"])
    zip1 = zipped([("receipt-01.txt", b"DB Fernverkehr 89.90 EUR\r\n"), ("receipt-02.txt", b"Hotel Alster 212.00 EUR\r\n")])
    root = Multi(f"""
        Return-Path: <martin.keller@example.de>
        Message-ID: <9a2d7c41-0e3b-4f5a-b6c8-1d2e3f4a5b6c@example.de>
        Date: {d}
        MIME-Version: 1.0
        User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101
         Thunderbird/115.8.0
        Content-Language: en-US
        To: travel@example.net
        Cc: Anna Schmidt <anna@example.net>
        From: Martin Keller <martin.keller@example.de>
        Subject: Travel expenses February
        Content-Type: multipart/mixed; boundary="{b}"
        """, [
        TL("""
            Content-Type: text/plain; charset=UTF-8; format=flowed
            Content-Transfer-Encoding: 7bit
            """, "Hi,\n\nplease find my travel expense report for February attached, receipts \nare in the "
                 "zip file.\n\nThanks,\nMartin\n", "us-ascii"),
        Leaf("""
            Content-Type: application/pdf; name="travel-expenses-2024-02.pdf"
            Content-Disposition: attachment; filename="travel-expenses-2024-02.pdf"
            Content-Transfer-Encoding: base64
            """, pdf1, ct="application/pdf", cte="base64", filename="travel-expenses-2024-02.pdf"),
        Leaf("""
            Content-Type: application/zip; name="receipts.zip"
            Content-Disposition: attachment; filename="receipts.zip"
            Content-Transfer-Encoding: base64
            """, zip1, ct="application/zip", cte="base64", filename="receipts.zip"),
    ], ct="multipart/mixed", boundary=b, preamble=b"This is a multi-part message in MIME format.")
    msg("tb-attachment", "Thunderbird multipart/mixed with preamble, flowed text, a PDF and a ZIP attachment (base64)",
        root, subject="Travel expenses February", frm=[A("Martin Keller", "martin.keller@example.de")],
        to=[A(None, "travel@example.net")], cc=[A("Anna Schmidt", "anna@example.net")], date_iso=iso,
        message_id="9a2d7c41-0e3b-4f5a-b6c8-1d2e3f4a5b6c@example.de",
        text_contains=["please find my travel expense report for February attached"])

    # ---------------------------------------------------------------- Gmail alternative
    d, iso = date(2024, 3, 5, 8, 3, 27, -480)
    b = "000000000000e1c2b30612e7c3a1"
    root = Multi(f"""
        Return-Path: <priya.raman@gmail.com>
        Received: by mail-lf1-f54.google.com with SMTP id 2adb3069b0e04-5131c0f6a0bso2263401e87.1
                for <tom.becker@example.com>; Tue, 05 Mar 2024 08:03:40 -0800 (PST)
        DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;
                d=gmail.com; s=20230601; t=1709654620; x=1710259420; darn=example.com;
                h=to:subject:message-id:date:from:mime-version:from:to:cc:subject
                 :date:message-id:reply-to;
                bh=7Xm2Qd0n3GkF4u1vVbq2r8yZ5p9sT6wE3cH1jL0aKfM=;
                b=Qk3vT9pZ1m0X8cN2rF6hW4yJ7sD5gL1aB3eK9uO2iP0tR8wS6xV4zM2nC7qY5jE1
                 hG3fL9dA0sK2pR6uT8wX1yZ4bN7mQ5vC3eJ0iO9gH2kD6lF8aS1tW4rU7xY0zP3nM5q
        X-Google-Smtp-Source: AGHT+IHq2p0Xv7Yx9Wm1LbQ5k3TzR8aN0cJ4fE6gD2sU1yO9iP7tK5wZ3hM8lB6vC4nF0x
        MIME-Version: 1.0
        From: Priya Raman <priya.raman@gmail.com>
        Date: {d}
        Message-ID: <CAJz5Opd0Yk9pQ3vT7mB2sX8nR4wF6hL1cE9uG0aV3yK5iN7oPQ@mail.gmail.com>
        Subject: Lunch on Thursday?
        To: Tom Becker <tom.becker@example.com>
        Cc: Lena Vogt <lena.vogt@example.com>, marco@example.com
        Content-Type: multipart/alternative; boundary="{b}"
        """, [
        TL("""Content-Type: text/plain; charset="UTF-8"
            """, "Hi Tom,\n\nAre you free for lunch on Thursday? The new ramen place on 5th opened.\n\nPriya\n",
           "us-ascii"),
        TL("""Content-Type: text/html; charset="UTF-8"
            """, '<div dir="ltr">Hi Tom,<div><br></div><div>Are you free for lunch on Thursday? The new ramen place '
                 'on 5th opened.</div><div><br></div><div>Priya</div></div>\n', "us-ascii", role="html",
           ct="text/html"),
    ], ct="multipart/alternative", boundary=b)
    msg("gmail-alternative", "Gmail multipart/alternative (text + html), 000000000000… boundary, -0800 date, Cc with a bare address",
        root, subject="Lunch on Thursday?", frm=[A("Priya Raman", "priya.raman@gmail.com")],
        to=[A("Tom Becker", "tom.becker@example.com")],
        cc=[A("Lena Vogt", "lena.vogt@example.com"), A(None, "marco@example.com")], date_iso=iso,
        message_id="CAJz5Opd0Yk9pQ3vT7mB2sX8nR4wF6hL1cE9uG0aV3yK5iN7oPQ@mail.gmail.com",
        text_contains=["Are you free for lunch on Thursday?"])

    # ---------------------------------------------------------------- Gmail with attachments
    d, iso = date(2024, 3, 7, 16, 48, 2, -300)
    bm, ba = "000000000000f4a5b60612e7c3a3", "000000000000f4a5b50612e7c3a1"
    pdf2 = pdf("Q1 Report", ["Revenue up 12 percent", "Churn down to 2.1 percent"])
    chart = png(24, 16, 3)
    root = Multi(f"""
        MIME-Version: 1.0
        From: =?UTF-8?Q?Jos=C3=A9_Ram=C3=ADrez?= <jose.ramirez@gmail.com>
        Date: {d}
        Message-ID: <CAKm3vR7uT2xP0nL9qW5eZ8sY1bH4cJ6fG3aD0iK7oM2pN5rE8w@mail.gmail.com>
        Subject: Q1 report + chart
        To: team@example.org
        Content-Type: multipart/mixed; boundary="{bm}"
        """, [
        Multi(f"""Content-Type: multipart/alternative; boundary="{ba}"
            """, [
            TL("""
                Content-Type: text/plain; charset="UTF-8"
                Content-Transfer-Encoding: quoted-printable
                """, "Hola equipo,\n\nadjunto el informe del primer trimestre y el gráfico.\n\nSaludos,\nJosé\n",
               "utf-8", cte="qp"),
            TL("""
                Content-Type: text/html; charset="UTF-8"
                Content-Transfer-Encoding: quoted-printable
                """, '<div dir="ltr">Hola equipo,<div><br></div><div>adjunto el informe del primer trimestre y el '
                     'gráfico.</div><div><br></div><div>Saludos,</div><div>José</div></div>\n', "utf-8",
               cte="qp", role="html", ct="text/html"),
        ], ct="multipart/alternative", boundary=ba),
        Leaf("""
            Content-Type: application/pdf; name="Q1 report.pdf"
            Content-Disposition: attachment; filename="Q1 report.pdf"
            Content-Transfer-Encoding: base64
            Content-ID: <f_lteb1xq20>
            X-Attachment-Id: f_lteb1xq20
            """, pdf2, ct="application/pdf", cte="base64", filename="Q1 report.pdf", cid="f_lteb1xq20"),
        Leaf("""
            Content-Type: image/png; name="chart.png"
            Content-Disposition: attachment; filename="chart.png"
            Content-Transfer-Encoding: base64
            Content-ID: <f_lteb1xq51>
            X-Attachment-Id: f_lteb1xq51
            """, chart, ct="image/png", cte="base64", filename="chart.png", cid="f_lteb1xq51"),
    ], ct="multipart/mixed", boundary=bm)
    msg("gmail-attachment", "Gmail mixed(alternative(text,html QP), PDF, PNG); Gmail gives attachments Content-IDs that the HTML does not reference (inline=false)",
        root, subject="Q1 report + chart", frm=[A("José Ramírez", "jose.ramirez@gmail.com")],
        to=[A(None, "team@example.org")], date_iso=iso,
        message_id="CAKm3vR7uT2xP0nL9qW5eZ8sY1bH4cJ6fG3aD0iK7oM2pN5rE8w@mail.gmail.com",
        text_contains=["adjunto el informe del primer trimestre y el gráfico."])

    # ---------------------------------------------------------------- Outlook related + cid
    def outlook_html(paras, imgs):
        h = ('<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
             'xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" '
             'xmlns="http://www.w3.org/TR/REC-html40">\n<head>\n<meta http-equiv="Content-Type" content="text/html; '
             'charset=us-ascii">\n<meta name="Generator" content="Microsoft Word 15 (filtered medium)">\n'
             '<style><!--\n/* Font Definitions */\n@font-face\n\t{font-family:"Cambria Math";\n\tpanose-1:2 4 5 3 5 4 6 3 2 4;}\n'
             '@font-face\n\t{font-family:Calibri;\n\tpanose-1:2 15 5 2 2 2 4 3 2 4;}\n/* Style Definitions */\n'
             'p.MsoNormal, li.MsoNormal, div.MsoNormal\n\t{margin:0in;\n\tfont-size:11.0pt;\n\tfont-family:"Calibri",sans-serif;}\n'
             '--></style>\n</head>\n<body lang="EN-US" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">\n'
             '<div class="WordSection1">\n')
        for p in paras:
            h += f'<p class="MsoNormal">{p}<o:p></o:p></p>\n' if p else '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n'
        for cid, alt in imgs:
            h += (f'<p class="MsoNormal"><img width="120" height="40" style="width:1.25in;height:.4166in" '
                  f'id="Picture_x0020_1" src="cid:{cid}" alt="{alt}"><o:p></o:p></p>\n')
        return h + "</div>\n</body>\n</html>\n"

    d, iso = date(2024, 3, 5, 9, 15, 0, 0)
    br, ba = "_004_DM6PR04MB6575A1B2C3D4E5F6namprd04prod_", "_000_DM6PR04MB6575A1B2C3D4E5F6namprd04prod_"
    cid1 = "image001.png@01DA6F2B.3C4D5E60"
    logo = png(30, 10, 7)
    root = Multi(f"""
        From: "Doe, John" <John.Doe@contoso.com>
        To: "Smith, Alice" <Alice.Smith@fabrikam.com>
        Subject: Updated logo for the Q2 deck
        Thread-Topic: Updated logo for the Q2 deck
        Thread-Index: AdpvKzs8TV5gaH1XRqKjB3Zt5c2Lxw==
        Date: {d}
        Message-ID: <DM6PR04MB6575A1B2C3D4E5F60718293A4B5C6D7E@DM6PR04MB6575.namprd04.prod.outlook.com>
        Accept-Language: en-US
        Content-Language: en-US
        X-MS-Has-Attach: yes
        X-MS-TNEF-Correlator:
        Content-Type: multipart/related;
        	boundary="{br}";
        	type="multipart/alternative"
        MIME-Version: 1.0
        """, [
        Multi(f"""
            Content-Type: multipart/alternative;
            	boundary="{ba}"
            """, [
            TL("""
                Content-Type: text/plain; charset="us-ascii"
                Content-Transfer-Encoding: quoted-printable
                """, f"Hi Alice,\n\nPlease use the attached logo for the Q2 deck.\n\n[cid:{cid1}]\n\nThanks,\nJohn\n",
               "us-ascii", cte="qp"),
            TL("""
                Content-Type: text/html; charset="us-ascii"
                Content-Transfer-Encoding: quoted-printable
                """, outlook_html(["Hi Alice,", "", "Please use the attached logo for the Q2 deck.", ""],
                                  [(cid1, "Contoso logo")]) , "us-ascii", cte="qp", role="html", ct="text/html"),
        ], ct="multipart/alternative", boundary=ba),
        Leaf(f"""
            Content-Type: image/png; name="image001.png"
            Content-Description: image001.png
            Content-Disposition: inline; filename="image001.png"; size={len(logo)};
            	creation-date="Tue, 05 Mar 2024 09:15:00 GMT";
            	modification-date="Tue, 05 Mar 2024 09:15:00 GMT"
            Content-ID: <{cid1}>
            Content-Transfer-Encoding: base64
            """, logo, ct="image/png", cte="base64", filename="image001.png", cid=cid1),
    ], ct="multipart/related", boundary=br)
    msg("outlook-related-cid", "Outlook/Exchange related(alternative(text,html QP), image001.png) with the image referenced by cid: in QP-encoded HTML (inline=true); Date +0000 -> Z",
        root, subject="Updated logo for the Q2 deck", frm=[A("Doe, John", "John.Doe@contoso.com")],
        to=[A("Smith, Alice", "Alice.Smith@fabrikam.com")], date_iso=iso,
        message_id="DM6PR04MB6575A1B2C3D4E5F60718293A4B5C6D7E@DM6PR04MB6575.namprd04.prod.outlook.com",
        text_contains=["Please use the attached logo for the Q2 deck."])

    # ---------------------------------------------------------------- Outlook unreferenced inline image
    d, iso = date(2024, 3, 8, 13, 2, 44, 0)
    br, ba = "_004_AM0PR07MB4131C0FFEE12345678namprd07prod_", "_000_AM0PR07MB4131C0FFEE12345678namprd07prod_"
    cidA, cidB = "image001.png@01DA7142.8E0B7A20", "image002.png@01DA7142.8E0B7A20"
    sig, banner = png(16, 16, 11), png(40, 8, 12)
    root = Multi(f"""
        From: Kenji Watanabe <kenji.watanabe@contoso.com>
        To: Maria Rossi <maria.rossi@fabrikam.it>
        Subject: RE: Shipment 4471 delayed
        Thread-Topic: Shipment 4471 delayed
        Thread-Index: AdpxQo4KZbM1c2E4RkK0XcZ3lP9aDQAAbC1w
        Date: {d}
        Message-ID: <AM0PR07MB41310F3B2C1D9E8A7B6C5D4E3F2A1B0C@AM0PR07MB4131.eurprd07.prod.outlook.com>
        References: <AM0PR07MB41310A0B0C0D0E0F1A1B1C1D1E1F2A2B@AM0PR07MB4131.eurprd07.prod.outlook.com>
        In-Reply-To: <AM0PR07MB41310A0B0C0D0E0F1A1B1C1D1E1F2A2B@AM0PR07MB4131.eurprd07.prod.outlook.com>
        Accept-Language: en-US
        Content-Language: en-US
        X-MS-Has-Attach: yes
        X-MS-TNEF-Correlator:
        Content-Type: multipart/related;
        	boundary="{br}";
        	type="multipart/alternative"
        MIME-Version: 1.0
        """, [
        Multi(f"""
            Content-Type: multipart/alternative;
            	boundary="{ba}"
            """, [
            TL("""
                Content-Type: text/plain; charset="us-ascii"
                Content-Transfer-Encoding: quoted-printable
                """, f"Hi Maria,\n\nThe carrier confirmed shipment 4471 leaves Osaka on Monday.\n\nKenji\n[cid:{cidA}]\n",
               "us-ascii", cte="qp"),
            TL("""
                Content-Type: text/html; charset="us-ascii"
                Content-Transfer-Encoding: quoted-printable
                """, outlook_html(["Hi Maria,", "", "The carrier confirmed shipment 4471 leaves Osaka on Monday.", "",
                                   "Kenji"], [(cidA, "signature")]), "us-ascii", cte="qp", role="html", ct="text/html"),
        ], ct="multipart/alternative", boundary=ba),
        Leaf(f"""
            Content-Type: image/png; name="image001.png"
            Content-Description: image001.png
            Content-Disposition: inline; filename="image001.png"; size={len(sig)};
            	creation-date="Fri, 08 Mar 2024 13:02:44 GMT";
            	modification-date="Fri, 08 Mar 2024 13:02:44 GMT"
            Content-ID: <{cidA}>
            Content-Transfer-Encoding: base64
            """, sig, ct="image/png", cte="base64", filename="image001.png", cid=cidA),
        Leaf(f"""
            Content-Type: image/png; name="image002.png"
            Content-Description: image002.png
            Content-Disposition: inline; filename="image002.png"; size={len(banner)};
            	creation-date="Fri, 08 Mar 2024 13:02:44 GMT";
            	modification-date="Fri, 08 Mar 2024 13:02:44 GMT"
            Content-ID: <{cidB}>
            Content-Transfer-Encoding: base64
            """, banner, ct="image/png", cte="base64", filename="image002.png", cid=cidB),
    ], ct="multipart/related", boundary=br)
    msg("outlook-inline-unreferenced", "Outlook related with two Content-Disposition: inline images; image001 is referenced by cid: (inline=true), image002 is not (inline=false, a normal attachment)",
        root, subject="RE: Shipment 4471 delayed", frm=[A("Kenji Watanabe", "kenji.watanabe@contoso.com")],
        to=[A("Maria Rossi", "maria.rossi@fabrikam.it")], date_iso=iso,
        message_id="AM0PR07MB41310F3B2C1D9E8A7B6C5D4E3F2A1B0C@AM0PR07MB4131.eurprd07.prod.outlook.com",
        text_contains=["The carrier confirmed shipment 4471 leaves Osaka on Monday."])

    # ---------------------------------------------------------------- Apple Mail inline + attachment
    d, iso = date(2024, 3, 5, 14, 22, 41, 60)
    bm = "Apple-Mail=_7F3A2C1E-5B4D-4E8F-9A6B-1C2D3E4F5A6B"
    ba = "Apple-Mail=_0B9C8D7E-6F5A-4B3C-2D1E-0F9A8B7C6D5E"
    bre = "Apple-Mail=_C4D5E6F7-A8B9-4C0D-8E1F-2A3B4C5D6E7F"
    cidp = "5A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D@home"
    photo, shot = png(32, 24, 21), png(48, 30, 22)
    shot_name = "Screenshot 2024-03-05 at 10.15.00\u202fAM.png"
    root = Multi(f"""
        From: Sophie Martin <sophie.martin@icloud.com>
        Content-Type: multipart/mixed;
        	boundary="{bm}"
        Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.400.31\\))
        Subject: Photos from the site visit
        Date: {d}
        Message-Id: <8E5D2B4C-1A3F-4E6B-9C7D-0F1E2A3B4C5D@icloud.com>
        To: Julien Bernard <julien.bernard@example.fr>
        X-Mailer: Apple Mail (2.3774.400.31)
        """, [
        Multi(f"""
            Content-Type: multipart/alternative;
            	boundary="{ba}"
            """, [
            TL("""
                Content-Transfer-Encoding: quoted-printable
                Content-Type: text/plain;
                	charset=utf-8
                """, "Hi Julien,\n\nhere is the north façade as it looks today.\n\n\n\nThe screenshot shows the "
                     "schedule.\n\nSophie\n", "utf-8", cte="qp"),
            Multi(f"""
                Content-Type: multipart/related;
                	type="text/html";
                	boundary="{bre}"
                """, [
                TL("""
                    Content-Transfer-Encoding: quoted-printable
                    Content-Type: text/html;
                    	charset=utf-8
                    """, '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
                         '<body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; line-break: after-white-space;">'
                         'Hi Julien,<div><br></div><div>here is the north façade as it looks today.</div><div><br></div>'
                         f'<div><img apple-inline="yes" id="A1B2C3D4-E5F6-4789-ABCD-EF0123456789" src="cid:{cidp}"></div>'
                         '<div><br></div><div>The screenshot shows the schedule.</div><div><br></div><div>Sophie</div>'
                         '</body></html>', "utf-8", cte="qp", role="html", ct="text/html"),
                Leaf(f"""
                    Content-Transfer-Encoding: base64
                    Content-Disposition: inline;
                    	filename=IMG_0412.png
                    Content-Type: image/png;
                    	x-unix-mode=0644;
                    	name="IMG_0412.png"
                    Content-Id: <{cidp}>
                    """, photo, ct="image/png", cte="base64", filename="IMG_0412.png", cid=cidp),
            ], ct="multipart/related", boundary=bre),
        ], ct="multipart/alternative", boundary=ba),
        Leaf(f"""
            Content-Disposition: attachment;
            	filename*=utf-8''{pct(shot_name)}
            Content-Type: image/png;
            	x-unix-mode=0644;
            	name="{ew(shot_name, "utf-8", "Q", limit=200)}"
            Content-Transfer-Encoding: base64
            """, shot, ct="image/png", cte="base64", filename=shot_name),
    ], ct="multipart/mixed", boundary=bm, epilogue=b"")
    msg("apple-inline-image-attachment", "Apple Mail mixed(alternative(text, related(html, cid image)), screenshot attachment); Apple-Mail=_ boundaries, RFC 2231 name with U+202F (kept by the sanitiser)",
        root, subject="Photos from the site visit", frm=[A("Sophie Martin", "sophie.martin@icloud.com")],
        to=[A("Julien Bernard", "julien.bernard@example.fr")], date_iso=iso,
        message_id="8E5D2B4C-1A3F-4E6B-9C7D-0F1E2A3B4C5D@icloud.com",
        text_contains=["here is the north façade as it looks today."])

    # ---------------------------------------------------------------- Apple Mail HTML fragments (partial)
    d, iso = date(2024, 3, 11, 9, 5, 10, 60)
    ba = "Apple-Mail=_1D2C3B4A-5E6F-4A7B-8C9D-AEBFC0D1E2F3"
    bm = "Apple-Mail=_9F8E7D6C-5B4A-4392-8170-6F5E4D3C2B1A"
    agenda = pdf("Agenda", ["1. Budget", "2. Hiring", "3. Office move"])
    root = Multi(f"""
        From: Sophie Martin <sophie.martin@icloud.com>
        Content-Type: multipart/alternative;
        	boundary="{ba}"
        Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.400.31\\))
        Subject: Agenda for Thursday
        Date: {d}
        Message-Id: <0C1D2E3F-4A5B-4C6D-8E7F-9A0B1C2D3E4F@icloud.com>
        To: team@example.fr
        X-Mailer: Apple Mail (2.3774.400.31)
        """, [
        TL("""
            Content-Transfer-Encoding: 7bit
            Content-Type: text/plain;
            	charset=us-ascii
            """, "Hi all,\n\nthe agenda for Thursday is attached.\n\n\n\nSee you there,\nSophie\n", "us-ascii"),
        Multi(f"""
            Content-Type: multipart/mixed;
            	boundary="{bm}"
            """, [
            TL("""
                Content-Transfer-Encoding: 7bit
                Content-Type: text/html;
                	charset=us-ascii
                """, '<html><head><meta http-equiv="content-type" content="text/html; charset=us-ascii"></head>'
                     '<body style="overflow-wrap: break-word;">Hi all,<div><br></div><div>the agenda for Thursday is '
                     'attached.</div><div><br></div><div></div></body></html>', "us-ascii", role="html", ct="text/html"),
            Leaf("""
                Content-Disposition: inline;
                	filename=Agenda.pdf
                Content-Type: application/pdf;
                	x-unix-mode=0644;
                	name="Agenda.pdf"
                Content-Transfer-Encoding: base64
                """, agenda, ct="application/pdf", cte="base64", filename="Agenda.pdf"),
            TL("""
                Content-Transfer-Encoding: 7bit
                Content-Type: text/html;
                	charset=us-ascii
                """, '<html><head><meta http-equiv="content-type" content="text/html; charset=us-ascii"></head>'
                     '<body style="overflow-wrap: break-word;"><div></div><div><br></div><div>See you there,</div>'
                     '<div>Sophie</div></body></html>', "us-ascii", role="html", ct="text/html"),
        ], ct="multipart/mixed", boundary=bm),
    ], ct="multipart/alternative", boundary=ba)
    # Which HTML fragment(s) a client displays, and whether the second fragment counts as an
    # attachment, is a client decision: only the sure keys are kept.
    raw = render(root)
    parts, atts, _ = tree_expectations(root)
    case("apple-html-fragments",
         "Apple Mail alternative(text, mixed(html, inline PDF, html)): HTML split around an inline attachment; only structure/subject/text checked",
         raw, {"subject": "Agenda for Thursday", "from": [A("Sophie Martin", "sophie.martin@icloud.com")],
               "date": iso, "message_id": "0C1D2E3F-4A5B-4C6D-8E7F-9A0B1C2D3E4F@icloud.com", "html": True,
               "text_contains": ["the agenda for Thursday is attached."], "parts": parts}, partial=True)
    ROOTS["apple-html-fragments"] = root

    # ---------------------------------------------------------------- forward as message/rfc822
    d_in, _ = date(2024, 2, 28, 17, 30, 5, -300)
    bim, bia = "0000000000007a8b9c0612a1b2c3", "0000000000007a8b9b0612a1b2c1"
    csv_inner = "Department,Q1,Q2,Q3,Q4\r\nEngineering,410000,415000,420000,430000\r\nSales,220000,240000,260000,280000\r\n".encode()
    inner = Multi(f"""
        MIME-Version: 1.0
        From: Dana Whitfield <dana.whitfield@gmail.com>
        Date: {d_in}
        Message-ID: <CAF7q2mZ0pX9vR3tN6wY1sB8kD4hG5jL2cE7aU0iO3yQ9fT6rM1@mail.gmail.com>
        Subject: Budget 2024 draft
        To: Martin Keller <martin.keller@example.de>
        Content-Type: multipart/mixed; boundary="{bim}"
        """, [
        Multi(f"""Content-Type: multipart/alternative; boundary="{bia}"
            """, [
            TL("""Content-Type: text/plain; charset="UTF-8"
                """, "Martin,\n\nhere is the first draft of the 2024 budget. Numbers are per quarter.\n\nDana\n",
               "us-ascii"),
            TL("""Content-Type: text/html; charset="UTF-8"
                """, '<div dir="ltr">Martin,<div><br></div><div>here is the first draft of the 2024 budget. Numbers are '
                     'per quarter.</div><div><br></div><div>Dana</div></div>\n', "us-ascii", role="html", ct="text/html"),
        ], ct="multipart/alternative", boundary=bia),
        Leaf("""
            Content-Type: text/csv; charset="US-ASCII"; name="budget-2024.csv"
            Content-Disposition: attachment; filename="budget-2024.csv"
            Content-Transfer-Encoding: base64
            Content-ID: <f_lt5k2m9q0>
            X-Attachment-Id: f_lt5k2m9q0
            """, csv_inner, ct="text/csv", cte="base64", filename="budget-2024.csv", cid="f_lt5k2m9q0"),
    ], ct="multipart/mixed", boundary=bim)
    d, iso = date(2024, 3, 1, 9, 12, 30, 60)
    b = "------------Fw9aQ2bR7cS1dT5eU3fV8gW0"
    root = Multi(f"""
        Message-ID: <5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e@example.de>
        Date: {d}
        MIME-Version: 1.0
        User-Agent: Mozilla Thunderbird
        Content-Language: en-US
        To: Anna Schmidt <anna@example.net>
        From: Martin Keller <martin.keller@example.de>
        Subject: Fwd: Budget 2024 draft
        Content-Type: multipart/mixed; boundary="{b}"
        """, [
        TL("""
            Content-Type: text/plain; charset=UTF-8; format=flowed
            Content-Transfer-Encoding: 7bit
            """, "Anna,\n\nforwarding Dana's draft, see the attached message.\n\nMartin\n", "us-ascii"),
        Rfc822("""
            Content-Type: message/rfc822; charset=UTF-8; name="Budget 2024 draft.eml"
            Content-Disposition: attachment; filename="Budget 2024 draft.eml"
            Content-Transfer-Encoding: 7bit
            """, inner, filename="Budget 2024 draft.eml"),
    ], ct="multipart/mixed", boundary=b, preamble=b"This is a multi-part message in MIME format.")
    msg("forward-rfc822", "Thunderbird 'forward as attachment': message/rfc822 part holding a Gmail message that has its own CSV attachment (listed after the .eml)",
        root, subject="Fwd: Budget 2024 draft", frm=[A("Martin Keller", "martin.keller@example.de")],
        to=[A("Anna Schmidt", "anna@example.net")], date_iso=iso,
        message_id="5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e@example.de",
        text_contains=["forwarding Dana's draft, see the attached message."])

    # ---------------------------------------------------------------- nested forward
    quote = pdf("Quotation 4471", ["20 x Widget A   1,200.00 EUR", "Delivery 4 weeks"])
    d3, _ = date(2024, 2, 20, 11, 0, 0, 60)
    inner3 = Multi(f"""
        From: Sales <sales@widgets.example>
        To: Martin Keller <martin.keller@example.de>
        Subject: Quotation 4471
        Date: {d3}
        Message-ID: <20240220100000.4471@widgets.example>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="=_qt4471_boundary"
        """, [
        TL("""
            Content-Type: text/plain; charset=us-ascii
            Content-Transfer-Encoding: 7bit
            """, "Dear Mr Keller,\n\nplease find our quotation 4471 attached.\n\nWidgets Sales\n", "us-ascii"),
        Leaf("""
            Content-Type: application/pdf; name="quote-4471.pdf"
            Content-Disposition: attachment; filename="quote-4471.pdf"
            Content-Transfer-Encoding: base64
            """, quote, ct="application/pdf", cte="base64", filename="quote-4471.pdf"),
    ], ct="multipart/mixed", boundary="=_qt4471_boundary")
    d2, _ = date(2024, 2, 21, 8, 30, 0, 60)
    b2 = "------------Nx4bC7dE1fG5hJ9kL2mN6pQ3"
    inner2 = Multi(f"""
        Message-ID: <7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b@example.de>
        Date: {d2}
        MIME-Version: 1.0
        User-Agent: Mozilla Thunderbird
        To: purchasing@contoso.com
        From: Martin Keller <martin.keller@example.de>
        Subject: Fwd: Quotation 4471
        Content-Type: multipart/mixed; boundary="{b2}"
        """, [
        TL("""
            Content-Type: text/plain; charset=UTF-8; format=flowed
            Content-Transfer-Encoding: 7bit
            """, "Please approve, original request attached.\n", "us-ascii"),
        Rfc822("""
            Content-Type: message/rfc822; charset=UTF-8; name="Original request.eml"
            Content-Disposition: attachment; filename="Original request.eml"
            Content-Transfer-Encoding: 7bit
            """, inner3, filename="Original request.eml"),
    ], ct="multipart/mixed", boundary=b2, preamble=b"This is a multi-part message in MIME format.")
    d, iso = date(2024, 2, 22, 15, 45, 19, 0)
    bo, ba = "_002_BY5PR11MB4200E1F2A3B4C5D6namprd11prod_", "_000_BY5PR11MB4200E1F2A3B4C5D6namprd11prod_"
    root = Multi(f"""
        From: Purchasing <purchasing@contoso.com>
        To: Anna Schmidt <anna@example.net>
        Subject: FW: Fwd: Quotation 4471
        Thread-Topic: Fwd: Quotation 4471
        Thread-Index: AQHaZb1c2d3e4f5g6h7i8j9k0l1m2n3o4p5q
        Date: {d}
        Message-ID: <BY5PR11MB4200A9B8C7D6E5F4A3B2C1D0E9F8A7B6@BY5PR11MB4200.namprd11.prod.outlook.com>
        Accept-Language: en-US
        Content-Language: en-US
        X-MS-Has-Attach: yes
        X-MS-TNEF-Correlator:
        Content-Type: multipart/mixed;
        	boundary="{bo}"
        MIME-Version: 1.0
        """, [
        Multi(f"""
            Content-Type: multipart/alternative;
            	boundary="{ba}"
            """, [
            TL("""
                Content-Type: text/plain; charset="us-ascii"
                Content-Transfer-Encoding: quoted-printable
                """, "Anna, FYI: the approval chain for quotation 4471 is below.\n", "us-ascii", cte="qp"),
            TL("""
                Content-Type: text/html; charset="us-ascii"
                Content-Transfer-Encoding: quoted-printable
                """, outlook_html(["Anna, FYI: the approval chain for quotation 4471 is below."], []), "us-ascii",
               cte="qp", role="html", ct="text/html"),
        ], ct="multipart/alternative", boundary=ba),
        Rfc822("""
            Content-Type: message/rfc822
            Content-Disposition: attachment;
            	creation-date="Thu, 22 Feb 2024 15:45:18 GMT";
            	modification-date="Thu, 22 Feb 2024 15:45:18 GMT"
            """, inner2),
    ], ct="multipart/mixed", boundary=bo)
    msg("forward-nested", "Outlook forward of a Thunderbird forward: rfc822 (no filename -> named after its subject) inside which another rfc822 holds a PDF; three levels of messages",
        root, subject="FW: Fwd: Quotation 4471", frm=[A("Purchasing", "purchasing@contoso.com")],
        to=[A("Anna Schmidt", "anna@example.net")], date_iso=iso,
        message_id="BY5PR11MB4200A9B8C7D6E5F4A3B2C1D0E9F8A7B6@BY5PR11MB4200.namprd11.prod.outlook.com",
        text_contains=["the approval chain for quotation 4471 is below."])

    # ---------------------------------------------------------------- multipart/digest
    d, iso = date(2024, 3, 9, 12, 0, 0, 0, neg_zero=True)
    bd = "===============5736271839201746325=="
    m1 = Leaf(H("""
        From: Ian Clarke <ian@lists.example.org>
        Subject: Re: release 2.4 schedule
        Date: Fri, 8 Mar 2024 18:22:10 +0000
        Message-ID: <20240308182210.GA1234@lists.example.org>
        """), b"I'd rather wait for the translation freeze.\r\n", ct="text/plain", role="text")
    m2 = Leaf(H("""
        From: Ruth Okafor <ruth@example.com>
        Subject: Re: release 2.4 schedule
        Date: Sat, 9 Mar 2024 07:01:44 +0100
        Message-ID: <87a5b6c7d8.fsf@example.com>
        """), b"Agreed, let's tag on the 20th.\r\n", ct="text/plain", role="text")
    m1._cs = m2._cs = "us-ascii"
    root = Multi(f"""
        From: devel-request@lists.example.org
        Subject: devel Digest, Vol 112, Issue 9
        To: devel@lists.example.org
        Reply-To: devel@lists.example.org
        Date: {d}
        Message-ID: <mailman.9.1709985600.2871.devel@lists.example.org>
        X-Mailman-Version: 2.1.39
        MIME-Version: 1.0
        Content-Type: multipart/digest; boundary="{bd}"
        """, [Rfc822(None, m1), Rfc822(None, m2)],
        ct="multipart/digest", boundary=bd)
    # RFC 2046 5.1.5: digest parts usually carry no Content-Type at all -> default message/rfc822
    msg("digest", "Mailman-style multipart/digest whose parts have no header at all: each defaults to message/rfc822; Date -0000 -> Z",
        root, subject="devel Digest, Vol 112, Issue 9", frm=[A(None, "devel-request@lists.example.org")],
        to=[A(None, "devel@lists.example.org")], date_iso=iso,
        message_id="mailman.9.1709985600.2871.devel@lists.example.org")

    # ---------------------------------------------------------------- RFC 2231 filename
    d, iso = date(2024, 3, 12, 9, 30, 0, 480)
    b = "------------Zh3kP8qR2sT6uV0wX4yA7bC1"
    report = pdf("Report", ["2024 Q1"])
    root = Multi(f"""
        Message-ID: <c0d1e2f3-a4b5-4c6d-8e7f-8091a2b3c4d5@example.cn>
        Date: {d}
        MIME-Version: 1.0
        User-Agent: Mozilla Thunderbird
        To: Lisa Wong <lisa.wong@example.com>
        From: {ew("陈静", "UTF-8", "B")} <chen.jing@example.cn>
        Subject: {ew("季度报告", "UTF-8", "B")}
        Content-Type: multipart/mixed; boundary="{b}"
        """, [
        TL("""
            Content-Type: text/plain; charset=UTF-8; format=flowed
            Content-Transfer-Encoding: 8bit
            """, "Lisa，\n\n附件是季度报告。\n\n陈静\n", "utf-8"),
        Leaf(f"""
            Content-Type: application/pdf; name="{ew("报告.pdf", "UTF-8", "B")}"
            Content-Disposition: attachment; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf
            Content-Transfer-Encoding: base64
            """, report, ct="application/pdf", cte="base64", filename="报告.pdf"),
    ], ct="multipart/mixed", boundary=b, preamble=b"This is a multi-part message in MIME format.")
    msg("rfc2231-filename", "Thunderbird attachment with filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf (报告.pdf) and an RFC 2047 name=; UTF-8 B-encoded subject and From name",
        root, subject="季度报告", frm=[A("陈静", "chen.jing@example.cn")], to=[A("Lisa Wong", "lisa.wong@example.com")],
        date_iso=iso, message_id="c0d1e2f3-a4b5-4c6d-8e7f-8091a2b3c4d5@example.cn", text_contains=["附件是季度报告。"])

    # ---------------------------------------------------------------- RFC 2231 continuations
    d, iso = date(2024, 3, 12, 16, 4, 55, 60)
    b = "------------Lm5nO9pQ3rS7tU1vW5xY9zA2"
    long_name = "Jahresbericht 2023 – Abteilung Forschung und Entwicklung (endgültige Fassung).pdf"
    jb = pdf("Jahresbericht 2023", ["Forschung und Entwicklung"])
    root = Multi(f"""
        Message-ID: <e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b@example.de>
        Date: {d}
        MIME-Version: 1.0
        User-Agent: Mozilla Thunderbird
        Content-Language: de-DE
        To: Vorstand <vorstand@example.de>
        From: Martin Keller <martin.keller@example.de>
        Subject: Jahresbericht 2023
        Content-Type: multipart/mixed; boundary="{b}"
        """, [
        TL("""
            Content-Type: text/plain; charset=UTF-8; format=flowed
            Content-Transfer-Encoding: 8bit
            """, "Guten Tag,\n\nanbei die endgültige Fassung des Jahresberichts.\n\nMartin Keller\n", "utf-8"),
        Leaf(f"""
            Content-Type: application/pdf;
             name="{ew(long_name, "UTF-8", "Q", limit=70).replace(chr(10) + " ", chr(10) + "  ")}"
            Content-Disposition: attachment;
             {rfc2231_continuations("filename", long_name)}
            Content-Transfer-Encoding: base64
            """, jb, ct="application/pdf", cte="base64", filename=long_name),
    ], ct="multipart/mixed", boundary=b, preamble=b"This is a multi-part message in MIME format.")
    msg("rfc2231-continuation", "Thunderbird long non-ASCII filename as RFC 2231 continuations filename*0*=UTF-8''…; filename*1*=…; name= as folded RFC 2047 words",
        root, subject="Jahresbericht 2023", frm=[A("Martin Keller", "martin.keller@example.de")],
        to=[A("Vorstand", "vorstand@example.de")], date_iso=iso,
        message_id="e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b@example.de",
        text_contains=["anbei die endgültige Fassung des Jahresberichts."])

    # ---------------------------------------------------------------- RFC 2047 filename (Outlook)
    d, iso = date(2024, 3, 13, 11, 20, 7, 60)
    bo = "_002_VI1PR08MB5325D1E2F3A4B5C6eurprd08prod_"
    dname = "Angebot für Müller GmbH.docx"
    dct = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    docx1 = docx("Angebot Nr. 2024-117")
    root = Multi(f"""
        From: =?iso-8859-1?Q?J=FCrgen_Wei=DF?= <juergen.weiss@contoso.de>
        To: =?iso-8859-1?Q?M=FCller_GmbH?= <einkauf@mueller-gmbh.example>
        Subject: =?iso-8859-1?Q?Angebot_f=FCr_M=FCller_GmbH?=
        Thread-Topic: =?iso-8859-1?Q?Angebot_f=FCr_M=FCller_GmbH?=
        Thread-Index: AdpzY0bnF1o2T3e0QqW8r9s1t2u3vw==
        Date: {d}
        Message-ID: <VI1PR08MB5325B7C6D5E4F3A2B1C0D9E8F7A6B5C4@VI1PR08MB5325.eurprd08.prod.outlook.com>
        Accept-Language: de-DE, en-US
        Content-Language: de-DE
        X-MS-Has-Attach: yes
        X-MS-TNEF-Correlator:
        Content-Type: multipart/mixed;
        	boundary="{bo}"
        MIME-Version: 1.0
        """, [
        TL("""
            Content-Type: text/plain; charset="iso-8859-1"
            Content-Transfer-Encoding: quoted-printable
            """, "Sehr geehrte Damen und Herren,\n\nim Anhang finden Sie unser Angebot.\n\nMit freundlichen Grüßen\n"
                 "Jürgen Weiß\n", "iso-8859-1", cte="qp"),
        Leaf(f"""
            Content-Type: {dct};
            	name="{ew(dname, "utf-8", "B")}"
            Content-Description: {ew(dname, "utf-8", "B")}
            Content-Disposition: attachment;
            	filename="{ew(dname, "utf-8", "B")}"; size={len(docx1)};
            	creation-date="Wed, 13 Mar 2024 10:20:07 GMT";
            	modification-date="Wed, 13 Mar 2024 10:20:07 GMT"
            Content-Transfer-Encoding: base64
            """, docx1, ct=dct, cte="base64", filename=dname),
    ], ct="multipart/mixed", boundary=bo)
    msg("rfc2047-filename", "Outlook attachment whose filename= and name= are RFC 2047 B-words (quoted), ISO-8859-1 Q-encoded From/To/Subject",
        root, subject="Angebot für Müller GmbH", frm=[A("Jürgen Weiß", "juergen.weiss@contoso.de")],
        to=[A("Müller GmbH", "einkauf@mueller-gmbh.example")], date_iso=iso,
        message_id="VI1PR08MB5325B7C6D5E4F3A2B1C0D9E8F7A6B5C4@VI1PR08MB5325.eurprd08.prod.outlook.com",
        text_contains=["im Anhang finden Sie unser Angebot."])

    # ---------------------------------------------------------------- name only in Content-Type
    d, iso = date(2024, 3, 14, 18, 3, 0, 60)
    bo = "----=_NextPart_000_0012_01DA7635.6A1B2C30"
    cvname = "Résumé François Lefèvre.pdf"
    root = Multi(f"""
        From: =?iso-8859-1?Q?Fran=E7ois_Lef=E8vre?= <f.lefevre@example.fr>
        To: <jobs@example.com>
        Subject: Candidature
        Date: {d}
        Message-ID: <000f01da7635$6a1b2c30$3e518490$@example.fr>
        MIME-Version: 1.0
        Content-Type: multipart/mixed;
        	boundary="{bo}"
        X-Priority: 3
        X-MSMail-Priority: Normal
        X-Mailer: Microsoft Outlook Express 6.00.2900.5931
        X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2900.6157
        """, [
        TL("""
            Content-Type: text/plain;
            	charset="iso-8859-1"
            Content-Transfer-Encoding: quoted-printable
            """, "Madame, Monsieur,\n\nveuillez trouver ci-joint mon curriculum vitæ.\n\nFrançois Lefèvre\n",
           "iso-8859-1", cte="qp"),
        Leaf(f"""
            Content-Type: application/pdf;
            	name="{ew(cvname, "iso-8859-1", "Q", limit=200)}"
            Content-Transfer-Encoding: base64
            """, pdf("Curriculum vitae", ["Francois Lefevre"]), ct="application/pdf", cte="base64", filename=cvname),
    ], ct="multipart/mixed", boundary=bo, preamble=b"This is a multi-part message in MIME format.")
    msg("name-in-content-type-only", "Outlook Express style attachment with no Content-Disposition: non-ASCII RFC 2047 (ISO-8859-1) name only in Content-Type; To is a bare <addr>",
        root, subject="Candidature", frm=[A("François Lefèvre", "f.lefevre@example.fr")],
        to=[A(None, "jobs@example.com")], date_iso=iso, message_id="000f01da7635$6a1b2c30$3e518490$@example.fr",
        text_contains=["veuillez trouver ci-joint mon curriculum vitæ."])

    # ---------------------------------------------------------------- raw UTF-8 headers (RFC 6532)
    d, iso = date(2024, 3, 15, 10, 0, 0, 180)
    b = "----ALT--a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"
    smeta = "Смета на ремонт.pdf"
    root = Multi(f"""
        From: Ольга Смирнова <olga.smirnova@example.ru>
        To: Пётр Васильев <p.vasiliev@example.ru>
        Subject: Смета на ремонт офиса
        Date: {d}
        Message-ID: <1710486000.123456789@webmail.example.ru>
        MIME-Version: 1.0
        X-Mailer: Webmail/1.0
        Content-Type: multipart/mixed; boundary="{b}"
        """, [
        TL("""
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: 8bit
            """, "Пётр, добрый день!\n\nПрисылаю смету на ремонт офиса.\n\nОльга\n", "utf-8"),
        Leaf(f"""
            Content-Type: application/pdf; name="{smeta}"
            Content-Disposition: attachment; filename="{smeta}"
            Content-Transfer-Encoding: base64
            """, pdf("Smeta", ["Remont ofisa"]), ct="application/pdf", cte="base64", filename=smeta),
    ], ct="multipart/mixed", boundary=b)
    msg("raw-utf8-headers", "Webmail sending raw 8-bit UTF-8 in Subject, From/To display names and the filename (RFC 6532 style, no encoded-words)",
        root, subject="Смета на ремонт офиса", frm=[A("Ольга Смирнова", "olga.smirnova@example.ru")],
        to=[A("Пётр Васильев", "p.vasiliev@example.ru")], date_iso=iso,
        message_id="1710486000.123456789@webmail.example.ru", text_contains=["Присылаю смету на ремонт офиса."])

    # ================================================================ charsets
    def foxmail(cs_label, cs, subj, from_name, from_addr, to_hdr, to_exp, text, html, d, iso, mid, tc, name, desc,
                xmailer="Foxmail 7.2.25.228[cn]"):
        bnd = "----=_NextPart_65E6F2A1_0B2C7D48_3E9F5A10"
        root = Multi(f"""
            From: "{ew(from_name, cs, "B", label=cs_label)}" <{from_addr}>
            To: {to_hdr}
            Subject: {ew(subj, cs, "B", label=cs_label)}
            Mime-Version: 1.0
            Content-Type: multipart/alternative;
            	boundary="{bnd}"
            Content-Transfer-Encoding: 8Bit
            Date: {d}
            X-Priority: 3
            Message-ID: <{mid}>
            X-QQ-MIME: TCMime 1.0 by Tencent
            X-Mailer: {xmailer}
            X-QQ-Mailer: QQMail 2.x
            """, [
            TL(f"""
                Content-Type: text/plain;
                	charset="{cs_label}"
                Content-Transfer-Encoding: base64
                """, text, cs, cte="base64"),
            TL(f"""
                Content-Type: text/html;
                	charset="{cs_label}"
                Content-Transfer-Encoding: base64
                """, html, cs, cte="base64", role="html", ct="text/html"),
        ], ct="multipart/alternative", boundary=bnd, preamble=b"This is a multi-part message in MIME format.")
        msg(name, desc, root, subject=subj, frm=[A(from_name, from_addr)], to=to_exp, date_iso=iso, message_id=mid,
            text_contains=tc)

    d, iso = date(2024, 3, 5, 15, 32, 8, 480)
    t = "李经理：\n\n您好！\n\n附件是第一季度销售报告，请查收。华东区的业绩比去年同期增长了百分之十二。\n如有问题请随时联系我。\n\n王喆\n2024年3月5日\n"
    foxmail("GBK", "gbk", "关于第一季度销售报告的说明", "王喆", "wangzhe@example.cn", "\"li\" <li@example.cn>",
            [A("li", "li@example.cn")], t,
            "<div>李经理：</div><div><br></div><div>您好！</div><div><br></div><div>附件是第一季度销售报告，请查收。"
            "华东区的业绩比去年同期增长了百分之十二。</div><div>如有问题请随时联系我。</div><div><br></div><div>王喆</div>\n",
            d, iso, "tencent_5F1A2B3C4D5E6F7A8B9C0D1E@qq.com", ["附件是第一季度销售报告，请查收。", "王喆"],
            "charset-gbk", "Foxmail alternative(text,html) in GBK, base64; GBK-only character 喆 (not in GB2312) in body, From name and subject in =?GBK?B?")

    d, iso = date(2024, 3, 6, 9, 0, 12, 480)
    subj = "会议通知：周五下午三点"
    root = TL(f"""
        Received: from liuyang$163.com ( [203.0.113.7] ) by ajax-webmail-wmsvr71 (Coremail) ; Wed, 6 Mar 2024 09:00:12
         +0800 (CST)
        X-Originating-IP: [203.0.113.7]
        Date: {d}
        From: {ew("刘洋", "gb2312", "B", label="gb2312")} <liuyang@163.com>
        To: all-staff@example.cn
        Subject: {ew(subj, "gb2312", "B", label="gb2312")}
        X-Priority: 3
        X-Mailer: Coremail Webmail Server Version XT5.0.13 build 20230616(8b3b6ad6)
         Copyright (c) 2002-2024 www.mailtech.cn 163com
        Content-Transfer-Encoding: base64
        Content-Type: text/plain; charset=GB2312
        MIME-Version: 1.0
        Message-ID: <5d1c7a2e.3b4f.18e0a1b2c3d.Coremail.liuyang@163.com>
        """, "各位同事：\n\n本周五下午三点在三楼会议室召开项目进度会议，请准时参加。\n\n行政部 刘洋\n", "gb2312", cte="base64")
    msg("charset-gb2312", "Coremail (163.com) single-part text/plain; charset=GB2312, base64, GB2312 B-encoded subject and From name",
        root, subject=subj, frm=[A("刘洋", "liuyang@163.com")], to=[A(None, "all-staff@example.cn")], date_iso=iso,
        message_id="5d1c7a2e.3b4f.18e0a1b2c3d.Coremail.liuyang@163.com",
        text_contains=["本周五下午三点在三楼会议室召开项目进度会议，请准时参加。"])

    d, iso = date(2024, 3, 6, 12, 12, 12, 480)
    t = "小林：\n\n昨天的𠮷野家的牛肉饭很好吃 👍 下次再一起去吧。\n\n阿明\n"
    foxmail("gb18030", "gb18030", "周末聚餐 𠮷野家 😀", "阿明", "aming@example.cn", ew("小林", "gb18030", "B") + " <xiaolin@example.cn>",
            [A("小林", "xiaolin@example.cn")], t,
            "<div>小林：</div><div><br></div><div>昨天的𠮷野家的牛肉饭很好吃 👍 下次再一起去吧。</div><div><br></div><div>阿明</div>\n",
            d, iso, "tencent_0A1B2C3D4E5F60718293A4B5@qq.com", ["昨天的𠮷野家的牛肉饭很好吃 👍"],
            "charset-gb18030", "Foxmail alternative in GB18030 with 4-byte sequences (𠮷 U+20BB7, emoji) in subject and body",
            xmailer="Foxmail 7.2.25.375[cn]")

    d, iso = date(2024, 3, 7, 10, 45, 0, 480)
    bo, ba = "_000_TY0PR06MB5124A1B2C3D4E5F6apcprd06prod_", None
    t = "各位好：\n\n附上今天的會議記錄，請大家確認下週的行程安排。許先生的新功能展示改到週四下午。\n\n怡君\n"
    h = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=big5"></head><body>'
         '<p>各位好：</p><p>附上今天的會議記錄，請大家確認下週的行程安排。許先生的新功能展示改到週四下午。</p><p>怡君</p></body></html>\n')
    subj = "會議記錄與下週行程"
    root = Multi(f"""
        From: {ew("陳怡君", "big5", "B")} <yijun.chen@example.com.tw>
        To: "team@example.com.tw" <team@example.com.tw>
        Subject: {ew(subj, "big5", "B")}
        Thread-Topic: {ew(subj, "big5", "B")}
        Thread-Index: AdpwXyZ1a2b3c4d5e6f7g8h9i0jA==
        Date: {d}
        Message-ID: <TY0PR06MB51240F1E2D3C4B5A69788796A5B4C3D2@TY0PR06MB5124.apcprd06.prod.outlook.com>
        Accept-Language: zh-TW, en-US
        Content-Language: zh-TW
        X-MS-Has-Attach:
        X-MS-TNEF-Correlator:
        Content-Type: multipart/alternative;
        	boundary="{bo}"
        MIME-Version: 1.0
        """, [
        TL("""
            Content-Type: text/plain; charset="big5"
            Content-Transfer-Encoding: base64
            """, t, "big5", cte="base64"),
        TL("""
            Content-Type: text/html; charset="big5"
            Content-Transfer-Encoding: base64
            """, h, "big5", cte="base64", role="html", ct="text/html"),
    ], ct="multipart/alternative", boundary=bo)
    msg("charset-big5", "Outlook (zh-TW) alternative in Big5, base64; body has 許/功 whose second byte is 0x5C (backslash)",
        root, subject=subj, frm=[A("陳怡君", "yijun.chen@example.com.tw")],
        to=[A("team@example.com.tw", "team@example.com.tw")], date_iso=iso,
        message_id="TY0PR06MB51240F1E2D3C4B5A69788796A5B4C3D2@TY0PR06MB5124.apcprd06.prod.outlook.com",
        text_contains=["附上今天的會議記錄，請大家確認下週的行程安排。", "許先生的新功能展示改到週四下午。"])

    d, iso = date(2024, 3, 8, 17, 25, 31, 540)
    subj = "お見積もりの件について"
    root = TL(f"""
        Date: {d}
        To: {ew("佐藤様", "shift_jis", "B", label="Shift_JIS")} <sato@example.co.jp>
        From: {ew("山田太郎", "shift_jis", "B", label="Shift_JIS")} <yamada@example.jp>
        Subject: {ew(subj, "shift_jis", "B", label="Shift_JIS")}
        Message-ID: <Yq3mZ8pT0vX2nB5cR7wE9hJ1kL4sD6gF@www.example.jp>
        X-Mailer: PHPMailer 6.8.1 (https://github.com/PHPMailer/PHPMailer)
        MIME-Version: 1.0
        Content-Type: text/plain; charset=Shift_JIS
        Content-Transfer-Encoding: 8bit
        """, "株式会社サンプル\n佐藤様\n\nいつもお世話になっております。\nお見積もりを添付いたしましたので、ご確認ください。\n"
             "価格一覧表は来週お送りします。ｶﾀｶﾅ表記の品名はそのままです。\n\n山田\n", "shift_jis")
    msg("charset-shift-jis", "PHPMailer single-part Shift_JIS sent as raw 8bit; body has 表 (second byte 0x5C) and half-width katakana",
        root, subject=subj, frm=[A("山田太郎", "yamada@example.jp")], to=[A("佐藤様", "sato@example.co.jp")],
        date_iso=iso, message_id="Yq3mZ8pT0vX2nB5cR7wE9hJ1kL4sD6gF@www.example.jp",
        text_contains=["お見積もりを添付いたしましたので、ご確認ください。", "価格一覧表は来週お送りします。", "ｶﾀｶﾅ"])

    d, iso = date(2024, 3, 8, 9, 10, 0, 540)
    subj = "【重要】システムメンテナンスのお知らせ"
    root = TL(f"""
        Date: {d}
        From: {ew("情報システム部", "iso-2022-jp", "B", label="ISO-2022-JP")} <it-info@example.co.jp>
        To: all@example.co.jp
        Subject: {ew(subj, "iso-2022-jp", "B", label="ISO-2022-JP")}
        Message-Id: <20240308091000.7A3E.4F2B1C9D@example.co.jp>
        MIME-Version: 1.0
        Content-Type: text/plain; charset="ISO-2022-JP"
        Content-Transfer-Encoding: 7bit
        X-Mailer: Becky! ver. 2.81.04 [ja]
        """, "社員各位\n\n3月9日（土）22時から翌6時までシステムメンテナンスを実施します。\nこの間はメールが利用できません。\n\n情報システム部\n",
        "iso-2022-jp")
    msg("charset-iso-2022-jp", "Becky! single-part ISO-2022-JP 7bit body, multi-word ISO-2022-JP B-encoded subject",
        root, subject=subj, frm=[A("情報システム部", "it-info@example.co.jp")], to=[A(None, "all@example.co.jp")],
        date_iso=iso, message_id="20240308091000.7A3E.4F2B1C9D@example.co.jp",
        text_contains=["システムメンテナンスを実施します。", "この間はメールが利用できません。"])

    d, iso = date(2024, 3, 11, 8, 55, 20, 540)
    subj = "3월 정기 회의 안내"
    root = TL(f"""
        Received: from mail.example.co.kr (mail.example.co.kr [198.51.100.12])
        	by mx.example.com with ESMTP id 41B8tK0a012345; Mon, 11 Mar 2024 08:55:21 +0900
        Date: {d}
        From: {ew("김민수", "euc-kr", "B", label="EUC-KR")} <minsu.kim@example.co.kr>
        To: team@example.co.kr
        Subject: {ew(subj, "euc-kr", "B", label="EUC-KR")}
        Message-ID: <20240311085520.Mk9Qz3@mail.example.co.kr>
        MIME-Version: 1.0
        Content-Type: text/plain; charset="EUC-KR"
        Content-Transfer-Encoding: base64
        X-Mailer: Daum Web Mailer v1.2
        """, "안녕하세요,\n\n3월 정기 회의는 14일 오후 2시에 대회의실에서 진행됩니다.\n\n감사합니다.\n김민수 드림\n", "euc-kr",
        cte="base64")
    msg("charset-euc-kr", "Korean webmail single-part EUC-KR base64, EUC-KR B-encoded subject and From",
        root, subject=subj, frm=[A("김민수", "minsu.kim@example.co.kr")], to=[A(None, "team@example.co.kr")],
        date_iso=iso, message_id="20240311085520.Mk9Qz3@mail.example.co.kr",
        text_contains=["3월 정기 회의는 14일 오후 2시에 대회의실에서 진행됩니다."])

    d, iso = date(2024, 3, 4, 11, 5, 44, 180)
    subj = "Отчёт за февраль"
    root = TL(f"""
        Date: {d}
        From: {ew("Сергей Иванов", "koi8-r", "B", label="koi8-r")} <s.ivanov@example.ru>
        X-Mailer: The Bat! (v9.4.5) Professional
        Reply-To: {ew("Сергей Иванов", "koi8-r", "B", label="koi8-r")} <s.ivanov@example.ru>
        Message-ID: <1845372910.20240304110544@example.ru>
        To: {ew("Отдел продаж", "koi8-r", "B", label="koi8-r")} <sales@example.ru>
        Subject: {ew(subj, "koi8-r", "B", label="koi8-r")}
        MIME-Version: 1.0
        Content-Type: text/plain; charset=koi8-r
        Content-Transfer-Encoding: 8bit
        """, "Добрый день, коллеги!\n\nВысылаю отчёт за февраль. Продажи выросли на 7 процентов.\n\nС уважением,\nСергей\n",
        "koi8-r")
    msg("charset-koi8-r", "The Bat! single-part KOI8-R raw 8bit body, KOI8-R B-encoded subject/From/To",
        root, subject=subj, frm=[A("Сергей Иванов", "s.ivanov@example.ru")], to=[A("Отдел продаж", "sales@example.ru")],
        date_iso=iso, message_id="1845372910.20240304110544@example.ru",
        text_contains=["Высылаю отчёт за февраль.", "Продажи выросли на 7 процентов."])

    d, iso = date(2024, 3, 5, 13, 40, 2, 180)
    subj = "Счёт на оплату № 42"
    bo = "----=_NextPart_000_0047_01DA6F1E.2B3C4D50"
    t = "Здравствуйте!\n\nНаправляем счёт на оплату № 42 от 05.03.2024.\nПросим оплатить до 15 марта.\n\nБухгалтерия\n"
    h = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251"></head><body>'
         '<p>Здравствуйте!</p><p>Направляем счёт на оплату № 42 от 05.03.2024.<br>Просим оплатить до 15 марта.</p>'
         '<p>Бухгалтерия</p></body></html>\n')
    root = Multi(f"""
        From: {ew("Бухгалтерия", "windows-1251", "B")} <buh@example.ru>
        To: <client@example.com>
        Subject: {ew(subj, "windows-1251", "B")}
        Date: {d}
        Message-ID: <004701da6f1e$2b3c4d50$81b4e7f0$@example.ru>
        MIME-Version: 1.0
        Content-Type: multipart/alternative;
        	boundary="{bo}"
        X-Mailer: Microsoft Outlook 16.0
        Thread-Index: AdpvHiq1Ue0cXnB3QoWcLkGv2nE1Fg==
        Content-Language: ru
        """, [
        TL("""
            Content-Type: text/plain;
            	charset="windows-1251"
            Content-Transfer-Encoding: quoted-printable
            """, t, "windows-1251", cte="qp"),
        TL("""
            Content-Type: text/html;
            	charset="windows-1251"
            Content-Transfer-Encoding: quoted-printable
            """, h, "windows-1251", cte="qp", role="html", ct="text/html"),
    ], ct="multipart/alternative", boundary=bo, preamble=b"This is a multipart message in MIME format.")
    msg("charset-windows-1251", "Outlook 16 alternative in windows-1251, quoted-printable; № (0xB9) in subject and body",
        root, subject=subj, frm=[A("Бухгалтерия", "buh@example.ru")], to=[A(None, "client@example.com")],
        date_iso=iso, message_id="004701da6f1e$2b3c4d50$81b4e7f0$@example.ru",
        text_contains=["Направляем счёт на оплату № 42 от 05.03.2024."])

    d, iso = date(2024, 3, 6, 16, 30, 0, 60)
    subj = "Réunion à Genève : ordre du jour"
    root = TL(f"""
        Date: {d}
        From: =?ISO-8859-1?Q?Fran=E7ois_Lef=E8vre?= <f.lefevre@example.fr>
        To: =?ISO-8859-1?Q?=C9quipe_Gen=E8ve?= <geneve@example.ch>
        Subject: {ew(subj, "iso-8859-1", "Q", label="ISO-8859-1")}
        Message-ID: <20240306163000.1f2e3d4c@laptop.example.fr>
        X-Mailer: Claws Mail 4.1.1 (GTK 3.24.38; x86_64-pc-linux-gnu)
        MIME-Version: 1.0
        Content-Type: text/plain; charset=ISO-8859-1
        Content-Transfer-Encoding: quoted-printable
        """, "Bonjour à tous,\n\nVoici l'ordre du jour de la réunion de jeudi à Genève.\n\n"
             "1. Budget prévisionnel\n2. Déménagement\n\nÀ bientôt,\nFrançois\n", "iso-8859-1", cte="qp")
    msg("charset-iso-8859-1", "Claws Mail single-part ISO-8859-1 quoted-printable, Q-encoded subject/From/To (only 0xA0-0xFF used)",
        root, subject=subj, frm=[A("François Lefèvre", "f.lefevre@example.fr")], to=[A("Équipe Genève", "geneve@example.ch")],
        date_iso=iso, message_id="20240306163000.1f2e3d4c@laptop.example.fr",
        text_contains=["Voici l'ordre du jour de la réunion de jeudi à Genève.", "À bientôt,"])

    d, iso = date(2024, 3, 9, 19, 7, 33, -420)
    subj = "Party on Saturday 🎉 bring the 👨\u200d👩\u200d👧 too"
    root = TL(f"""
        Content-Type: text/plain;
        	charset=utf-8
        Content-Transfer-Encoding: quoted-printable
        From: Mia Chen <mia.chen@icloud.com>
        Mime-Version: 1.0 (1.0)
        Date: {d}
        Subject: {ew(subj, "utf-8", "B")}
        Message-Id: <3C2B1A09-8F7E-4D6C-B5A4-93827160F5E4@icloud.com>
        To: Sam Park <sam.park@example.com>
        X-Mailer: iPhone Mail (21D61)
        """, "Hey! 🎂 Cake at 7 🥳\n\nBring snacks if you can 🍿\n\nSent from my iPhone\n", "utf-8", cte="qp")
    msg("charset-utf8-emoji", "iPhone Mail UTF-8 QP body and B-encoded subject with emoji; the ZWJ family emoji in the subject shows as separate emoji (ZWJ -> space by the display rule)",
        root, subject=subj, frm=[A("Mia Chen", "mia.chen@icloud.com")], to=[A("Sam Park", "sam.park@example.com")],
        date_iso=iso, message_id="3C2B1A09-8F7E-4D6C-B5A4-93827160F5E4@icloud.com",
        text_contains=["Cake at 7 🥳", "Bring snacks if you can 🍿"])

    # ================================================================ byte-exact attachments
    csv1252 = ("Name;Stadt;Betrag\r\nJosé García;München;1.234,50 €\r\nFrançois Lefèvre;Zürich;99,00 €\r\n"
               "Søren Ødegård;Århus;12,00 €\r\nSumme;;=SUMME(C2:C4)\r\n").encode("cp1252")
    assert b"\x80" in csv1252
    d, iso = date(2024, 3, 18, 7, 59, 1, 60)
    bo = "_002_FR2P281MB1234ABCDEF0123456789DEUP281prod_"
    root = Multi(f"""
        From: Buchhaltung <buchhaltung@contoso.de>
        To: Anna Schmidt <anna@example.net>
        Subject: Export Zahlungen KW 11
        Thread-Topic: Export Zahlungen KW 11
        Thread-Index: Adp5AbCdEfGhIjKlMnOpQrStUvWxYz==
        Date: {d}
        Message-ID: <FR2P281MB12340A1B2C3D4E5F6A7B8C9D0E1F2A3B@FR2P281MB1234.DEUP281.PROD.OUTLOOK.COM>
        Accept-Language: de-DE
        Content-Language: de-DE
        X-MS-Has-Attach: yes
        X-MS-TNEF-Correlator:
        Content-Type: multipart/mixed;
        	boundary="{bo}"
        MIME-Version: 1.0
        """, [
        TL("""
            Content-Type: text/plain; charset="us-ascii"
            Content-Transfer-Encoding: quoted-printable
            """, "Hallo Anna,\n\nanbei der Export der Zahlungen aus KW 11.\n\nGruss\nBuchhaltung\n", "us-ascii", cte="qp"),
        Leaf(f"""
            Content-Type: text/csv; charset="windows-1252"; name="zahlungen_kw11.csv"
            Content-Description: zahlungen_kw11.csv
            Content-Disposition: attachment; filename="zahlungen_kw11.csv"; size={len(csv1252)};
            	creation-date="Mon, 18 Mar 2024 06:58:40 GMT";
            	modification-date="Mon, 18 Mar 2024 06:59:01 GMT"
            Content-Transfer-Encoding: base64
            """, csv1252, ct="text/csv", cte="base64", filename="zahlungen_kw11.csv"),
    ], ct="multipart/mixed", boundary=bo)
    msg("csv-cp1252-base64", "Outlook text/csv; charset=windows-1252 attachment in base64: saved bytes must be the cp1252 bytes (0x80 euro sign), not UTF-8",
        root, subject="Export Zahlungen KW 11", frm=[A("Buchhaltung", "buchhaltung@contoso.de")],
        to=[A("Anna Schmidt", "anna@example.net")], date_iso=iso,
        message_id="FR2P281MB12340A1B2C3D4E5F6A7B8C9D0E1F2A3B@FR2P281MB1234.DEUP281.PROD.OUTLOOK.COM",
        text_contains=["anbei der Export der Zahlungen aus KW 11."])

    csv_qp = ("Datum;Text;Betrag  \r\n05.03.2024;Caf\xe9 M\xfcller;3,80 \x80\r\n06.03.2024;B\xe4ckerei \"Zum Korn\";2,10 \x80\r\n"
              "=SUMME(C2:C3);;\t\r\n").encode("latin-1")
    d, iso = date(2024, 3, 19, 21, 14, 9, 60)
    b = "Xk7Q2zR9pL3mN8vB"
    root = Multi(f"""
        Date: {d}
        From: Jan Hoffmann <jan@hoffmann.example>
        To: Anna Schmidt <anna@example.net>
        Subject: Kassenbuch Maerz
        Message-ID: <Zfn0AbCdEfGh1234@hoffmann.example>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="{b}"
        Content-Disposition: inline
        User-Agent: NeoMutt/20220429
        """, [
        TL("""
            Content-Type: text/plain; charset=us-ascii
            Content-Disposition: inline
            """, "Hi Anna,\n\nhier das Kassenbuch als CSV.\n\nJan\n", "us-ascii"),
        Leaf("""
            Content-Type: text/csv; charset=windows-1252
            Content-Disposition: attachment; filename="kassenbuch.csv"
            Content-Transfer-Encoding: quoted-printable
            """, csv_qp, ct="text/csv", cte="qp", filename="kassenbuch.csv"),
    ], ct="multipart/mixed", boundary=b)
    msg("csv-cp1252-qp", "NeoMutt text/csv; charset=windows-1252 in quoted-printable (=80 euro, =3D formula, =20/=09 trailing whitespace): bytes must be the QP-decoded cp1252 bytes with CRLF",
        root, subject="Kassenbuch Maerz", frm=[A("Jan Hoffmann", "jan@hoffmann.example")],
        to=[A("Anna Schmidt", "anna@example.net")], date_iso=iso, message_id="Zfn0AbCdEfGh1234@hoffmann.example",
        text_contains=["hier das Kassenbuch als CSV."])

    log = (b"2024-03-20 03:14:07.112 INFO  worker[4312] starting job 8812\r\n"
           b"2024-03-20 03:14:07.348 WARN  worker[4312] short read: \x00\x00\x00\x00\x1f\x8b\x08\x00\r\n"
           b"2024-03-20 03:14:07.349 ERROR worker[4312] segfault at 0000000000000000 ip 00007f3a\x00\r\n"
           b"\x00\x00\x00\x00\x00\x00\x00\x00 trailing garbage \xff\xfe\r\n")
    d, iso = date(2024, 3, 20, 8, 2, 15, 60)
    b = "------------Qq8wE7rT6yU5iO4pA3sD2fG1"
    root = Multi(f"""
        Message-ID: <0b1c2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e@example.de>
        Date: {d}
        MIME-Version: 1.0
        User-Agent: Mozilla Thunderbird
        Content-Language: en-US
        To: ops@example.net
        From: Martin Keller <martin.keller@example.de>
        Subject: Crash log from build server
        Content-Type: multipart/mixed; boundary="{b}"
        """, [
        TL("""
            Content-Type: text/plain; charset=UTF-8; format=flowed
            Content-Transfer-Encoding: 7bit
            """, "Hi,\n\nthe worker crashed again tonight, log attached.\n\nMartin\n", "us-ascii"),
        Leaf("""
            Content-Type: text/plain; charset=UTF-8; name="worker-crash.log"
            Content-Disposition: attachment; filename="worker-crash.log"
            Content-Transfer-Encoding: base64
            """, log, ct="text/plain", cte="base64", filename="worker-crash.log"),
    ], ct="multipart/mixed", boundary=b, preamble=b"This is a multi-part message in MIME format.")
    msg("log-nul-bytes", "Thunderbird text/plain log attachment (base64) containing NUL bytes and invalid UTF-8: saved bytes must be exact",
        root, subject="Crash log from build server", frm=[A("Martin Keller", "martin.keller@example.de")],
        to=[A(None, "ops@example.net")], date_iso=iso, message_id="0b1c2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e@example.de",
        text_contains=["the worker crashed again tonight, log attached."])

    # ================================================================ body shapes
    d, iso = date(2024, 3, 14, 15, 0, 3, 0)
    h = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
         '<html xmlns="http://www.w3.org/1999/xhtml"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8">\n'
         '<title>Spring sale</title>\n<style type="text/css">body{margin:0;padding:0}#bodyTable{width:100%}'
         '.mcnTextContent{font-family:Helvetica;font-size:16px;line-height:150%}</style></head>\n'
         '<body><table id="bodyTable" width="100%" cellpadding="0" cellspacing="0"><tr><td class="mcnTextContent">\n'
         '<h1>Spring sale starts Friday</h1>\n<p>Everything in the garden shop is 20% off.</p>\n'
         '<p><a href="https://shop.example.com/sale?utm_source=newsletter">Browse the sale</a></p>\n'
         '<img src="https://shop.example.com/open.gif?u=4f2a" width="1" height="1" alt="">\n'
         '<p style="font-size:11px">You are receiving this because you signed up at shop.example.com.</p>\n'
         '</td></tr></table></body></html>\n')
    root = TL(f"""
        Return-Path: <bounce-mc.us21_1234567.987654-anna=example.net@mail123.suw11.mcdlv.net>
        Received: from mail123.suw11.mcdlv.net (mail123.suw11.mcdlv.net [198.2.139.123])
        	by mx.example.net (Postfix) with ESMTPS id 4TwQ0m5Kx1z1xyz
        	for <anna@example.net>; Thu, 14 Mar 2024 15:00:05 +0000 (UTC)
        Subject: Spring sale starts Friday
        From: Garden Shop <news@shop.example.com>
        Reply-To: Garden Shop <news@shop.example.com>
        To: <anna@example.net>
        Date: {d}
        Message-ID: <4f2a1b3c5d6e7f8091a2b3c4d.20240314150003.us21@mail123.suw11.mcdlv.net>
        X-Mailer: Mailchimp Mailer - **CIDa1b2c3d4e5f6a7b8c9d0**
        List-Unsubscribe: <https://shop.example.com/unsubscribe?u=4f2a>, <mailto:unsub-4f2a@mcdlv.net>
        List-Unsubscribe-Post: List-Unsubscribe=One-Click
        Content-Type: text/html; charset="utf-8"
        Content-Transfer-Encoding: quoted-printable
        MIME-Version: 1.0
        """, h, "utf-8", cte="qp", role="html", ct="text/html")
    msg("html-only", "Mailchimp newsletter: single text/html part (QP), no text part; displayed text comes from the HTML (style/tracking pixel ignored)",
        root, subject="Spring sale starts Friday", frm=[A("Garden Shop", "news@shop.example.com")],
        to=[A(None, "anna@example.net")], date_iso=iso,
        message_id="4f2a1b3c5d6e7f8091a2b3c4d.20240314150003.us21@mail123.suw11.mcdlv.net",
        text_contains=["Spring sale starts Friday", "Everything in the garden shop is 20% off."])

    d, iso = date(2024, 3, 5, 3, 0, 1, 0, pad_day=True)
    root = TL(f"""
        Return-Path: <root@build01.example.net>
        X-Original-To: root
        Delivered-To: root@build01.example.net
        Received: by build01.example.net (Postfix, from userid 0)
        	id 9C1F21A0332; Tue,  5 Mar 2024 03:00:01 +0000 (UTC)
        From: Cron Daemon <root@build01.example.net>
        To: root@build01.example.net
        Subject: Cron <root@build01> test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )
        Message-Id: <20240305030001.9C1F21A0332@build01.example.net>
        Date: {d} (UTC)
        """, "/etc/cron.daily/logrotate:\nerror: skipping \"/var/log/nginx/access.log\" because parent directory has "
             "insecure permissions\nrun-parts: /etc/cron.daily/logrotate exited with return code 1\n", "us-ascii")
    msg("text-only-no-mime", "Cron mail via Postfix: no MIME-Version, no Content-Type (defaults to text/plain), Date with double space and (UTC) comment",
        root, subject="Cron <root@build01> test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )",
        frm=[A("Cron Daemon", "root@build01.example.net")], to=[A(None, "root@build01.example.net")], date_iso=iso,
        message_id="20240305030001.9C1F21A0332@build01.example.net",
        text_contains=["run-parts: /etc/cron.daily/logrotate exited with return code 1"])

    d, iso = date(2024, 3, 21, 22, 47, 0, -240)
    root = TL(f"""
        Message-ID: <a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7c6d@example.com>
        Date: {d}
        MIME-Version: 1.0
        User-Agent: Mozilla Thunderbird
        Content-Language: en-US
        To: Tom Becker <tom.becker@example.com>
        From: Lena Vogt <lena.vogt@example.com>
        Subject: Call me when you land
        Content-Type: text/plain; charset=UTF-8; format=flowed
        Content-Transfer-Encoding: 7bit
        """, "", "us-ascii")
    msg("empty-body", "Thunderbird message with headers only: zero-byte text/plain body",
        root, subject="Call me when you land", frm=[A("Lena Vogt", "lena.vogt@example.com")],
        to=[A("Tom Becker", "tom.becker@example.com")], date_iso=iso,
        message_id="a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7c6d@example.com")

    # ---------------------------------------------------------------- calendar invite
    d, iso = date(2024, 3, 22, 14, 30, 11, 0)
    bm, ba = "0000000000003c4d5e0614a1b2c3", "0000000000003c4d5d0614a1b2c1"
    ics = ("BEGIN:VCALENDAR\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\nVERSION:2.0\nCALSCALE:GREGORIAN\n"
           "METHOD:REQUEST\nBEGIN:VEVENT\nDTSTART:20240326T150000Z\nDTEND:20240326T153000Z\nDTSTAMP:20240322T143011Z\n"
           "ORGANIZER;CN=Priya Raman:mailto:priya.raman@gmail.com\nUID:7kq2m9v0x1c3b5n7a2s4d6f8g0@google.com\n"
           "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=\n TRUE;CN=tom.becker@example.com;"
           "X-NUM-GUESTS=0:mailto:tom.becker@example.com\nCREATED:20240322T143010Z\nDESCRIPTION:Quick sync about the "
           "launch plan.\nLAST-MODIFIED:20240322T143010Z\nLOCATION:\nSEQUENCE:0\nSTATUS:CONFIRMED\n"
           "SUMMARY:Launch sync\nTRANSP:OPAQUE\nEND:VEVENT\nEND:VCALENDAR\n").replace("\n", "\r\n")
    root = Multi(f"""
        MIME-Version: 1.0
        Date: {d}
        Reply-To: Priya Raman <priya.raman@gmail.com>
        Sender: Google Calendar <calendar-notification@google.com>
        Message-ID: <calendar-7kq2m9v0-x1c3-b5n7-a2s4-d6f8g0000001@google.com>
        Subject: Invitation: Launch sync @ Tue Mar 26, 2024 3pm - 3:30pm (GMT) (tom.becker@example.com)
        From: Priya Raman <priya.raman@gmail.com>
        To: tom.becker@example.com
        Content-Type: multipart/mixed; boundary="{bm}"
        """, [
        Multi(f"""Content-Type: multipart/alternative; boundary="{ba}"
            """, [
            TL("""
                Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes
                Content-Transfer-Encoding: base64
                """, "Launch sync\nTuesday Mar 26, 2024 ⋅ 3pm – 3:30pm\nGreenwich Mean Time - London\n\n"
                     "Quick sync about the launch plan.\n\nReply for tom.becker@example.com\n", "utf-8", cte="base64"),
            TL("""
                Content-Type: text/html; charset="UTF-8"
                Content-Transfer-Encoding: quoted-printable
                """, '<span itemscope itemtype="http://schema.org/InformAction"><h2>Launch sync</h2>'
                     '<p>Tuesday Mar 26, 2024 ⋅ 3pm – 3:30pm</p><p>Quick sync about the launch plan.</p></span>\n',
               "utf-8", cte="qp", role="html", ct="text/html"),
            Leaf("""
                Content-Type: text/calendar; charset="UTF-8"; method=REQUEST
                Content-Transfer-Encoding: 7bit
                """, ics.encode(), ct="text/calendar"),
        ], ct="multipart/alternative", boundary=ba),
        Leaf("""
            Content-Type: application/ics; name="invite.ics"
            Content-Disposition: attachment; filename="invite.ics"
            Content-Transfer-Encoding: base64
            """, ics.encode(), ct="application/ics", cte="base64", filename="invite.ics"),
    ], ct="multipart/mixed", boundary=bm)
    msg("calendar-invite", "Google Calendar invite: mixed(alternative(text b64, html, text/calendar method=REQUEST), application/ics invite.ics); the unnamed text/calendar alternative is an attachment (attachment.ics)",
        root, subject="Invitation: Launch sync @ Tue Mar 26, 2024 3pm - 3:30pm (GMT) (tom.becker@example.com)",
        frm=[A("Priya Raman", "priya.raman@gmail.com")], to=[A(None, "tom.becker@example.com")], date_iso=iso,
        message_id="calendar-7kq2m9v0-x1c3-b5n7-a2s4-d6f8g0000001@google.com",
        text_contains=["Quick sync about the launch plan."])

    # ---------------------------------------------------------------- PGP/MIME signed
    d, iso = date(2024, 3, 25, 11, 11, 11, 60)
    bs = "------------sig7Hq2Wm4Xn6Yp8Zr0At3Bv5"
    sigtxt = ("-----BEGIN PGP SIGNATURE-----\r\n\r\nwsF5BAABCAAjFiEEq3vT9pZ1m0X8cN2rF6hW4yJ7sD4FAmYBUW8FAwAAAAAACgkQF6hW4yJ7\r\n"
              "sD6mIhAAgk3YqZ0pX9vR3tN6wY1sB8kD4hG5jL2cE7aU0iO3yQ9fT6rM1a2b3c4d5e6f7g8h\r\n=Xy1Z\r\n"
              "-----END PGP SIGNATURE-----\r\n").encode()
    root = Multi(f"""
        Message-ID: <6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c@example.de>
        Date: {d}
        MIME-Version: 1.0
        User-Agent: Mozilla Thunderbird
        Content-Language: en-US
        To: security@example.org
        From: Martin Keller <martin.keller@example.de>
        Subject: Key rotation done
        Content-Type: multipart/signed; micalg=pgp-sha256;
         protocol="application/pgp-signature";
         boundary="{bs}"
        """, [
        TL("""
            Content-Type: text/plain; charset=UTF-8; format=flowed
            Content-Transfer-Encoding: 7bit
            """, "Hi,\n\nthe signing key has been rotated, fingerprint ends in 7B0D.\n\nMartin\n", "us-ascii"),
        Leaf("""
            Content-Type: application/pgp-signature; name="OpenPGP_signature.asc"
            Content-Description: OpenPGP digital signature
            Content-Disposition: attachment; filename="OpenPGP_signature.asc"
            """, sigtxt, ct="application/pgp-signature", filename="OpenPGP_signature.asc"),
    ], ct="multipart/signed", boundary=bs, preamble=b"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)")
    msg("pgp-signed", "Thunderbird PGP/MIME multipart/signed: text body plus OpenPGP_signature.asc (a leaf that is not body -> attachment)",
        root, subject="Key rotation done", frm=[A("Martin Keller", "martin.keller@example.de")],
        to=[A(None, "security@example.org")], date_iso=iso, message_id="6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c@example.de",
        text_contains=["the signing key has been rotated, fingerprint ends in 7B0D."])

    # ---------------------------------------------------------------- boundary string mid-line (valid MIME)
    d, iso = date(2024, 3, 26, 10, 0, 0, 60)
    b = "sep42"
    root = Multi(f"""
        Date: {d}
        From: Jan Hoffmann <jan@hoffmann.example>
        To: dev@example.net
        Subject: Config separator question
        Message-ID: <ZgKxYz0123456789@hoffmann.example>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="{b}"
        User-Agent: NeoMutt/20220429
        """, [
        TL("""
            Content-Type: text/plain; charset=us-ascii
            Content-Disposition: inline
            """, "Our parser splits records on the token --sep42 when it appears mid-line, see the attached config.\n"
                 "Lines like  x--sep42-- are data, not MIME delimiters.\n", "us-ascii"),
        Leaf("""
            Content-Type: text/plain; charset=us-ascii
            Content-Disposition: attachment; filename="records.conf"
            """, b"record=a --sep42 record=b\r\nend=--sep42--\r\n", ct="text/plain", filename="records.conf"),
    ], ct="multipart/mixed", boundary=b)
    msg("boundary-mid-line", "Valid MIME where the boundary string appears mid-line inside parts (only a line starting with --sep42 is a delimiter); full text/attachment bytes must survive",
        root, subject="Config separator question", frm=[A("Jan Hoffmann", "jan@hoffmann.example")],
        to=[A(None, "dev@example.net")], date_iso=iso, message_id="ZgKxYz0123456789@hoffmann.example",
        text_contains=["Our parser splits records on the token --sep42 when it appears mid-line",
                       "Lines like  x--sep42-- are data, not MIME delimiters."])

    # ================================================================ hostile but well-formed
    d, iso = date(2024, 3, 27, 2, 13, 0, 0)
    hs = "Hi\r\nBcc: x@y"
    root = TL(f"""
        From: "Billing" <billing@pay.example>
        To: anna@example.net
        Subject: =?UTF-8?B?{base64.b64encode(hs.encode()).decode()}?=
        Date: {d}
        Message-ID: <inj.20240327021300@pay.example>
        MIME-Version: 1.0
        Content-Type: text/plain; charset=UTF-8
        """, "Please reply to confirm.\n", "us-ascii")
    msg("hostile-subject-crlf", "Subject =?UTF-8?B? of 'Hi\\r\\nBcc: x@y': decoded CR/LF must display as one line 'Hi Bcc: x@y'",
        root, subject=hs, frm=[A("Billing", "billing@pay.example")], to=[A(None, "anna@example.net")], date_iso=iso,
        message_id="inj.20240327021300@pay.example", text_contains=["Please reply to confirm."])

    d, iso = date(2024, 3, 27, 4, 44, 4, 0)
    fname = "PayPal Support\u202Emoc.lapyap\u202C"
    exe = "Invoice_2024\u202Efdp.exe"
    zw = "Payment\u200bdetails\u200d.pdf"
    b = "----=_Part_1234_5678.1711514644000"
    bidi_subj_b64 = base64.b64encode("Your invoice \u202Efdp.exe".encode()).decode()
    root = Multi(f"""
        From: =?UTF-8?B?{base64.b64encode(fname.encode()).decode()}?= <support@paypa1-secure.example>
        To: anna@example.net
        Subject: =?UTF-8?B?{bidi_subj_b64}?=
        Date: {d}
        Message-ID: <bidi.20240327044404@paypa1-secure.example>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="{b}"
        """, [
        TL("""
            Content-Type: text/plain; charset=UTF-8
            Content-Transfer-Encoding: 7bit
            """, "Your invoice is attached.\n", "us-ascii"),
        Leaf(f"""
            Content-Type: application/octet-stream; name="{ew(exe, "UTF-8", "B")}"
            Content-Disposition: attachment; filename*=UTF-8''{pct(exe)}
            Content-Transfer-Encoding: base64
            """, b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48, ct="application/octet-stream",
             cte="base64", filename=exe),
        Leaf(f"""
            Content-Type: application/pdf; name="{ew(zw, "UTF-8", "B")}"
            Content-Disposition: attachment; filename="{ew(zw, "UTF-8", "B")}"
            Content-Transfer-Encoding: base64
            """, pdf("Payment details", ["x"]), ct="application/pdf", cte="base64", filename=zw),
    ], ct="multipart/mixed", boundary=b)
    msg("hostile-bidi", "RLO (U+202E) in the From display name, the subject and an .exe filename; zero-width chars in a PDF name: display neutralised, filenames get _",
        root, subject="Your invoice \u202Efdp.exe", frm=[A(fname, "support@paypa1-secure.example")],
        to=[A(None, "anna@example.net")], date_iso=iso, message_id="bidi.20240327044404@paypa1-secure.example",
        text_contains=["Your invoice is attached."])

    d, iso = date(2024, 3, 27, 5, 0, 0, 0)
    b = "----=_Part_9_1711515600000"
    passwd = b"root:x:0:0:root:/root:/bin/bash\r\n"
    root = Multi(f"""
        From: files@evil.example
        To: anna@example.net
        Subject: Files you requested
        Date: {d}
        Message-ID: <trav.20240327050000@evil.example>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="{b}"
        """, [
        TL("""
            Content-Type: text/plain; charset=us-ascii
            """, "See attachments.\n", "us-ascii"),
        Leaf("""
            Content-Type: text/plain; name="../../etc/passwd"
            Content-Disposition: attachment; filename="../../etc/passwd"
            """, passwd, ct="text/plain", filename="../../etc/passwd"),
        Leaf("""
            Content-Type: text/plain
            Content-Disposition: attachment; filename*=UTF-8''%2E%2E%2F%2E%2E%2Fetc%2Fpasswd
            """, passwd, ct="text/plain", filename="../../etc/passwd"),
        Leaf("""
            Content-Type: application/octet-stream
            Content-Disposition: attachment; filename="=?UTF-8?B?Li5cLi5cYm9vdC5pbmk=?="
            Content-Transfer-Encoding: base64
            """, b"[boot loader]\r\ntimeout=30\r\n", ct="application/octet-stream", cte="base64",
             filename="..\\..\\boot.ini"),
        Leaf("""
            Content-Type: application/octet-stream
            Content-Disposition: attachment; filename="C:\\\\Windows\\\\evil.dll"
            Content-Transfer-Encoding: base64
            """, b"MZ\x90\x00evil", ct="application/octet-stream", cte="base64", filename="C:\\Windows\\evil.dll"),
        Leaf("""
            Content-Type: application/octet-stream
            Content-Disposition: attachment; filename*=UTF-8''%5C%5Cserver%5Cshare%5Cx.exe
            Content-Transfer-Encoding: base64
            """, b"MZ\x90\x00unc", ct="application/octet-stream", cte="base64", filename="\\\\server\\share\\x.exe"),
        Leaf("""
            Content-Type: image/png
            Content-Disposition: attachment; filename=".."
            Content-Transfer-Encoding: base64
            """, png(2, 2, 1), ct="image/png", cte="base64", filename=".."),
        Leaf("""
            Content-Type: text/plain; charset=us-ascii
            Content-Disposition: attachment; filename=".htaccess"
            """, b"Options +ExecCGI\r\n", ct="text/plain", filename=".htaccess"),
    ], ct="multipart/mixed", boundary=b)
    msg("hostile-traversal-filenames", "Path traversal names: ../../etc/passwd plain and RFC 2231 %2E%2E%2F, RFC 2047 ..\\..\\boot.ini, quoted-pair C:\\\\Windows\\\\evil.dll, RFC 2231 \\\\server\\share\\x.exe, '..' (-> attachment.png), .htaccess",
        root, subject="Files you requested", frm=[A(None, "files@evil.example")], to=[A(None, "anna@example.net")],
        date_iso=iso, message_id="trav.20240327050000@evil.example", text_contains=["See attachments."])

    d, iso = date(2024, 3, 27, 5, 30, 0, 0)
    b = "----=_Part_10_1711517400000"
    root = Multi(f"""
        From: files@evil.example
        To: anna@example.net
        Subject: Device names
        Date: {d}
        Message-ID: <dev.20240327053000@evil.example>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="{b}"
        """, [
        TL("""
            Content-Type: text/plain; charset=us-ascii
            """, "Windows reserved names attached.\n", "us-ascii"),
        Leaf("""
            Content-Type: text/plain; charset=us-ascii
            Content-Disposition: attachment; filename="CON.txt"
            """, b"console\r\n", ct="text/plain", filename="CON.txt"),
        Leaf("""
            Content-Type: application/pdf
            Content-Disposition: attachment; filename="aux.pdf"
            Content-Transfer-Encoding: base64
            """, pdf("aux", ["aux"]), ct="application/pdf", cte="base64", filename="aux.pdf"),
        Leaf("""
            Content-Type: application/octet-stream
            Content-Disposition: attachment; filename="com9.tar.gz"
            Content-Transfer-Encoding: base64
            """, b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00", ct="application/octet-stream",
             cte="base64", filename="com9.tar.gz"),
        Leaf("""
            Content-Type: application/octet-stream
            Content-Disposition: attachment; filename="LPT1"
            Content-Transfer-Encoding: base64
            """, b"printer", ct="application/octet-stream", cte="base64", filename="LPT1"),
        Leaf("""
            Content-Type: text/plain; charset=us-ascii
            Content-Disposition: attachment; filename="CONSOLE.txt"
            """, b"not reserved\r\n", ct="text/plain", filename="CONSOLE.txt"),
        Leaf("""
            Content-Type: text/plain; charset=us-ascii
            Content-Disposition: attachment; filename="notes.txt. . ."
            """, b"trailing dots\r\n", ct="text/plain", filename="notes.txt. . ."),
    ], ct="multipart/mixed", boundary=b)
    msg("hostile-windows-device-name", "Windows device names CON.txt, aux.pdf, com9.tar.gz, LPT1 (-> _ prefix), CONSOLE.txt (unchanged), trailing dots/spaces stripped",
        root, subject="Device names", frm=[A(None, "files@evil.example")], to=[A(None, "anna@example.net")],
        date_iso=iso, message_id="dev.20240327053000@evil.example", text_contains=["Windows reserved names attached."])

    d, iso = date(2024, 3, 28, 9, 0, 0, 480)
    b = "------------Lg8Cjk9Fn0Am1Bo2Cp3Dq4Er"
    cjk = "关于二零二四年度华东华南华北西南西北东北六大区域市场销售渠道拓展与客户关系管理体系优化升级的综合调研分析报告及后续工作计划安排说明暨各部门协同推进实施方案征求意见稿第三版修订-2.pdf"
    stem = cjk[:-6]
    cjk = (stem * 2)[:98] + "-2.pdf"
    assert len(cjk.encode()) == 300, len(cjk.encode())
    root = Multi(f"""
        Message-ID: <d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a@example.cn>
        Date: {d}
        MIME-Version: 1.0
        User-Agent: Mozilla Thunderbird
        To: Lisa Wong <lisa.wong@example.com>
        From: {ew("陈静", "UTF-8", "B")} <chen.jing@example.cn>
        Subject: {ew("报告（长文件名）", "UTF-8", "B")}
        Content-Type: multipart/mixed; boundary="{b}"
        """, [
        TL("""
            Content-Type: text/plain; charset=UTF-8; format=flowed
            Content-Transfer-Encoding: 8bit
            """, "文件名很长，请注意。\n", "utf-8"),
        Leaf(f"""
            Content-Type: application/pdf
            Content-Disposition: attachment;
             {rfc2231_continuations("filename", cjk, seg_chars=63)}
            Content-Transfer-Encoding: base64
            """, pdf("long name", ["x"]), ct="application/pdf", cte="base64", filename=cjk),
    ], ct="multipart/mixed", boundary=b, preamble=b"This is a multi-part message in MIME format.")
    msg("hostile-long-cjk-filename", "300-byte CJK filename in RFC 2231 continuations: sanitised name keeps .pdf and truncates the stem on a UTF-8 char boundary to <= 200 bytes",
        root, subject="报告（长文件名）", frm=[A("陈静", "chen.jing@example.cn")], to=[A("Lisa Wong", "lisa.wong@example.com")],
        date_iso=iso, message_id="d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a@example.cn", text_contains=["文件名很长，请注意。"])

    d, iso = date(2024, 3, 28, 12, 0, 0, -300)
    bm, ba = "000000000000a9b8c70614b2c3d5", "000000000000a9b8c60614b2c3d3"
    root = Multi(f"""
        MIME-Version: 1.0
        From: Priya Raman <priya.raman@gmail.com>
        Date: {d}
        Message-ID: <CAJz5Opd0Yk9pQ3vT7mB2sX8nR4wF6hL1cE9uG0aV3yK5iN7dup@mail.gmail.com>
        Subject: Two scans
        To: Tom Becker <tom.becker@example.com>
        Content-Type: multipart/mixed; boundary="{bm}"
        """, [
        Multi(f"""Content-Type: multipart/alternative; boundary="{ba}"
            """, [
            TL("""Content-Type: text/plain; charset="UTF-8"
                """, "Front and back, both called scan.pdf by the scanner.\n", "us-ascii"),
            TL("""Content-Type: text/html; charset="UTF-8"
                """, '<div dir="ltr">Front and back, both called scan.pdf by the scanner.</div>\n', "us-ascii",
               role="html", ct="text/html"),
        ], ct="multipart/alternative", boundary=ba),
        Leaf("""
            Content-Type: application/pdf; name="scan.pdf"
            Content-Disposition: attachment; filename="scan.pdf"
            Content-Transfer-Encoding: base64
            Content-ID: <f_ltg0a1b20>
            X-Attachment-Id: f_ltg0a1b20
            """, pdf("Scan", ["front"]), ct="application/pdf", cte="base64", filename="scan.pdf", cid="f_ltg0a1b20"),
        Leaf("""
            Content-Type: application/pdf; name="scan.pdf"
            Content-Disposition: attachment; filename="scan.pdf"
            Content-Transfer-Encoding: base64
            Content-ID: <f_ltg0a1b31>
            X-Attachment-Id: f_ltg0a1b31
            """, pdf("Scan", ["back"]), ct="application/pdf", cte="base64", filename="scan.pdf", cid="f_ltg0a1b31"),
    ], ct="multipart/mixed", boundary=bm)
    msg("duplicate-attachment-names", "Gmail message with two different attachments both named scan.pdf (same sanitised name; the saver must not overwrite)",
        root, subject="Two scans", frm=[A("Priya Raman", "priya.raman@gmail.com")],
        to=[A("Tom Becker", "tom.becker@example.com")], date_iso=iso,
        message_id="CAJz5Opd0Yk9pQ3vT7mB2sX8nR4wF6hL1cE9uG0aV3yK5iN7dup@mail.gmail.com",
        text_contains=["Front and back, both called scan.pdf by the scanner."])

    d, iso = date(2024, 3, 29, 8, 0, 0, 60)
    b = "------------Zb1Yc2Xd3We4Vf5Ug6Th7Si8"
    root = Multi(f"""
        Message-ID: <f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f@example.de>
        Date: {d}
        MIME-Version: 1.0
        User-Agent: Mozilla Thunderbird
        To: Anna Schmidt <anna@example.net>
        From: Martin Keller <martin.keller@example.de>
        Subject: Placeholder file
        Content-Type: multipart/mixed; boundary="{b}"
        """, [
        TL("""
            Content-Type: text/plain; charset=UTF-8; format=flowed
            Content-Transfer-Encoding: 7bit
            """, "The placeholder is empty on purpose.\n", "us-ascii"),
        Leaf("""
            Content-Type: text/plain; charset=UTF-8; name="empty.txt"
            Content-Disposition: attachment; filename="empty.txt"
            Content-Transfer-Encoding: base64
            """, b"", ct="text/plain", cte="base64", filename="empty.txt"),
        Leaf("""
            Content-Type: application/octet-stream; name="empty.bin"
            Content-Disposition: attachment; filename="empty.bin"
            """, b"", ct="application/octet-stream", filename="empty.bin"),
    ], ct="multipart/mixed", boundary=b, preamble=b"This is a multi-part message in MIME format.")
    msg("zero-byte-attachment", "Thunderbird with two 0-byte attachments (base64 with empty body, and 7bit with empty body): size 0, sha256 of empty",
        root, subject="Placeholder file", frm=[A("Martin Keller", "martin.keller@example.de")],
        to=[A("Anna Schmidt", "anna@example.net")], date_iso=iso, message_id="f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f@example.de",
        text_contains=["The placeholder is empty on purpose."])

    # ================================================================ malformed (partial expectations)
    def raw_msg(s):
        assert "\r" not in s
        return s.replace("\n", "\r\n").encode("utf-8")

    raw = raw_msg("""From: Priya Raman <priya.raman@gmail.com>
To: Tom Becker <tom.becker@example.com>
Subject: Truncated download
Date: Sat, 30 Mar 2024 10:00:00 +0000
Message-ID: <trunc.1@example.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="000000000000b1b2b30615c1c2c3"

--000000000000b1b2b30615c1c2c3
Content-Type: text/plain; charset="UTF-8"

The connection dropped before the end of this message.

--000000000000b1b2b30615c1c2c3
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">The connection dropped before the end of
""")
    case("malformed-unterminated-multipart", "multipart/alternative whose last (html) part runs to EOF with no closing --boundary--",
         raw, {"subject": "Truncated download", "date": "2024-03-30T10:00:00Z", "message_id": "trunc.1@example.com",
               "text_contains": ["The connection dropped before the end of this message."],
               "warning_codes": ["unterminated_multipart"]}, wellformed=False)

    raw = raw_msg("""From: Jan Hoffmann <jan@hoffmann.example>
To: anna@example.net
Subject: Missing boundary
Date: Sat, 30 Mar 2024 11:00:00 +0100
Message-ID: <nobnd.1@hoffmann.example>
MIME-Version: 1.0
Content-Type: multipart/mixed

--whatever
Content-Type: text/plain

There is no boundary parameter, so this is not parseable as multipart.
--whatever--
""")
    case("malformed-missing-boundary", "Content-Type: multipart/mixed without a boundary parameter: must not crash; structure is parser-defined",
         raw, {"subject": "Missing boundary", "date": "2024-03-30T11:00:00+01:00", "message_id": "nobnd.1@hoffmann.example"},
         wellformed=False)

    good = base64.b64encode(pdf("Broken", ["x"])).decode()
    junk = good[:40] + "!!" + good[40:80] + "%%@@" + good[80:120] + "=" + good[120:200] + "\u00e9".encode().decode() + good[200:] + "A"
    bad_lines = "\n".join(junk[i:i + 76] for i in range(0, len(junk), 76))
    raw = raw_msg(f"""From: scanner@office.example
To: anna@example.net
Subject: Scanned document
Date: Sat, 30 Mar 2024 12:00:00 +0100
Message-ID: <badb64.1@office.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_scan_boundary"

--=_scan_boundary
Content-Type: text/plain; charset=us-ascii

Scanned by the office copier.

--=_scan_boundary
Content-Type: application/pdf; name="scan0001.pdf"
Content-Disposition: attachment; filename="scan0001.pdf"
Content-Transfer-Encoding: base64

{bad_lines}

--=_scan_boundary--
""")
    case("malformed-bad-base64", "PDF attachment whose base64 has junk characters (!, %, @, é), a stray '=' mid-stream and a dangling final character",
         raw, {"subject": "Scanned document", "date": "2024-03-30T12:00:00+01:00", "message_id": "badb64.1@office.example",
               "text_contains": ["Scanned by the office copier."], "warning_codes": ["encoding_problem"]}, wellformed=False)

    raw = raw_msg("""From: Jan Hoffmann <jan@hoffmann.example>
To: anna@example.net
Subject: Broken QP
Date: Sat, 30 Mar 2024 13:00:00 +0100
Message-ID: <badqp.1@hoffmann.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="qpqp"

--qpqp
Content-Type: text/plain; charset=us-ascii

The attachment below is not valid quoted-printable.

--qpqp
Content-Type: text/plain; charset=iso-8859-1; name="broken.txt"
Content-Disposition: attachment; filename="broken.txt"
Content-Transfer-Encoding: quoted-printable

a=ZZb ==c =4 =
--qpqp--
""")
    case("malformed-broken-qp", "Attachment with invalid quoted-printable (=ZZ, ==, =4 followed by space)",
         raw, {"subject": "Broken QP", "date": "2024-03-30T13:00:00+01:00", "message_id": "badqp.1@hoffmann.example",
               "text_contains": ["The attachment below is not valid quoted-printable."],
               "warning_codes": ["encoding_problem"]}, wellformed=False)

    # 150 nested multiparts
    depth = 150
    s = (b"From: loop@evil.example\r\nTo: anna@example.net\r\nSubject: Deeply nested\r\n"
         b"Date: Sun, 31 Mar 2024 01:00:00 +0000\r\nMessage-ID: <deep.150@evil.example>\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"d000\"\r\n\r\n")
    for i in range(1, depth):
        s += b"--d%03d\r\nContent-Type: multipart/mixed; boundary=\"d%03d\"\r\n\r\n" % (i - 1, i)
    s += b"--d%03d\r\nContent-Type: text/plain\r\n\r\nbottom of the well\r\n" % (depth - 1)
    for i in range(depth - 1, -1, -1):
        s += b"--d%03d--\r\n" % i
    case("hostile-deep-nesting", "150 nested multipart/mixed levels (well-formed): the walk must stop at depth 100 with a depth_limit warning, no stack overflow",
         s, {"subject": "Deeply nested", "date": "2024-03-31T01:00:00Z", "message_id": "deep.150@evil.example",
             "warning_codes": ["depth_limit"]}, wellformed=False)

    n = 10050
    s = (b"From: loop@evil.example\r\nTo: anna@example.net\r\nSubject: Ten thousand parts\r\n"
         b"Date: Sun, 31 Mar 2024 02:00:00 +0000\r\nMessage-ID: <many.10050@evil.example>\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n")
    s += b"".join(b"--p\r\n\r\n%d\r\n" % i for i in range(n)) + b"--p--\r\n"
    case("hostile-many-parts", f"{n} tiny parts in one multipart/mixed (> 10000): part_limit warning, bounded work",
         s, {"subject": "Ten thousand parts", "date": "2024-03-31T02:00:00Z", "message_id": "many.10050@evil.example",
             "warning_codes": ["part_limit"]}, wellformed=False)

    case("malformed-no-headers", "Empty header section: the file starts with the blank line, then a body",
         b"\r\nThis message has no header section at all.\r\n",
         {"subject": None, "date": None, "message_id": None}, wellformed=False)

    case("malformed-headerless-text", "No header section and no blank line: plain text from the first byte",
         b"Hello Anna, this file has no headers, just text.\r\nSecond line.\r\n",
         {"subject": None, "date": None, "message_id": None}, wellformed=False)

    case("empty-file", "0-byte file", b"", {"subject": None, "date": None, "message_id": None}, wellformed=False)

    raw = raw_msg("""From: Jan Hoffmann <jan@hoffmann.example>
To: anna@example.net
Subject: Odd date
Date: sometime next week
Message-ID: <baddate.1@hoffmann.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

The Date header above is not a date.
""")
    case("malformed-invalid-date", "Unparseable Date header -> date null; everything else normal",
         raw, {"subject": "Odd date", "from": [A("Jan Hoffmann", "jan@hoffmann.example")],
               "date": None, "message_id": "baddate.1@hoffmann.example", "html": False,
               "text_contains": ["The Date header above is not a date."],
               "parts": [{"path": "1", "content_type": "text/plain"}], "attachments": []})

    raw = raw_msg("""From: files@evil.example
To: anna@example.net
Subject: Unescaped backslashes
Date: Sun, 31 Mar 2024 03:00:00 +0000
Message-ID: <bs.1@evil.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="bsbs"

--bsbs
Content-Type: text/plain

Raw backslashes inside a quoted filename.
--bsbs
Content-Type: application/octet-stream; name="C:\\Windows\\System32\\evil.dll"
Content-Disposition: attachment; filename="C:\\Windows\\System32\\evil.dll"
Content-Transfer-Encoding: base64

TVqQAA==
--bsbs--
""")
    case("hostile-backslash-raw", "filename=\"C:\\Windows\\System32\\evil.dll\" with single (quoted-pair) backslashes: RFC 5322 unescaping gives C:WindowsSystem32evil.dll, many readers keep the backslashes; only the no-crash keys are checked",
         raw, {"subject": "Unescaped backslashes", "message_id": "bs.1@evil.example",
               "text_contains": ["Raw backslashes inside a quoted filename."]}, wellformed=False)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

README_HEAD = """# Golden MIME corpus

Generated by `generate.py` (stdlib Python, deterministic); do not edit the `.eml` / `.expected.json`
files by hand, change the generator and re-run `python3 tests/corpus/generate.py`.

* `<name>.eml`: raw message, CRLF line endings (`.gitattributes` keeps git from touching them).
* `<name>.expected.json`: a subset of `herald show --json`; a test compares only the keys present.
  Values come from what the generator put into the message, never from running Herald.
  Messages marked *(partial)* are malformed/hostile: only the keys that are certain are present
  (the point there is: no crash, no hang, no write outside the target folder).
* Paths: root `1`, child k of `P` is `P.k`, the message inside a `message/rfc822` part `P` is `P.1`.
* Leaf bytes: end before the CRLF preceding the next boundary line; transfer-decoded only.
* Cross-check: `generate.py` runs `tests/support/py_mime_tree.py` (Python's `email` package) on
  every well-formed message and compares paths, types, filenames, content-ids and leaf bytes.

Notes for the Rust test:

* `warning_codes` lists codes Herald must report. `malformed-unterminated-multipart`: mail-parser
  0.11.9 also sets `is_encoding_problem` on the truncated part (its "boundary not found" path);
  the expected set is only `unterminated_multipart`, because nothing there is undecodable.
* `inline` is computed from the generator's own HTML: an `image/*` part whose Content-ID appears as
  `cid:<id>` in a text/html body of the same message (after transfer decoding: in
  `outlook-related-cid` the `cid:` reference is split by a QP soft line break).
* `calendar-invite`: the unnamed `text/calendar` alternative is not the displayed text/html body, so
  it is listed as an attachment (`attachment.ics`), before `invite.ics`.
* `charset-gbk` / `charset-gb18030`: Foxmail puts the encoded-word From name inside quotes
  (`"=?GBK?B?...?=" <addr>`); the expectation is the decoded name, as every client shows it,
  although RFC 2047 section 5 does not allow encoded-words in a quoted-string.
* `charset-utf8-emoji`: display text keeps the joiners U+200C/U+200D (emoji sequences and
  Persian/Indic scripts need them), so the family emoji in the subject stays one emoji; file names
  still replace every zero-width character.

| file | shape / what it checks |
|---|---|
"""


def write_all():
    for f in os.listdir(HERE):
        if f.endswith(".eml") or f.endswith(".expected.json"):
            os.remove(os.path.join(HERE, f))
    readme = README_HEAD
    for name, desc, raw, exp, wellformed in CASES:
        bad = [i for i in range(len(raw)) if (raw[i] == 10 and (i == 0 or raw[i - 1] != 13))
               or (raw[i] == 13 and (i + 1 >= len(raw) or raw[i + 1] != 10))]
        assert not bad, (name, bad[:3])
        assert len(raw) < 200 * 1024, (name, len(raw))
        with open(os.path.join(HERE, name + ".eml"), "wb") as f:
            f.write(raw)
        with open(os.path.join(HERE, name + ".expected.json"), "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(exp, ensure_ascii=False, indent=2) + "\n")
        readme += f"| `{name}.eml` | {desc.replace('|', '&#124;')}{' *(partial)*' if name in PARTIAL else ''} |\n"
    with open(os.path.join(HERE, "README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(readme)


# Places where Python's email package legitimately reads a well-formed message differently from
# the expectation (checked, not hidden): (name, path, field) -> reason
KNOWN_PY_DIFFS = {}


def check():
    sys.dont_write_bytecode = True  # keep __pycache__ out of the tree
    sys.path.insert(0, os.path.join(REPO, "tests", "support"))
    import py_mime_tree  # noqa: E402

    problems, notes = [], []
    for name, desc, raw, exp, wellformed in CASES:
        tree = py_mime_tree.mime_tree(raw, with_defects=True)
        if not wellformed:
            defects = sorted({f"{p['path']}:{d}" for p in tree["parts"] for d in p["defects"]})
            notes.append(f"{name}: python subject={tree['subject']!r}, {len(tree['parts'])} parts, "
                         f"defects={defects[:6]}{' ...' if len(defects) > 6 else ''}")
            continue
        want_subject = exp.get("subject")
        if neutralize(tree["subject"]) != want_subject:
            problems.append((name, "-", "subject", tree["subject"], want_subject))
        byp = {p["path"]: p for p in tree["parts"]}
        if [p["path"] for p in tree["parts"]] != [p["path"] for p in exp["parts"]]:
            problems.append((name, "-", "paths", [p["path"] for p in tree["parts"]], [p["path"] for p in exp["parts"]]))
            continue
        # leaf bytes for every leaf (body parts too), from the generator's own model
        leaf_bytes = {}
        root = ROOTS.get(name)
        if root is not None:
            for path, n, _ in walk(root):
                if isinstance(n, (Leaf, Rfc822)):
                    leaf_bytes[path] = node_bytes(n)
        for ep in exp["parts"]:
            pp = byp[ep["path"]]
            for key, pkey in (("content_type", "content_type"), ("filename", "filename"), ("content_id", "content_id")):
                want, got = ep.get(key), pp[pkey]
                if want != got and (name, ep["path"], key) not in KNOWN_PY_DIFFS:
                    problems.append((name, ep["path"], key, got, want))
            if ep["path"] in leaf_bytes:
                data = leaf_bytes[ep["path"]]
                want = (len(data), hashlib.sha256(data).hexdigest())
                got = (pp["size"], pp["sha256"])
                if got != want and (name, ep["path"], "bytes") not in KNOWN_PY_DIFFS:
                    if ep["content_type"] == "message/rfc822" and got == (None, None):
                        notes.append(f"{name} {ep['path']}: python could not give exact rfc822 bytes")
                    else:
                        problems.append((name, ep["path"], "bytes", got, want))
    return problems, notes


ROOTS = {}


def _capture_roots():
    """Re-run build() while recording each well-formed message's tree (for the byte check)."""
    global msg
    orig = msg

    def rec(name, desc, root, **kw):
        ROOTS[name] = root
        return orig(name, desc, root, **kw)

    msg = rec
    try:
        build()
    finally:
        msg = orig


def main():
    args = sys.argv[1:]
    _capture_roots()
    if "--check" not in args:
        write_all()
        print(f"wrote {len(CASES)} messages to {HERE}")
    else:
        # compare the committed files with what the generator would write
        for name, _, raw, exp, _ in CASES:
            with open(os.path.join(HERE, name + ".eml"), "rb") as f:
                assert f.read() == raw, f"{name}.eml differs from generator output"
            with open(os.path.join(HERE, name + ".expected.json"), encoding="utf-8") as f:
                assert json.load(f) == exp, f"{name}.expected.json differs from generator output"
    if "--no-check" in args:
        return
    problems, notes = check()
    for n in notes:
        print("note:", n)
    for p in problems:
        print("MISMATCH:", p)
    print(f"cross-check: {len(problems)} unexplained differences")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
