#!/usr/bin/env python3
"""check_html.py WHAT ARGS...: checks for the `analyze -o DIR` page (tests/t_html.sh).

  page INDEX.html DIR         the file as written: self-contained and inert
  dom DOM.html REPORT.json [TEXT...]
                              chromium's --dump-dom of it: the verdict is the analysis's,
                              every TEXT shows as text, only known tags, no handlers
  png SHOT.png W H            the screenshot is a real W x H image of the page
  colour SHOT.png             prints the number of strongly coloured pixels (charts)

One line per check ("ok ..." / "FAIL ..."); exit 1 when any failed.  Pure standard
library: the PNG decoder is the few lines below.
"""
import base64
import glob
import html.parser
import json
import os
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

TAGS = {"html", "head", "meta", "title", "style", "body", "main", "header", "h1", "h2", "h3",
        "div", "section", "span", "p", "ul", "li", "table", "tbody", "tr", "th", "td", "details",
        "summary", "figure", "img", "figcaption", "footer", "code"}
bad = 0


def check(what, good, detail=""):
    global bad
    print(("ok   " if good else "FAIL ") + what + ("" if good or not detail else ": " + detail))
    bad += not good


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.handlers, self.imgs, self.text = [], [], [], []
        self.stack, self.ids = [], {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.handlers += [k for k in a if k.lower().startswith("on")]
        if tag == "img":
            self.imgs.append(a)
        if "id" in a:
            self.ids[a["id"]] = []
        self.stack.append(a.get("id"))

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)
        for i in self.stack:
            if i in self.ids:
                self.ids[i].append(data)


def parse(path):
    p = Page()
    p.feed(open(path, encoding="utf-8").read())
    return p


def svg_of(img):
    src = img.get("src", "")
    pre = "data:image/svg+xml;base64,"
    if not src.startswith(pre):
        return None
    try:
        return ET.fromstring(base64.b64decode(src[len(pre):], validate=True))
    except (ValueError, ET.ParseError):
        return None


def page(index, outdir):
    text = open(index, encoding="utf-8").read()
    p = parse(index)
    svgs = sorted(glob.glob(os.path.join(outdir, "*.svg")))
    check("no <script> anywhere", "<script" not in text.lower())
    check("no URL at all (http:, https:, //host)", not re.search(r"https?:|=\s*[\"']?//", text))
    check("a Content-Security-Policy that loads nothing",
          "default-src 'none'; img-src data:; style-src 'unsafe-inline'" in text)
    check("only known tags", set(p.tags) <= TAGS, str(set(p.tags) - TAGS))
    check("no event handler attributes", not p.handlers, str(p.handlers))
    charts = [i for i in p.imgs if i.get("class") == "chart"]
    check("one inline chart per DIR/*.svg (%d)" % len(svgs), len(charts) == len(svgs))
    roots = [svg_of(i) for i in charts]
    check("every chart is a data: SVG that parses", all(r is not None and r.tag.endswith("svg") for r in roots))
    check("every image is a chart", len(charts) == len(p.imgs))


def dom(path, report, texts):
    p = parse(path)
    r = json.load(open(report))
    verdict = " ".join("".join(p.ids.get("verdict", [])).split())
    check("the rendered DOM has the verdict", bool(verdict))
    check("  ...the analysis's own verdict and summary",
          r["verdict"]["primary"] in verdict and " ".join(r["verdict"]["summary"].split()) in verdict,
          verdict[:200])
    check("the breakdown, steps, stalls and charts sections are there",
          all(k in p.ids for k in ("breakdown", "steps", "stalls", "charts")), str(sorted(p.ids)))
    check("no script element in the DOM", "script" not in p.tags)
    check("no event handler in the DOM", not p.handlers, str(p.handlers))
    body = "".join(p.text)
    for t in texts:
        check("shown as text: %s" % t, t in body)


def png_rows(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, []
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, lace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or lace:
                raise ValueError("unexpected PNG layout")
        elif typ == b"IDAT":
            idat.append(body)
        pos += 12 + n
    bpp = 3 if ctype == 2 else 4
    raw, stride, prev, rows = zlib.decompress(b"".join(idat)), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride) if f else ():
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def pixels(rows, bpp):
    for r in rows:
        for i in range(0, len(r), bpp):
            yield r[i], r[i + 1], r[i + 2]


def png(path, w, h):
    size = os.path.getsize(path)
    check("screenshot is a non-trivial PNG (%d bytes)" % size, size > 20000)
    try:
        pw, ph, bpp, rows = png_rows(path)
    except (ValueError, zlib.error, struct.error) as e:
        check("screenshot decodes", False, str(e))
        return
    check("screenshot is %dx%d" % (w, h), (pw, ph) == (w, h), "%dx%d" % (pw, ph))
    px = list(pixels(rows, bpp))
    colours = len(set(px))
    check("the page is drawn, not blank (%d colours)" % colours, colours > 50)
    red = sum(1 for p in px if p == (0xc0, 0x39, 0x2b))
    check("the verdict box is on the first screen (%d pixels of its red edge)" % red, red > 500)
    dark = sum(1 for p in px if max(p) < 100)
    check("text is drawn (%d dark pixels)" % dark, dark > 5000)


def colour(path):
    _, _, bpp, rows = png_rows(path)
    print(sum(1 for r, g, b in pixels(rows, bpp) if max(r, g, b) - min(r, g, b) > 80))


def main():
    what, args = sys.argv[1], sys.argv[2:]
    if what == "page":
        page(*args)
    elif what == "dom":
        dom(args[0], args[1], args[2:])
    elif what == "png":
        png(args[0], int(args[1]), int(args[2]))
    elif what == "colour":
        colour(args[0])
        return 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
