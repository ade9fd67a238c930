#!/usr/bin/env bash
# man-errno: every public function of include/virtq/ (tests/lib/api.py) has
# a section 3 page (its own, or a .so link to the page that documents it),
# that page's NAME lists it and its SYNOPSIS shows it with its header, and
# the errno names the page's ERRORS section gives for it are exactly the
# ones its header comment gives (-ENAME words).  Each problem is one line
# naming the function and the page.  man/README has the rules.
set -u
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "python3 missing (scripts/install-deps docs)"; exit 77; }
exec python3 - <<'PY'
import re, sys
sys.path.insert(0, "tests/lib")
import api, manpages

bad = []
funcs = {f["name"]: f for f in api.api(".")}
man3 = manpages.pages(".", 3)


def resolve(name):
    """The page documenting @name: (page, None) or (None, problem)."""
    p = man3.get((name, "3"))
    if p is None:
        return None, "no page"
    seen = set()
    while p.link:
        if p.path in seen:
            return None, f"{p.path}: .so loop"
        seen.add(p.path)
        m = re.fullmatch(r"man3/(.+)\.3", p.link)
        if not m or (m.group(1), "3") not in man3:
            return None, f"{p.path}: .so {p.link}: no such page in man/"
        p = man3[(m.group(1), "3")]
    return p, None


def scoped_errnos(page, fname):
    """Errno names ERRORS gives for @fname: text before the first .SS counts
    for every function of the page; a .SS heading names the functions the
    text under it is for."""
    found = set()
    in_scope = True
    for line in page.sections.get("ERRORS", []):
        if line.startswith(".SS"):
            in_scope = fname in re.findall(r"virtq_\w+", manpages.clean(line))
            continue
        if in_scope:
            found |= set(api.errnos_in(manpages.clean(line), dash=False))
    return sorted(found)


documented = set()
for name, f in sorted(funcs.items()):
    where = f"{name} ({f['header']})"
    page, why = resolve(name)
    if page is None:
        bad.append(f"{where}: {why}: add man/man3/{name}.3 (a page whose NAME lists it, "
                   f"or '.so man3/PAGE.3' to one; man/links.sh makes the links)")
        continue
    documented.add(page.path)
    if name not in page.names():
        bad.append(f"{where}: {page.path}: NAME does not list it")
    syn = "\n".join(page.sections.get("SYNOPSIS", []))
    if not re.search(r"\b" + name + r"\b", manpages.clean(syn)):
        bad.append(f"{where}: {page.path}: SYNOPSIS does not show it")
    inc = f["header"].replace("include/", "", 1)
    if f"<{inc}>" not in manpages.clean(syn):
        bad.append(f"{where}: {page.path}: SYNOPSIS lacks #include <{inc}>")
    if not f["checks_errnos"]:
        continue
    want = f["errnos"]
    got = scoped_errnos(page, name)
    if want != got:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        msg = []
        if missing:
            msg.append("ERRORS lacks " + " ".join(missing))
        if extra:
            msg.append("ERRORS has " + " ".join(extra) + " (not in the header comment)")
        bad.append(f"{where}: {page.path}: {'; '.join(msg)}; header comment: "
                   f"{' '.join(want) or 'none'}")

for (name, sec), p in sorted(man3.items()):
    if p.link:
        continue
    for n in p.names():
        if n.startswith("virtq_") and n not in funcs:
            bad.append(f"{p.path}: NAME lists {n}, which no header in include/virtq/ declares")
        elif n.startswith("virtq_") and (n, "3") not in man3:
            bad.append(f"{p.path}: NAME lists {n} but man/man3/{n}.3 is missing (man/links.sh)")

for b in bad:
    print("FAIL:", b)
checked = sum(1 for f in funcs.values() if f["checks_errnos"])
print(f"{len(funcs)} public functions, {len(documented)} section 3 pages, "
      f"{checked} errno lists compared; {len(bad)} problem(s)")
sys.exit(1 if bad else 0)
PY
