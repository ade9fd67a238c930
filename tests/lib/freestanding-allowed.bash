# Sourced by tests/freestanding.sh and tests/cross/check-freestanding.sh:
# the one reader of tests/freestanding-allowed-symbols.
# Lines: SYMBOL TARGET-GLOB[,TARGET-GLOB...]  (# comments).
FREESTANDING_ALLOW=tests/freestanding-allowed-symbols

# freestanding_allowed TARGET SYMBOL: is SYMBOL allowed for TARGET?
freestanding_allowed() {
	local target=$1 sym=$2 s pats p pat
	[ -f "$FREESTANDING_ALLOW" ] || return 1
	while read -r s pats _; do
		[ "$s" = "$sym" ] || continue
		IFS=, read -ra p <<<"$pats"
		for pat in "${p[@]}"; do
			# shellcheck disable=SC2254
			case $target in $pat) return 0 ;; esac
		done
	done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$FREESTANDING_ALLOW")
	return 1
}
