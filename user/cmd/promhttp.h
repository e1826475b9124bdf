/* promhttp.h - `top --prometheus`: /metrics served by libmicrohttpd from its own
 * thread; the sampling loop swaps in the latest text after each sample. */
#ifndef FS_PROMHTTP_H
#define FS_PROMHTTP_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/types.h>

struct promhttp;

/* ADDR:PORT (IPv4 or "localhost"; ":PORT" is 127.0.0.1; port 0: one the kernel
 * picks). 0, or EXIT_USAGE after one line saying why. */
int promhttp__parse(const char *opt, const char *arg, struct sockaddr_in *out);
/* 1 for 127.0.0.0/8. */
int promhttp__loopback(const struct sockaddr_in *a);
/* Listens on a and serves from a thread of its own. NULL with the cause in err. */
struct promhttp *promhttp__start(const struct sockaddr_in *a, char *err, size_t errlen);
/* The port it listens on (the kernel's pick for port 0). */
unsigned promhttp__port(const struct promhttp *s);
/* Replaces the text served (taken over: freed by the server). */
void promhttp__set(struct promhttp *s, char *text, size_t len);
/* Stops serving and frees; NULL-safe. */
void promhttp__stop(struct promhttp *s);

#endif
