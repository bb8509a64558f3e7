// SPDX-License-Identifier: GPL-2.0
/*
 * The end-to-end workload of bench/chain.ts: a UDP request/response server on loopback
 * (a forked process named rr-server) answering N requests of one client, one at a time.
 * Prints the client's wall time for the N round trips and the time both processes were on
 * a CPU meanwhile (the scheduler's sum_exec_runtime, /proc/self/schedstat: exact, and blind
 * to other work on the machine), in nanoseconds: "WALL CPU".
 *
 * Usage: chain-rr [N]   (default 10000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* ns this thread has run on a CPU, or -1 */
static long on_cpu_ns(void)
{
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	long ns = -1;

	if (f) {
		if (fscanf(f, "%ld", &ns) != 1)
			ns = -1;
		fclose(f);
	}
	return ns;
}

/* Answers n requests, then writes its own on-CPU time (from the first request) to report. */
static int serve(int sock, long n, int report)
{
	struct sockaddr_in from;
	long start = 0, ran;
	char buf[64];

	prctl(PR_SET_NAME, "rr-server");
	for (long i = 0; i < n; i++) {
		socklen_t len = sizeof(from);
		ssize_t got = recvfrom(sock, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

		if (i == 0)
			start = on_cpu_ns();
		if (got < 0 || sendto(sock, buf, got, 0, (struct sockaddr *)&from, len) < 0)
			return 1;
	}
	ran = on_cpu_ns() - start;
	return write(report, &ran, sizeof(ran)) == sizeof(ran) ? 0 : 1;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000;
	struct sockaddr_in to = { .sin_family = AF_INET };
	socklen_t len = sizeof(to);
	int server = socket(AF_INET, SOCK_DGRAM, 0);
	int client = socket(AF_INET, SOCK_DGRAM, 0);
	struct timespec t0, t1;
	long cpu0, cpu1, server_ns = 0;
	int report[2];
	char buf[64];
	pid_t child;

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (server < 0 || client < 0 || bind(server, (struct sockaddr *)&to, sizeof(to)) ||
	    getsockname(server, (struct sockaddr *)&to, &len) || pipe(report)) {
		perror("chain-rr: socket");
		return 1;
	}
	child = fork();
	if (child == 0)
		return serve(server, n, report[1]);
	cpu0 = on_cpu_ns();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		if (sendto(client, &i, sizeof(i), 0, (struct sockaddr *)&to, sizeof(to)) < 0 ||
		    recv(client, buf, sizeof(buf), 0) < 0) {
			perror("chain-rr: round trip");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cpu1 = on_cpu_ns();
	if (read(report[0], &server_ns, sizeof(server_ns)) != sizeof(server_ns)) {
		perror("chain-rr: server report");
		return 1;
	}
	waitpid(child, NULL, 0);
	printf("%ld %ld\n", (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec),
	       cpu1 - cpu0 + server_ns);
	return 0;
}
