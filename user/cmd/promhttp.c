/* promhttp.c - the /metrics endpoint of `top --prometheus`, on libmicrohttpd (its
 * internal thread answers scrapes; the text it sends is a copy taken under the
 * lock, so a sample never waits for a slow scraper longer than one memcpy). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd/promhttp.h"
#include "out/prom.h"
#include "util/common.h"
#include "util/log.h"
#include "util/parse.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct promhttp {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	char *text;
	size_t len;
	unsigned port;
};

int promhttp__parse(const char *opt, const char *arg, struct sockaddr_storage *out)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
	const char *colon = strrchr(arg, ':'), *h = arg;
	size_t hlen;
	char host[64];
	uint64_t port;

	memset(out, 0, sizeof(*out));
	if (!colon) {
		fs_err("%s '%s': give ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:9464", opt, arg);
		return EXIT_USAGE;
	}
	hlen = (size_t)(colon - arg);
	if (*arg == '[') {	/* [IPv6]:PORT */
		if (hlen < 2 || arg[hlen - 1] != ']') {
			fs_err("%s '%s': an IPv6 address goes in brackets, e.g. [::1]:9464", opt, arg);
			return EXIT_USAGE;
		}
		h = arg + 1;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		fs_err("%s '%s': the address is too long", opt, arg);
		return EXIT_USAGE;
	}
	memcpy(host, h, hlen);
	host[hlen] = 0;
	if (parse__uint(colon + 1, &port) || port > 65535) {
		fs_err("%s '%s': the port must be a number from 0 to 65535", opt, arg);
		return EXIT_USAGE;
	}
	if (!*host || !strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (h != arg) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1)
			return 0;
		fs_err("%s '%s': '%s' is not an IPv6 address", opt, arg, host);
		return EXIT_USAGE;
	}
	v4->sin_family = AF_INET;
	v4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &v4->sin_addr) != 1) {
		fs_err("%s '%s': '%s' is not an IPv4 address (IPv6 goes in brackets: [::1]:PORT)", opt, arg, host);
		return EXIT_USAGE;
	}
	return 0;
}

int promhttp__loopback(const struct sockaddr_storage *a)
{
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)a;

	if (a->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) ||
	       (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && v6->sin6_addr.s6_addr[12] == 127);
}

void promhttp__name(const struct sockaddr_storage *a, unsigned port, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (a->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, port);
	}
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type, const char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_len, void **con_cls)
{
	static const char notfound[] = "fragscope serves /metrics only\n";
	static const char badmethod[] = "GET /metrics\n";
	struct promhttp *s = cls;
	enum MHD_Result ret;

	(void)version;
	(void)upload;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", badmethod, strlen(badmethod));
	if (*upload_len)
		return MHD_NO;
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", notfound, strlen(notfound));
	pthread_mutex_lock(&s->lock);
	ret = reply(c, MHD_HTTP_OK, PROM_CONTENT_TYPE, s->text ? s->text : "", s->text ? s->len : 0);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

struct promhttp *promhttp__start(const struct sockaddr_storage *a, char *err, size_t errlen)
{
	struct promhttp *s = calloc(1, sizeof(*s));
	const union MHD_DaemonInfo *info;
	unsigned port = ntohs(a->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port
						      : ((const struct sockaddr_in *)a)->sin_port);
	char name[INET6_ADDRSTRLEN + 16];

	promhttp__name(a, port, name, sizeof(name));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	errno = 0;
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
					(a->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, answer, s,
				MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)a, MHD_OPTION_CONNECTION_LIMIT, 64u,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!s->d) {
		snprintf(err, errlen, "cannot serve /metrics on %s: %s", name,
			 errno ? strerror(errno) : "libmicrohttpd could not start");
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	return s;
}

unsigned promhttp__port(const struct promhttp *s)
{
	return s->port;
}

void promhttp__set(struct promhttp *s, char *text, size_t len)
{
	char *old;

	pthread_mutex_lock(&s->lock);
	old = s->text;
	s->text = text;
	s->len = len;
	pthread_mutex_unlock(&s->lock);
	free(old);
}

void promhttp__stop(struct promhttp *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->lock);
	free(s->text);
	free(s);
}
