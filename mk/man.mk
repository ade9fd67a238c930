# Manual pages (man/README).  make install puts them in $(MANDIR).
#
#   make check-man   the page checks alone (they also run in make check):
#                    lint (mandoc, man --warnings), every public function
#                    and tool documented, errno lists as in the headers,
#                    exported symbols as in src/libvirtq.map
#   make man-links   (re)write the .so links for every name a page lists

.PHONY: check-man man-links

check-man: lib tools
	@fail=0; for t in man-lint man-errno man-tools abi-symbols; do \
		echo "== $$t"; B=$(B) SAN=$(SAN) bash tests/$$t.sh || fail=1; \
	done; exit $$fail

man-links:
	@man/links.sh
