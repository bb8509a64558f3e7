// SPDX-License-Identifier: GPL-2.0
/*
 * ltwork: the workloads the VM test runs inside the guest to trigger each tracker.
 * One static binary with subcommands keeps the initramfs small:
 *   ltwork sleep N USEC     N nanosleeps (timer wakeups, context switches, syscalls)
 *   ltwork pipe N           N ping-pong round trips between two processes over pipes;
 *                           prints "pipe rounds=N ns_per_round=X" (the benchmark figure)
 *   ltwork tcp N            a TCP server and client on 127.0.0.1, N request/reply
 *                           exchanges (loopback receive, skb copies, accept→write)
 *   ltwork disk DEV N       N O_DIRECT 4 KiB writes and reads on a block device
 *   ltwork syscalls N       N cheap syscalls and a few slow ones
 *   ltwork udp N            N datagrams on 127.0.0.1, 2 ms apart, to a process named
 *                           udp-reader that recvfrom()s each and writes a byte to
 *                           /dev/null (the chain trackers' loopback path)
 *   ltwork cancel N         N rounds of getppid, getuid (odd rounds only), getppid,
 *                           getpid: begin, cancel, begin again, end (test/vm/cancel.ts)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int do_sleep(int n, long usec)
{
	struct timespec ts = { usec / 1000000, (usec % 1000000) * 1000 };

	for (int i = 0; i < n; i++)
		nanosleep(&ts, NULL);
	printf("sleep n=%d usec=%ld pid=%d\n", n, usec, getpid());
	return 0;
}

static int do_pipe(int n)
{
	int ping[2], pong[2];
	char byte = 0;
	long long start;
	pid_t child;

	if (pipe(ping) || pipe(pong))
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		close(ping[1]);
		close(pong[0]);
		while (read(ping[0], &byte, 1) == 1)
			if (write(pong[1], &byte, 1) != 1)
				break;
		_exit(0);
	}
	start = now_ns();
	for (int i = 0; i < n; i++) {
		if (write(ping[1], &byte, 1) != 1 || read(pong[0], &byte, 1) != 1)
			die("ping-pong");
	}
	printf("pipe rounds=%d ns_per_round=%lld\n", n, (now_ns() - start) / n);
	close(ping[1]);
	waitpid(child, NULL, 0);
	return 0;
}

static int tcp_listen(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr->sin_port = 0;
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) || listen(fd, 16))
		die("bind/listen");
	getsockname(fd, (struct sockaddr *)addr, &len);
	return fd;
}

/* The server accepts each connection, reads a request, waits a little, then replies. */
static void tcp_server(int listener, int n)
{
	char buf[256];
	struct timespec think = { 0, 2000000 };

	for (int i = 0; i < n; i++) {
		int conn = accept(listener, NULL, NULL);

		if (conn < 0)
			die("accept");
		if (read(conn, buf, sizeof(buf)) <= 0)
			die("server read");
		nanosleep(&think, NULL);
		if (write(conn, "HTTP/1.0 200 OK\r\n\r\nhello\n", 25) != 25)
			die("server write");
		close(conn);
	}
}

static int do_tcp(int n)
{
	struct sockaddr_in addr;
	int listener = tcp_listen(&addr);
	long long start = now_ns();
	pid_t server = fork();
	char buf[256];

	if (server < 0)
		die("fork");
	if (server == 0) {
		tcp_server(listener, n);
		_exit(0);
	}
	close(listener);
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
			die("connect");
		if (write(fd, "GET / HTTP/1.0\r\n\r\n", 18) != 18)
			die("client write");
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
	waitpid(server, NULL, 0);
	printf("tcp exchanges=%d ns_per_exchange=%lld pid=%d server_pid=%d\n", n,
	       (now_ns() - start) / n, getpid(), server);
	return 0;
}

static int do_disk(const char *dev, int n)
{
	void *buf;
	int fd = open(dev, O_RDWR | O_DIRECT);

	if (fd < 0)
		die(dev);
	if (posix_memalign(&buf, 4096, 4096))
		die("posix_memalign");
	memset(buf, 0x5a, 4096);
	for (int i = 0; i < n; i++) {
		off_t off = (off_t)(i % 256) * 4096;

		if (pwrite(fd, buf, 4096, off) != 4096 || pread(fd, buf, 4096, off) != 4096)
			die("disk I/O");
	}
	fsync(fd);
	close(fd);
	printf("disk ios=%d pid=%d\n", 2 * n, getpid());
	return 0;
}

static int do_syscalls(int n)
{
	struct timespec slow = { 0, 5000000 };

	for (int i = 0; i < n; i++)
		getppid();
	for (int i = 0; i < 5; i++)
		nanosleep(&slow, NULL);
	printf("syscalls n=%d slow=5 pid=%d\n", n, getpid());
	return 0;
}

static void udp_reader(int sock, int n)
{
	int null = open("/dev/null", O_WRONLY);
	char buf[64];

	prctl(PR_SET_NAME, "udp-reader", 0, 0, 0);
	for (int i = 0; i < n; i++) {
		if (recvfrom(sock, buf, sizeof(buf), 0, NULL, NULL) < 0)
			die("recvfrom");
		if (write(null, buf, 1) != 1)
			die("write");
	}
}

static int do_udp(int n)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct timespec gap = { 0, 2000000 };
	socklen_t len = sizeof(addr);
	int sock = socket(AF_INET, SOCK_DGRAM, 0);
	pid_t reader;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (sock < 0 || bind(sock, (struct sockaddr *)&addr, sizeof(addr)) ||
	    getsockname(sock, (struct sockaddr *)&addr, &len))
		die("udp socket");
	reader = fork();
	if (reader < 0)
		die("fork");
	if (reader == 0) {
		udp_reader(sock, n);
		_exit(0);
	}
	nanosleep(&gap, NULL);	/* the reader blocks in recvfrom first */
	for (int i = 0; i < n; i++) {
		if (sendto(sock, "x", 1, 0, (struct sockaddr *)&addr, sizeof(addr)) != 1)
			die("sendto");
		nanosleep(&gap, NULL);
	}
	waitpid(reader, NULL, 0);
	printf("udp datagrams=%d pid=%d reader_pid=%d\n", n, getpid(), reader);
	return 0;
}

/* Direct syscalls: the sequence is the test's, whatever libc caches. */
static int do_cancel(int n)
{
	for (int i = 0; i < n; i++) {
		syscall(SYS_getppid);
		if (i % 2)
			syscall(SYS_getuid);
		syscall(SYS_getppid);
		syscall(SYS_getpid);
	}
	printf("cancel rounds=%d pid=%d\n", n, getpid());
	return 0;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	int n = argc > 2 ? atoi(argv[2]) : 100;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(what, "sleep"))
		return do_sleep(n, argc > 3 ? atol(argv[3]) : 1000);
	if (!strcmp(what, "pipe"))
		return do_pipe(n);
	if (!strcmp(what, "tcp"))
		return do_tcp(n);
	if (!strcmp(what, "disk") && argc > 3)
		return do_disk(argv[2], atoi(argv[3]));
	if (!strcmp(what, "syscalls"))
		return do_syscalls(n);
	if (!strcmp(what, "cancel"))
		return do_cancel(n);
	if (!strcmp(what, "udp"))
		return do_udp(n);
	fprintf(stderr, "usage: ltwork sleep|pipe|tcp|syscalls|cancel|udp N | disk DEV N\n");
	return 2;
}
