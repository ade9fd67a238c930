#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The public API as the installed headers declare it, for the checks in
tests/man-*.sh and tests/abi-symbols.sh.

Reads every header under include/virtq/ (subdirectories too) and finds each
public function: an extern prototype, a static inline definition, or a
function-like macro with a lowercase virtq_ name.  Names starting with
__virtq_ are internal and left out.

A function's comment is the comment block right above its declaration, or
above the group of declarations it belongs to (declarations that follow one
another with no blank line in between share the comment above the first).
Its errno list is every errno name written as -ENAME in that comment
(prose mentions count: the page must then mention them too).  man/README
describes the rule for page writers.

Usage: api.py [--root DIR] functions   name kind header errnos... per line
       api.py [--root DIR] json
"""
import errno
import json
import os
import re
import sys

ERRNO_NAMES = {n for n in dir(errno) if re.fullmatch(r"E[A-Z0-9]+", n)}
# Return types whose value can carry -errno: the errno list is checked
# only for these (void / bool / pointers / sizes cannot return an error).
ERRNO_TYPES = {"int", "ssize_t", "long", "int32_t", "int64_t"}


def errnos_in(text, dash=True):
    pat = r"(?<![A-Za-z0-9_])-(E[A-Z0-9]+)\b" if dash else r"(?<![A-Za-z0-9_])(E[A-Z0-9]+)\b"
    return sorted({m for m in re.findall(pat, text) if m in ERRNO_NAMES})


def headers(root):
    base = os.path.join(root, "include", "virtq")
    out = []
    for d, _, files in os.walk(base):
        for f in files:
            if f.endswith(".h"):
                out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


def parse_header(root, rel):
    """Yield dicts: name, kind (extern|inline|macro), rettype, header, comment."""
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        lines = f.read().split("\n")
    funcs = []
    comment = None          # text of the comment that applies, or None
    in_comment = False
    cur_comment = []
    depth = 0               # brace depth outside extern "C"
    decl = []               # accumulated declaration text at depth 0
    cplusplus = 0           # inside #ifdef __cplusplus
    pp_cont = False         # preprocessor line continued with backslash
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        blank = line.strip() == ""
        if pp_cont:
            pp_cont = line.rstrip().endswith("\\")
            continue
        if in_comment:
            end = line.find("*/")
            if end < 0:
                cur_comment.append(line)
                continue
            cur_comment.append(line[:end])
            in_comment = False
            if depth == 0 and not decl:
                comment = "\n".join(cur_comment)
            line = line[end + 2:]
        stripped = line.strip()
        if stripped == "":
            if blank and depth == 0 and not decl:
                comment = None
            continue
        if stripped.startswith("#"):
            pp_cont = stripped.endswith("\\")
            if re.match(r"#\s*ifdef\s+__cplusplus", stripped):
                cplusplus += 1
            elif cplusplus and re.match(r"#\s*endif", stripped):
                cplusplus -= 1
            m = re.match(r"#\s*define\s+(virtq_[a-z0-9_]+)\(", stripped)
            if m and depth == 0:
                funcs.append(dict(name=m.group(1), kind="macro", rettype="",
                                  header=rel, comment=comment or ""))
            continue
        if cplusplus:
            continue
        # strip comments inside the line (keep a leading one as the comment)
        while True:
            s = line.find("/*")
            if s < 0:
                break
            e = line.find("*/", s + 2)
            if e < 0:
                cur_comment = [line[s + 2:]]
                in_comment = True
                line = line[:s]
                break
            text = line[s + 2:e]
            if depth == 0 and not decl and line[:s].strip() == "":
                comment = text
            line = line[:s] + " " + line[e + 2:]
        line = re.sub(r"//.*", "", line)
        for ch in line:
            if depth == 0:
                if not decl and ch.isspace():
                    continue
                decl.append(ch)
                if ch == ";":
                    _decl(funcs, "".join(decl), rel, comment)
                    decl = []
                elif ch == "{":
                    text = "".join(decl)
                    _decl(funcs, text, rel, comment)
                    decl = []
                    depth = 1
            else:
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        decl = []
        if depth == 0 and decl:
            decl.append(" ")
    return funcs


DECL_RE = re.compile(r"^(?P<pre>(?:static\s+|inline\s+|extern\s+|__attribute__\s*\(\(.*?\)\)\s*)*)"
                     r"(?P<ret>[A-Za-z_][\w\s\*]*?[\s\*])(?P<name>virtq_\w+)\s*\(", re.S)


def _decl(funcs, text, rel, comment):
    text = " ".join(text.split())
    if text.startswith("}"):
        text = text[1:].strip()
    m = DECL_RE.match(text)
    if not m:
        return
    ret = " ".join(m.group("ret").replace("*", " * ").split())
    kind = "inline" if "inline" in m.group("pre") else "extern"
    funcs.append(dict(name=m.group("name"), kind=kind, rettype=ret,
                      header=rel, comment=comment or ""))


def api(root):
    seen = {}
    for h in headers(root):
        for f in parse_header(root, h):
            if f["name"].startswith("__"):
                continue
            if f["name"] in seen:   # the same inline under #if / #else
                continue
            f["errnos"] = errnos_in(f["comment"])
            f["checks_errnos"] = f["kind"] != "macro" and f["rettype"] in ERRNO_TYPES
            seen[f["name"]] = f
    return [seen[n] for n in sorted(seen)]


def main(argv):
    root = "."
    if len(argv) > 2 and argv[1] == "--root":
        root = argv[2]
        argv = argv[:1] + argv[3:]
    what = argv[1] if len(argv) > 1 else "functions"
    fs = api(root)
    if what == "json":
        json.dump(fs, sys.stdout, indent=1)
        print()
    else:
        for f in fs:
            print(f["name"], f["kind"], f["header"], f["rettype"].replace(" ", "_"),
                  ",".join(f["errnos"]) if f["checks_errnos"] else "-")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
