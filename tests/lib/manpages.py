#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Manual pages in man/manN/ as the checks see them (man/README).

A page is either a link, one line '.so manN/other.N', or a page with .TH
and .SH sections.  Section texts are kept with roff font escapes and
requests stripped, so 'E' words and virtq_ names can be looked up.
"""
import os
import re

SECTION_FILE = re.compile(r"^(?P<name>.+)\.(?P<sec>[1-8])$")


def clean(text):
    """Roff source line(s) -> plain words."""
    text = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", text)
    text = text.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
    text = re.sub(r"\\\(..", " ", text)
    text = re.sub(r"\\\[[^\]]*\]", " ", text)
    text = re.sub(r"^\.[A-Za-z]+\s?", "", text, flags=re.M)
    return text.replace('"', "")


class Page:
    def __init__(self, path):
        self.path = path
        base = os.path.basename(path)
        m = SECTION_FILE.match(base)
        self.name, self.sec = m.group("name"), m.group("sec")
        with open(path, encoding="utf-8") as f:
            self.src = f.read()
        lines = [l for l in self.src.split("\n") if not l.startswith(('.\\"', "'\\\"")) and l.strip()]
        self.link = None
        if len(lines) == 1 and lines[0].startswith(".so "):
            self.link = lines[0][4:].strip()
        self.th = None
        self.sections = {}      # title -> list of raw lines
        self.order = []
        cur = None
        for line in self.src.split("\n"):
            if line.startswith('.\\"'):
                continue
            if line.startswith(".TH "):
                self.th = line
                continue
            m = re.match(r'^\.SH\s+"?([^"]*)"?\s*$', line)
            if m:
                cur = m.group(1).strip().upper()
                self.order.append(cur)
                self.sections[cur] = []
                continue
            if cur is not None:
                self.sections[cur].append(line)

    def text(self, title):
        return clean("\n".join(self.sections.get(title, [])))

    def names(self):
        """Names before '\\-' in NAME."""
        raw = "\n".join(self.sections.get("NAME", []))
        head = raw.split("\\-", 1)[0]
        return [n for n in re.split(r"[\s,]+", clean(head)) if n]


def pages(root, sec=None):
    out = {}
    base = os.path.join(root, "man")
    if not os.path.isdir(base):
        return out
    for d in sorted(os.listdir(base)):
        m = re.fullmatch(r"man([1-8])", d)
        if not m or (sec and m.group(1) != str(sec)):
            continue
        for f in sorted(os.listdir(os.path.join(base, d))):
            if SECTION_FILE.match(f) and f.endswith("." + m.group(1)):
                p = Page(os.path.normpath(os.path.join(base, d, f)))
                out[(p.name, p.sec)] = p
    return out
