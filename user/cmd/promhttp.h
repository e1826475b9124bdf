/* promhttp.h - `top --prometheus`: /metrics served by libmicrohttpd from its own
 * thread; the sampling loop swaps in the latest text after each sample. */
#ifndef FS_PROMHTTP_H
#define FS_PROMHTTP_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/types.h>

struct promhttp;

/* ADDR:PORT: an IPv4 address, "localhost" or nothing (127.0.0.1), or an IPv6
 * address in brackets ([::1]:9464); port 0: one the kernel picks. 0, or
 * EXIT_USAGE after one line saying why. */
int promhttp__parse(const char *opt, const char *arg, struct sockaddr_storage *out);
/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
int promhttp__loopback(const struct sockaddr_storage *a);
/* "127.0.0.1:9464" or "[::1]:9464", for messages and URLs. */
void promhttp__name(const struct sockaddr_storage *a, unsigned port, char *out, size_t len);
/* Listens on a and serves from a thread of its own. NULL with the cause in err. */
struct promhttp *promhttp__start(const struct sockaddr_storage *a, char *err, size_t errlen);
/* The port it listens on (the kernel's pick for port 0). */
unsigned promhttp__port(const struct promhttp *s);
/* Replaces the text served (taken over: freed by the server). */
void promhttp__set(struct promhttp *s, char *text, size_t len);
/* Stops serving and frees; NULL-safe. */
void promhttp__stop(struct promhttp *s);

#endif
