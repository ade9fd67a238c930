#!/bin/sh
# man/links.sh: make man/man3/NAME.3 a '.so man3/PAGE.3' link for every
# NAME a page lists besides its own, and remove link files whose target no
# longer lists them.  Run from anywhere; idempotent.
set -eu
cd "$(dirname "$0")/man3"
for p in *.3; do
	[ -f "$p" ] || continue
	if [ "$(grep -cv '^\.\\"' "$p")" = 1 ] && grep -q '^\.so ' "$p"; then
		target=$(sed -n 's|^\.so man3/||p' "$p")
		name=${p%.3}
		if [ ! -f "$target" ] ||
		   ! sed -n '/^\.SH NAME/,/^\.SH/p' "$target" | grep -qw -- "$name"; then
			echo "links.sh: removing stale link $p"
			rm -f "$p"
		fi
	fi
done
for p in *.3; do
	[ -f "$p" ] || continue
	grep -q '^\.so ' "$p" && continue
	page=${p%.3}
	for n in $(sed -n '/^\.SH NAME/,/^\.SH [^N]/p' "$p" | sed -n '2,/\\-/p' |
		   sed 's/\\-.*//; s/[ ,]/ /g'); do
		[ "$n" = "$page" ] && continue
		case $n in virtq_*) ;; *) continue ;; esac
		want=".so man3/$page.3"
		if [ ! -f "$n.3" ] || [ "$(cat "$n.3")" != "$want" ]; then
			printf '%s\n' "$want" >"$n.3"
			echo "links.sh: $n.3 -> $page.3"
		fi
	done
done
