// SPDX-License-Identifier: GPL-2.0
/*
 * The memcached workload of bench/chain.ts (the original's end-to-end comparison): a client
 * on loopback TCP asking a running memcached for one stored key, N times, one request at a
 * time. Prints the client's wall time for the N round trips and the time the client and
 * every thread of the server were on a CPU meanwhile (the scheduler's sum_exec_runtime,
 * /proc/.../schedstat: exact, and blind to other work on the machine), in nanoseconds:
 * "WALL CPU".
 *
 * Usage: chain-mc PORT SERVER_PID [N]   (default 10000)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* ns the thread whose schedstat file is `path` has run on a CPU, or -1 */
static long on_cpu_ns(const char *path)
{
	FILE *f = fopen(path, "r");
	long ns = -1;

	if (f) {
		if (fscanf(f, "%ld", &ns) != 1)
			ns = -1;
		fclose(f);
	}
	return ns;
}

/* ns every thread of process `pid` has run on a CPU */
static long process_on_cpu_ns(long pid)
{
	char path[64], file[64 + 256 + 16]; /* d_name: 256 */
	struct dirent *e;
	long sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		long ns;

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s/schedstat", path, e->d_name);
		ns = on_cpu_ns(file);
		if (ns > 0)
			sum += ns;
	}
	closedir(d);
	return sum;
}

/* Sends `req`, reads until the reply ends with `end`: 0, or -1 */
static int round_trip(int sock, const char *req, const char *end)
{
	size_t n = strlen(end), have = 0;
	char buf[256];

	if (write(sock, req, strlen(req)) != (ssize_t)strlen(req))
		return -1;
	while (have < n || memcmp(buf + have - n, end, n) != 0) {
		ssize_t got = read(sock, buf + have, sizeof(buf) - have);

		if (got <= 0)
			return -1;
		have += got;
		if (have == sizeof(buf))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	long server = argc > 2 ? atol(argv[2]) : 0;
	long n = argc > 3 ? atol(argv[3]) : 10000;
	int sock = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	struct timespec t0, t1;
	long cpu0, cpu1;

	if (argc < 3) {
		fprintf(stderr, "usage: chain-mc PORT SERVER_PID [N]\n");
		return 2;
	}
	to.sin_port = htons(atoi(argv[1]));
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (sock < 0 || setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    connect(sock, (struct sockaddr *)&to, sizeof(to)) ||
	    round_trip(sock, "set k 0 0 5\r\nhello\r\n", "STORED\r\n")) {
		perror("chain-mc: connect");
		return 1;
	}
	cpu0 = on_cpu_ns("/proc/thread-self/schedstat") + process_on_cpu_ns(server);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		if (round_trip(sock, "get k\r\n", "END\r\n")) {
			perror("chain-mc: round trip");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cpu1 = on_cpu_ns("/proc/thread-self/schedstat") + process_on_cpu_ns(server);
	close(sock);
	printf("%ld %ld\n", (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec),
	       cpu1 - cpu0);
	return 0;
}
