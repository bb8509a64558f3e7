// SPDX-License-Identifier: GPL-2.0
/*
 * ltread: the guest-side hit reader (the guest has no node). Reads whole struct lt_hit
 * records from a module's device file with poll() and prints each as one console line
 * "ltsh-hit <hex bytes>"; the host decodes them with the same code as the kmod session.
 *   ltread DEVICE RECORD_SIZE IDLE_MS [MAX_PRINT]
 * Stops when no record arrives for IDLE_MS, or after 20 * IDLE_MS in all (a tracker that
 * sees the reader's own wakeups never goes idle), and prints "ltsh-read records=N"; prints
 * at most MAX_PRINT records (default: all) but counts every one.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 16];
	struct pollfd pfd;
	long records = 0, max_print = -1;
	long long deadline;
	int size, idle_ms;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: ltread DEVICE RECORD_SIZE IDLE_MS [MAX_PRINT]\n");
		return 2;
	}
	size = atoi(argv[2]);
	idle_ms = atoi(argv[3]);
	if (argc == 5)
		max_print = atol(argv[4]);
	if (size <= 0 || size > (int)sizeof(buf))
		return 2;
	pfd.fd = open(argv[1], O_RDONLY | O_NONBLOCK);
	if (pfd.fd < 0) {
		perror(argv[1]);
		return 1;
	}
	pfd.events = POLLIN;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	deadline = now_ms() + 20LL * idle_ms;
	while (now_ms() < deadline && poll(&pfd, 1, idle_ms) > 0) {
		ssize_t got = read(pfd.fd, buf, sizeof(buf) / size * size);

		if (got <= 0)
			continue;
		for (ssize_t off = 0; off + size <= got; off += size) {
			if (max_print >= 0 && records >= max_print) {
				records++;
				continue;
			}
			fputs("ltsh-hit ", stdout);
			for (int i = 0; i < size; i++)
				printf("%02x", buf[off + i]);
			putchar('\n');
			records++;
		}
	}
	printf("ltsh-read records=%ld\n", records);
	return 0;
}
