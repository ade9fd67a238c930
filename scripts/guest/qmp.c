// SPDX-License-Identifier: MIT
/*
 * qmp - send QMP commands to a QEMU and print each answer, for the
 * Linux-guest scripts (bash cannot talk to a unix socket).
 *
 *   qmp SOCKET 'COMMAND' [ARGUMENTS-JSON] ...
 *
 * Each COMMAND runs with its ARGUMENTS (a JSON object, may be omitted when
 * it is the last word or the next word is not an object).  One line per
 * command on stdout: the answer's "return" or "error" object as QEMU sent
 * it; events in between are skipped.  Exit 0 when every command returned,
 * 1 on an error answer, 2 when QEMU could not be reached or stopped
 * answering (10 s per answer).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char in[1 << 16];
static size_t have;

/* The next line from QEMU (without its newline), or NULL. */
static char *next_line(int fd)
{
	static size_t used;

	if (used) {
		memmove(in, in + used, have - used);
		have -= used;
		used = 0;
	}
	for (;;) {
		char *nl = memchr(in, '\n', have);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			*nl = 0;
			used = (size_t)(nl - in) + 1;
			return in;
		}
		if (have == sizeof(in) - 1 || poll(&p, 1, 10000) != 1)
			return NULL;
		n = read(fd, in + have, sizeof(in) - 1 - have);
		if (n <= 0)
			return NULL;
		have += (size_t)n;
	}
}

/* Send one command; print (if @show) and classify its answer. */
static int run(int fd, const char *cmd, const char *args, int show)
{
	char req[4096];
	int n = snprintf(req, sizeof(req), "{\"execute\": \"%s\"%s%s}\n", cmd,
			 args ? ", \"arguments\": " : "", args ? args : "");
	char *line;

	if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n)
		return 2;
	while ((line = next_line(fd))) {
		if (strstr(line, "\"event\""))
			continue;
		if (show) {
			printf("%s\n", line);
			fflush(stdout);
		}
		return strstr(line, "\"return\"") ? 0 : 1;
	}
	fprintf(stderr, "qmp: no answer to %s\n", cmd);
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc = 0;

	if (argc < 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: qmp SOCKET COMMAND [ARGUMENTS-JSON] ...\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "qmp: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (!next_line(fd) || run(fd, "qmp_capabilities", NULL, 0))	/* greeting */
		return 2;
	for (int i = 2; i < argc && rc < 2; i++) {
		const char *cmd = argv[i];
		const char *args = i + 1 < argc && argv[i + 1][0] == '{' ? argv[++i] : NULL;
		int r = run(fd, cmd, args, 1);

		if (r > rc)
			rc = r;
	}
	close(fd);
	return rc;
}
