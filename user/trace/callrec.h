/* callrec.h - record --trace's reader: drains the calls ring on an interval (the
 * kernel side submits without wake-ups, and wakes it only when the ring is half
 * full), encodes and compresses the calls in chunks (out/trace_file.h) on its own
 * thread; the command's thread writes the finished chunks into the session. */
#ifndef FS_CALLREC_H
#define FS_CALLREC_H

#include <stdint.h>

struct callrec;
struct session;
struct tracer;

#define CALLREC_POLL_MS 5	/* how often the ring is drained */

/* Starts draining tr's calls ring. NULL with the cause in err. */
struct callrec *callrec__start(struct tracer *tr, char *err, size_t errlen);
/* Drains what is left and stops the thread (after the probes are gone, or the
 * process has exited); the chunk in progress is finished. Idempotent. */
void callrec__stop(struct callrec *c);
/* Writes the chunks finished so far into s; with final, also every thread's calls
 * and losses and the trace's metadata. 0, or -errno with the cause said. */
int callrec__flush(struct callrec *c, struct session *s, int final);
/* Calls recorded and lost so far. */
void callrec__counts(const struct callrec *c, uint64_t *calls, uint64_t *lost, uint64_t *bytes);
void callrec__free(struct callrec *c);

#endif
