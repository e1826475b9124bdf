/* container.c - a process's PID namespace view and cgroup, container ids, and
 * the processes of a cgroup. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include "model/container.h"

int container__ns_pid(const char *status, pid_t *out)
{
	const char *line = status;

	while (line && *line) {
		const char *end = strchr(line, '\n');

		if (!strncmp(line, "NSpid:", 6)) {
			const char *p = line + 6, *last = NULL;
			long v;
			char *e;

			/* fields are tab-separated numbers: keep the last */
			while (p < (end ? end : p + strlen(p))) {
				while (*p == ' ' || *p == '\t')
					p++;
				if (*p < '0' || *p > '9')
					break;
				last = p;
				while (*p >= '0' && *p <= '9')
					p++;
			}
			if (!last)
				return -1;
			errno = 0;
			v = strtol(last, &e, 10);
			if (errno || v <= 0 || v > INT_MAX)
				return -1;
			*out = (pid_t)v;
			return 0;
		}
		line = end ? end + 1 : NULL;
	}
	return -1;
}

int container__cgroup(const char *text, char *out, size_t len)
{
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);

		if (n >= 3 && !strncmp(line, "0::", 3)) {
			n -= 3;
			if (!n || n >= len)
				return -1;
			memcpy(out, line + 3, n);
			out[n] = 0;
			return 0;
		}
		line = end ? end + 1 : NULL;
	}
	return -1;
}

static int is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int container__id(const char *cgroup, char *out, size_t len)
{
	static const char *const scopes[] = { "docker-", "cri-containerd-", "crio-", "libpod-" };
	const char *c = cgroup, *found = NULL;

	if (len)
		out[0] = 0;
	/* the innermost match: /kubepods/.../pod<uid>/<id>, libpod-<id>.scope/container */
	while (c && *c) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);

		if (n > 6 && !strncmp(c + n - 6, ".scope", 6)) {
			for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
				size_t pl = strlen(scopes[i]);

				if (n - 6 > pl && !strncmp(c, scopes[i], pl) && is_hex64(c + pl, n - 6 - pl))
					found = c + pl;
			}
		} else if (is_hex64(c, n)) {
			found = c;
		}
		c = end ? end + 1 : NULL;
	}
	if (!found || len < 65)
		return 0;
	memcpy(out, found, 64);
	out[64] = 0;
	return 1;
}

/* A field of /proc/self/mounts with its octal escapes (\040 for a space) undone. */
static size_t unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
		    s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			out[o++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = 0;
	return o;
}

int container__cgroup2_mount(const char *mounts, char *out, size_t len)
{
	const char *line = mounts;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		const char *f[3];
		size_t fl[3];
		const char *p = line;
		int k;

		for (k = 0; k < 3; k++) {
			while (p < (end ? end : p + strlen(p)) && *p == ' ')
				p++;
			f[k] = p;
			while (*p && *p != ' ' && *p != '\n')
				p++;
			fl[k] = (size_t)(p - f[k]);
			if (!fl[k])
				break;
		}
		if (k == 3 && fl[2] == 7 && !strncmp(f[2], "cgroup2", 7) && fl[1] < len) {
			unescape(f[1], fl[1], out, len);
			return 0;
		}
		line = end ? end + 1 : NULL;
	}
	return -1;
}

/* The whole of a small /proc or cgroup file, NUL-terminated; its length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)got < len - 1 && (n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return got;
}

void container__read(pid_t pid, struct fs_container *c)
{
	char path[64], buf[8192];

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small(path, buf, sizeof(buf)) > 0 && container__ns_pid(buf, &c->ns_pid))
		c->ns_pid = 0;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (read_small(path, buf, sizeof(buf)) > 0 && !container__cgroup(buf, c->cgroup, sizeof(c->cgroup)))
		container__id(c->cgroup, c->id, sizeof(c->id));
	else
		c->cgroup[0] = 0;
}

static int cgroup2_mount(char *out, size_t len)
{
	char *buf = malloc(1 << 20);
	int r = -1;

	if (buf && read_small("/proc/self/mounts", buf, 1 << 20) > 0)
		r = container__cgroup2_mount(buf, out, len);
	free(buf);
	return r;
}

/* 1 if dir is (in) a cgroup2 file system, 0 if in cgroup v1, -1 neither. */
static int cgroup_kind(const char *dir)
{
	struct statfs sf;

	if (statfs(dir, &sf))
		return -1;
	if (sf.f_type == CGROUP2_SUPER_MAGIC)
		return 1;
	return sf.f_type == CGROUP_SUPER_MAGIC ? 0 : -1;
}

int container__cgroup_dir(const char *arg, char *dir, size_t dirlen, char *path, size_t pathlen,
			  char *err, size_t errlen)
{
	char mnt[PATH_MAX], rel[PATH_MAX];
	struct stat sb;
	int have_mnt = !cgroup2_mount(mnt, sizeof(mnt)), kind;
	size_t ml;

	/* a directory of a cgroup file system, as given */
	if (arg[0] == '/' && !stat(arg, &sb) && S_ISDIR(sb.st_mode) && (kind = cgroup_kind(arg)) >= 0) {
		if (!kind) {
			snprintf(err, errlen, "--cgroup %s: not cgroup v2 (a cgroup v1 hierarchy)%s%s", arg,
				 have_mnt ? "; the cgroup2 file system is at " : "", have_mnt ? mnt : "");
			return -1;
		}
		if (!realpath(arg, dir) || strlen(dir) >= dirlen || !have_mnt) {
			snprintf(err, errlen, "--cgroup %s: cannot find it under the cgroup2 mount", arg);
			return -1;
		}
		ml = strlen(mnt);
		if (strncmp(dir, mnt, ml) || (dir[ml] && dir[ml] != '/')) {
			snprintf(err, errlen, "--cgroup %s: not under the cgroup2 mount %s", arg, mnt);
			return -1;
		}
		snprintf(path, pathlen, "%s", dir[ml] ? dir + ml : "/");
		return 0;
	}
	if (!have_mnt) {
		snprintf(err, errlen, "--cgroup %s: no cgroup v2 file system is mounted (cgroup v1 only): "
			 "--cgroup needs cgroup v2", arg);
		return -1;
	}
	/* a path relative to the cgroup2 mount ("/system.slice/x.service" as
	 * /proc/PID/cgroup names it, or without the leading '/') */
	snprintf(rel, sizeof(rel), "%s%s", arg[0] == '/' ? "" : "/", arg);
	if ((size_t)snprintf(dir, dirlen, "%s%s", mnt, strcmp(rel, "/") ? rel : "") >= dirlen) {
		snprintf(err, errlen, "--cgroup %s: path too long", arg);
		return -1;
	}
	if (stat(dir, &sb) || !S_ISDIR(sb.st_mode) || cgroup_kind(dir) != 1) {
		snprintf(err, errlen, "--cgroup %s: no such cgroup (no directory %s)", arg, dir);
		return -1;
	}
	snprintf(path, pathlen, "%s", rel);
	return 0;
}

static int add_procs(const char *dir, pid_t **pids, int *n, int *cap, int depth)
{
	char path[PATH_MAX], *buf, *p;
	struct dirent *e;
	ssize_t len;
	DIR *d;

	if (depth > 64)	/* the kernel's own nesting is bounded; stay so */
		return 0;
	buf = malloc(1 << 20);
	if (!buf)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	len = read_small(path, buf, 1 << 20);
	if (len < 0) {
		free(buf);
		return (int)len;
	}
	for (p = buf; *p;) {
		char *e2;
		long v = strtol(p, &e2, 10);

		if (e2 == p)
			break;
		p = e2 + (*e2 == '\n');
		if (v <= 0 || v > INT_MAX)
			continue;
		if (*n == *cap) {
			int nc = *cap ? *cap * 2 : 64;
			pid_t *np = realloc(*pids, sizeof(**pids) * (size_t)nc);

			if (!np) {
				free(buf);
				return -ENOMEM;
			}
			*pids = np;
			*cap = nc;
		}
		(*pids)[(*n)++] = (pid_t)v;
	}
	free(buf);
	d = opendir(dir);
	if (!d)
		return 0;	/* removed meanwhile: its processes were read, or it had none */
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (add_procs(path, pids, n, cap, depth + 1) == -ENOMEM) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	return 0;
}

int container__cgroup_procs(const char *dir, pid_t **pids, int *n, int *cap)
{
	return add_procs(dir, pids, n, cap, 0);
}
