/* rssanon.h - the workloads' own reading of their anonymous RSS (RssAnon in
 * /proc/self/status, bytes), with no allocation: the oracle the tests compare
 * fragscope's figures with. */
#ifndef FS_TOOLS_RSSANON_H
#define FS_TOOLS_RSSANON_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline uint64_t rss_anon(void)
{
	char buf[8192], *p;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strstr(buf, "RssAnon:");
	return p ? strtoull(p + 8, NULL, 10) * 1024 : 0;
}

#endif
