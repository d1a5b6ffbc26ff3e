// A bounded TCP load generator for pipetrace's memory under floods
// (bench/flood.sh, Tests/ProbeTests/FloodTests.swift): an HTTP/1.1 server,
// and clients that open N connections and hold them, or churn through N
// short ones. Every count and time is bounded by its arguments.
//
//   flood server PORT...                       answer each request with a 2-byte 200, until killed
//   flood hold HOST PORTS N SECONDS            open N connections (one request each), hold them SECONDS, close
//   flood churn HOST PORTS N SECONDS           N short connections (connect, request, response, RST close),
//                                              256 at a time, stopping after SECONDS whatever the count
// PORTS is a comma-separated list the connections take in turn (one client
// address has ~64k ports per server port). Clients print one JSON line.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char request[] = "GET /flood HTTP/1.1\r\nHost: flood\r\n\r\n";
static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void raise_fd_limit(void)
{
	struct rlimit r = {1 << 20, 1 << 20};
	if (setrlimit(RLIMIT_NOFILE, &r) != 0) {
		getrlimit(RLIMIT_NOFILE, &r);
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

static int server(int argc, char **argv)
{
	int ep = epoll_create1(0);
	for (int i = 0; i < argc; i++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[i]))};
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 65535)) {
			perror("flood server");
			return 1;
		}
		struct epoll_event e = {.events = EPOLLIN, .data.u64 = (uint64_t)s << 1 | 1};
		epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
	}
	printf("{\"ready\":true}\n");
	fflush(stdout);
	struct epoll_event events[256];
	char buffer[4096];
	for (;;) {
		int n = epoll_wait(ep, events, 256, -1);
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.u64 >> 1;
			if (events[i].data.u64 & 1) {
				int c;
				while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t)c << 1};
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
				}
				continue;
			}
			ssize_t got = read(fd, buffer, sizeof(buffer));
			if (got <= 0) {
				close(fd);
				continue;
			}
			if (memmem(buffer, got, "\r\n\r\n", 4) && write(fd, response, sizeof(response) - 1) < 0) {
				close(fd);
			}
		}
	}
}

enum { CONNECTING, WAITING, HELD };

static int client(const char *host, char *ports_text, long total, double seconds, int hold)
{
	int ports[64], port_count = 0;
	for (char *p = strtok(ports_text, ","); p && port_count < 64; p = strtok(NULL, ","))
		ports[port_count++] = atoi(p);
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, host, &a.sin_addr);
	int ep = epoll_create1(0), concurrency = hold ? 1024 : 256;
	long started = 0, done = 0, failed = 0, in_flight = 0;
	int *held = hold ? calloc(total, sizeof(int)) : NULL;
	double begin = now(), deadline = begin + seconds;
	struct epoll_event events[256];
	char buffer[512];
	while ((started < total || in_flight > 0) && now() < deadline) {
		while (started < total && in_flight < concurrency) {
			int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (s < 0) {
				failed++, started++;
				continue;
			}
			a.sin_port = htons(ports[started % port_count]);
			started++;
			if (connect(s, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS) {
				close(s);
				failed++;
				continue;
			}
			struct epoll_event e = {.events = EPOLLOUT, .data.u64 = (uint64_t)s << 2 | CONNECTING};
			epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
			in_flight++;
		}
		int n = epoll_wait(ep, events, 256, 100);
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.u64 >> 2, state = events[i].data.u64 & 3, error = 0;
			socklen_t length = sizeof(error);
			if (state == CONNECTING) {
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
				if (error || write(fd, request, sizeof(request) - 1) < 0)
					goto fail;
				struct epoll_event e = {.events = EPOLLIN, .data.u64 = (uint64_t)fd << 2 | WAITING};
				epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
				continue;
			}
			if (read(fd, buffer, sizeof(buffer)) <= 0)
				goto fail;
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			in_flight--;
			if (hold) {
				held[done++] = fd;
			} else {
				struct linger reset = {1, 0}; /* RST: no TIME_WAIT left behind by a million closes */
				setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
				close(fd);
				done++;
			}
			continue;
		fail:
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			close(fd);
			in_flight--;
			failed++;
		}
	}
	double elapsed = now() - begin;
	if (hold) {
		printf("{\"open\":%ld,\"failed\":%ld,\"elapsed_s\":%.3f}\n", done, failed, elapsed);
		fflush(stdout);
		for (double until = now() + seconds; now() < until;)
			usleep(100000);
		for (long i = 0; i < done; i++)
			close(held[i]);
	} else {
		printf("{\"completed\":%ld,\"failed\":%ld,\"elapsed_s\":%.3f}\n", done, failed, elapsed);
	}
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (argc >= 3 && strcmp(argv[1], "server") == 0)
		return server(argc - 2, argv + 2);
	if (argc == 6 && (strcmp(argv[1], "hold") == 0 || strcmp(argv[1], "churn") == 0))
		return client(argv[2], argv[3], atol(argv[4]), atof(argv[5]), strcmp(argv[1], "hold") == 0);
	fprintf(stderr, "usage: flood server PORT... | flood hold|churn HOST PORTS N SECONDS\n");
	return 2;
}
