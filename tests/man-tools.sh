#!/usr/bin/env bash
# man-tools: every tool (tools/*.c) has a section 1 page, and every option
# its --help prints and its getopt_long table defines appears in the page's
# SYNOPSIS or OPTIONS (long and short forms).  virtq-blk's page shows the
# QEMU command line that attaches it.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
command -v python3 >/dev/null || { echo "python3 missing (scripts/install-deps docs)"; exit 77; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
check=$(cat <<'PY'
import re, sys
sys.path.insert(0, "tests/lib")
import manpages

tool, src, page = sys.argv[1:4]
help_text = open(sys.argv[4]).read()
p = manpages.Page(page)
# Option words as the page writes them (\-\-read\-only -> --read-only).
text = "\n".join(p.sections.get("SYNOPSIS", []) + p.sections.get("OPTIONS", []))
text = text.replace("\\-", "-")
text = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", text)
have = set(re.findall(r"(?<![\w-])(--?[A-Za-z0-9][\w-]*)", text))

want = {}
for o in re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", help_text):
    want.setdefault(o, "--help")
for o in re.findall(r"(?m)^\s*(-[A-Za-z0-9]),\s+--", help_text):
    want.setdefault(o, "--help")
code = open(src).read()
for o in re.findall(r'\{\s*"([a-z0-9][a-z0-9-]*)"\s*,\s*(?:required_argument|no_argument|optional_argument|[012])', code):
    want.setdefault("--" + o, "getopt_long table")

bad = [f"{tool}: {o} (from {why}) is not in {page} (SYNOPSIS or OPTIONS)"
       for o, why in sorted(want.items()) if o not in have]
if tool == "virtq-blk" and "vhost-user-blk-pci" not in p.src.replace("\\-", "-"):
    bad.append(f"{tool}: {page} does not show the QEMU command line (vhost-user-blk-pci)")
for b in bad:
    print("FAIL:", b)
print(f"{tool}: {len(want)} options, {page}: {len(bad)} missing")
sys.exit(1 if bad else 0)
PY
)
bad=0
n=0
for src in tools/*.c; do
	[ -f "$src" ] || continue
	tool=$(basename "$src" .c)
	bin=$B/bin/$tool
	page=man/man1/$tool.1
	n=$((n + 1))
	if [ ! -f "$page" ]; then
		echo "FAIL: $tool: no manual page: add $page (man/README)"
		bad=1
		continue
	fi
	if [ ! -x "$bin" ]; then
		echo "FAIL: $tool: $bin not built (make tools)"
		bad=1
		continue
	fi
	help=$("$bin" --help 2>&1)
	rc=$?
	[ $rc -eq 0 ] || { echo "FAIL: $tool --help: exit $rc"; bad=1; }
	printf '%s\n' "$help" >"$tmp"
	python3 -c "$check" "$tool" "$src" "$page" "$tmp" || bad=1
done
echo "$n tools checked"
exit $bad
