#!/usr/bin/env bash
# abi-symbols: the symbols libvirtq.so exports are exactly the extern
# functions the headers in include/virtq/ declare, each listed once in
# src/libvirtq.map and exported with that version node, and the library's
# SONAME is libvirtq.so.<VERSION_MAJOR>.  Each mismatch is one line naming
# the symbol and what to do (a new function goes into a new version node:
# abi/README).
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
if [ -n "${SAN:-}" ]; then
	echo "sanitizer build ($SAN) has no shared library: checked in the plain build"
	exit 77
fi
major=$(sed -n 's/^VERSION_MAJOR[[:space:]]*:*=[[:space:]]*//p' Makefile)
so=$B/libvirtq.so.$major
[ -e "$so" ] || { echo "$so not built (make lib)"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing (scripts/install-deps docs)"; exit 77; }
command -v readelf >/dev/null || { echo "readelf missing (binutils)"; exit 77; }

readelf --dyn-syms -W "$so" >"$B/abi-symbols.dynsym" || exit 1
readelf -d -W "$so" >"$B/abi-symbols.dynamic" || exit 1
exec python3 - "$so" "$major" "$B/abi-symbols.dynsym" "$B/abi-symbols.dynamic" <<'PY'
import re, sys
sys.path.insert(0, "tests/lib")
import api

so, major, dynsym, dynamic = sys.argv[1:5]
bad = []

# Declared: extern functions in the headers (inline and macros are not symbols).
declared = {f["name"]: f["header"] for f in api.api(".") if f["kind"] == "extern"}

# The version script: node -> globals.
text = re.sub(r"/\*.*?\*/", " ", open("src/libvirtq.map").read(), flags=re.S)
text = re.sub(r"#.*", "", text)
mapped = {}
nodes = []
for m in re.finditer(r"([A-Za-z_][\w.]*)\s*\{(.*?)\}\s*([\w.]*)\s*;", text, re.S):
    node, body, parent = m.group(1), m.group(2), m.group(3)
    nodes.append(node)
    if parent and parent not in nodes:
        bad.append(f"src/libvirtq.map: node {node} inherits {parent}, which is not defined before it")
    scope = "global"
    for tok in re.findall(r"[^\s;]+:|[^\s;]+", body):
        if tok.endswith(":"):
            scope = tok[:-1]
            continue
        if scope != "global":
            continue
        if any(c in tok for c in "*?["):
            bad.append(f"src/libvirtq.map: pattern '{tok}' in {node}: list each symbol by name")
            continue
        if tok in mapped:
            bad.append(f"src/libvirtq.map: {tok} is listed in {mapped[tok]} and again in {node}")
            continue
        mapped[tok] = node

# Exported: defined global symbols of the library and their versions.
exported = {}
for line in open(dynsym):
    f = line.split()
    if len(f) < 8 or not f[0].endswith(":"):
        continue
    typ, bind, ndx, name = f[3], f[4], f[6], f[7]
    if ndx == "UND" or bind not in ("GLOBAL", "WEAK"):
        continue
    sym, _, ver = name.partition("@")
    ver = ver.lstrip("@")
    if typ == "OBJECT" and ndx == "ABS" and sym in nodes:
        continue        # the version node's own marker symbol
    exported[sym] = ver

for name in sorted(declared):
    if name not in mapped:
        bad.append(f"{name} ({declared[name]}): not in src/libvirtq.map; "
                   f"add it to a new version node (abi/README), then make")
for name in sorted(mapped):
    if name not in declared:
        bad.append(f"{name}: listed in src/libvirtq.map ({mapped[name]}) but no header in include/virtq/ declares it")
for name in sorted(exported):
    if name not in mapped:
        bad.append(f"{name}: exported by {so} but not in src/libvirtq.map")
    elif exported[name] != mapped[name]:
        bad.append(f"{name}: exported as version '{exported[name]}', src/libvirtq.map puts it in {mapped[name]}")
for name in sorted(mapped):
    if name in declared and name not in exported:
        bad.append(f"{name}: in src/libvirtq.map and declared, but {so} does not define it")

soname = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", open(dynamic).read())
want = f"libvirtq.so.{major}"
if not soname or soname.group(1) != want:
    bad.append(f"{so}: SONAME {soname.group(1) if soname else 'missing'}, expected {want}")

for b in bad:
    print("FAIL:", b)
print(f"{len(exported)} symbols exported, {len(mapped)} in src/libvirtq.map "
      f"({', '.join(nodes)}), {len(declared)} extern functions declared; "
      f"{len(bad)} problem(s)")
sys.exit(1 if bad else 0)
PY
