#!/usr/bin/env bash
# man-lint: every manual page in man/ renders without a warning from
# mandoc -T lint -W warning and from man --warnings -l (groff, as man-db
# renders installed pages); .so links point at a page in man/; .TH names
# the file and its section; each section has its required .SH sections;
# every libvirtq page named in a page (name(N) in bold) exists.  A .so
# link renders as its target: the target is what gets rendered and linted.
# .TH carries the Makefile's VERSION ("libvirtq 1.0.0").
set -u
cd "$(dirname "$0")/.."
if ! command -v mandoc >/dev/null || ! command -v man >/dev/null || ! command -v groff >/dev/null ||
   ! command -v python3 >/dev/null; then
	scripts/install-deps docs >&2 ||
		{ echo "mandoc / man-db / groff / python3 missing (scripts/install-deps docs)"; exit 77; }
fi
bad=0
n=0
cd man
for f in man[1-8]/*.[1-8]; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	if ! grep -qv '^\.so \|^\.\\"' "$f"; then
		# a link: its target must exist here (man-errno checks the NAME)
		t=$(sed -n 's/^\.so //p' "$f")
		[ -f "$t" ] || { echo "FAIL: man/$f: .so $t: no such page in man/"; bad=1; }
		continue	# renders as its target, checked on its own
	else
		out=$(mandoc -T lint -W warning "$f" 2>&1)
		[ -z "$out" ] || { echo "FAIL: man/$f: mandoc -T lint:"; echo "$out" | sed 's/^/    /'; bad=1; }
	fi
	# man-db resolves .so relative to the man directory: run from man/.
	out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null)
	[ -z "$out" ] || { echo "FAIL: man/$f: man --warnings -l:"; echo "$out" | sed 's/^/    /'; bad=1; }
done
cd ..
python3 - <<'PY' || bad=1
import os, re, sys
sys.path.insert(0, "tests/lib")
import manpages

REQUIRED = {
    "1": ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"],
    "3": ["NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"],
    "7": ["NAME", "DESCRIPTION", "SEE ALSO"],
}
bad = []
allp = manpages.pages(".")
version = re.search(r"(?m)^VERSION\s*:?=\s*(\S+)", open("Makefile").read()).group(1)
for d in sorted(os.listdir("man")):
    if os.path.isdir(os.path.join("man", d)) and d.startswith("man"):
        for f in sorted(os.listdir(os.path.join("man", d))):
            if (f.rsplit(".", 1)[0], d[3:]) not in allp:
                bad.append(f"man/{d}/{f}: not a manN/NAME.N page")
for (name, sec), p in sorted(allp.items()):
    if p.link:
        continue
    th = p.th.split() if p.th else []
    if len(th) < 3 or th[1] != name or th[2] != sec:
        bad.append(f"{p.path}: .TH must start '.TH {name} {sec}' (has: {p.th})")
    elif f'"libvirtq {version}"' not in p.th:
        bad.append(f"{p.path}: .TH does not say \"libvirtq {version}\" (the Makefile's VERSION); "
                   f"after a version change: sed -i 's/\"libvirtq [0-9.]*\"/\"libvirtq {version}\"/' man/man*/*.[1-8]")
    for s in REQUIRED.get(sec, ["NAME", "DESCRIPTION"]):
        if s not in p.sections:
            bad.append(f"{p.path}: no .SH {s}")
    if sec == "3" and re.search(r"\bE[A-Z0-9]{2,}\b", p.text("ERRORS") or "") is None \
            and "ERRORS" in p.sections and not p.text("ERRORS").strip():
        bad.append(f"{p.path}: empty ERRORS section")
    for m in re.finditer(r"^\.B[RI]?\s+\"?((?:lib)?virtq[\w\-\\]*)\"?\s+\((\d)\)", p.src, re.M):
        ref, rsec = m.group(1).replace("\\-", "-"), m.group(2)
        if (ref, rsec) not in allp:
            bad.append(f"{p.path}: refers to {ref}({rsec}), which is not in man/man{rsec}/")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
echo "$n pages checked"
exit $bad
