/* session.c - spike for issue 14's sampled mode (bench only, nothing of fragscope
 * uses it): attaches at exactly the floor's probe sites (bench/floor.c, the same
 * plan from user/plan/resolve.c) one uprobe SESSION program per file over the
 * allocating functions, whose entry lets 1 call in N per thread run its return
 * half, and plain entry probes on the releasing functions; then runs the command.
 *
 *   session [-v] [-N PERIOD] [--entry-only] [--no-free] -- CMD [ARGS]
 * -N PERIOD     1 allocating call in PERIOD per thread runs its return half
 *               (default 64; 1 = every call, the floor's shape with a session)
 * --entry-only  the lower bound instead: an empty plain uprobe_multi entry probe
 *               on every planned function, allocating or releasing, no return
 * --no-free     no probe on the releasing functions (what a sampled mode that
 *               finds its blocks' releases some other way would pay)
 *
 * On exit it prints what the programs counted and checks the skip:
 *   SESSION entries=E sampled=S returns=R always=A always_ret=B bad_cookie=C frees=F
 *   SESSION_CHECK ok|FAIL (why)
 * and exits 3 on FAIL (the command's status otherwise).
 *
 * The recipe, with libbpf 1.1.2 (no API for sessions): the program is SEC("uprobe")
 * (BPF_PROG_TYPE_KPROBE); bpf_program__set_expected_attach_type(prog, 57) before
 * load (BPF_TRACE_UPROBE_SESSION; the verifier then allows the session kfuncs and
 * checks that the program returns 0 or 1); the link is a raw BPF_LINK_CREATE of
 * the uprobe_multi layout with attach_type 57 and multi_flags 0. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "session.h"
#include "session.skel.h"
#include "util/log.h"
#include "plan/resolve.h"
#include "trace/umulti.h"

extern char **environ;

static int libbpf_quiet(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	return lvl == LIBBPF_WARN || fs_verbose >= 3 ? vfprintf(stderr, fmt, ap) : 0;
}

static int find_exe(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char *copy, *d, *save = NULL;
	int r = -ENOENT;

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return access(out, X_OK) ? -errno : 0;
	}
	copy = strdup(path ? path : "/usr/bin:/bin");
	for (d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, name);
		if (!access(out, X_OK)) {
			r = 0;
			break;
		}
	}
	free(copy);
	return r;
}

static int usage(void)
{
	fprintf(stderr, "usage: session [-v] [-N PERIOD] [--entry-only] [--no-free] -- CMD [ARGS]\n");
	return 2;
}

/* Sums the per-CPU slots and checks that the return half ran exactly for the
 * sampled calls, and for 1 in period of the others (+ at most one per thread:
 * a thread's first call is sampled). 0 if it did. */
static int report(const struct session_bpf *skel, unsigned period, int entry_only)
{
	unsigned long long e = 0, s = 0, r = 0, a = 0, b = 0, c = 0, f = 0, lo;
	const char *why = NULL;

	for (int i = 0; i < (int)(sizeof(skel->bss->counts) / sizeof(skel->bss->counts[0])); i++) {
		e += skel->bss->counts[i].entries;
		s += skel->bss->counts[i].sampled;
		r += skel->bss->counts[i].returns;
		a += skel->bss->counts[i].always;
		b += skel->bss->counts[i].always_ret;
		c += skel->bss->counts[i].bad_cookie;
		f += skel->bss->counts[i].frees;
	}
	fprintf(stderr, "SESSION period=%u entries=%llu sampled=%llu returns=%llu always=%llu always_ret=%llu bad_cookie=%llu frees=%llu\n",
		period, e, s, r, a, b, c, f);
	if (entry_only)
		return 0;
	lo = e / period;
	if (!e)
		why = "no entry counted";
	else if (r != s)
		why = "returns != sampled entries";
	else if (b != a)
		why = "a syscall wrapper's return was skipped";
	else if (c)
		why = "a return half saw another call's cookie";
	else if (s < lo || s > lo + 64)
		why = "sampled is not entries/period (+ at most one per thread)";
	fprintf(stderr, "SESSION_CHECK %s%s%s\n", why ? "FAIL (" : "ok", why ? why : "", why ? ")" : "");
	return why ? -1 : 0;
}

int main(int argc, char **argv)
{
	int mfds[FS_MAX_FUNCS * 2], nmfds = 0, entry_only = 0, no_free = 0;
	struct session_bpf *skel = NULL;
	struct fs_plan *plan = NULL;
	char path[PATH_MAX], err[512] = "";
	int gate[2] = { -1, -1 }, status = 0, ret = 1, nalloc, i;
	unsigned period = 64;
	pid_t pid = -1;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--entry-only")) {
			entry_only = 1;
		} else if (!strcmp(argv[i], "--no-free")) {
			no_free = 1;
		} else if (!strcmp(argv[i], "-N") && i + 1 < argc) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);

			if (*end || !v || v > 1u << 30)
				return usage();
			period = (unsigned)v;
		} else if (argv[i][1] == 'v') {
			fs_verbose += (int)strlen(argv[i] + 1);
		} else {
			return usage();
		}
	}
	if (i >= argc)
		return usage();
	libbpf_set_print(libbpf_quiet);
	plan = calloc(1, sizeof(*plan));
	if (!plan || find_exe(argv[i], path, sizeof(path))) {
		fprintf(stderr, "session: %s: command not found\n", argv[i]);
		goto cleanup;
	}
	if (resolve__cmd(NULL, path, environ, plan, err, sizeof(err))) {
		fprintf(stderr, "session: %s\n", err);
		goto cleanup;
	}
	/* libc's memory-syscall wrappers, as the floor probes them (entry + return):
	 * here session probes whose attach cookie says "always run the return". */
	nalloc = plan->nprobes;
	for (int k = 0; k < plan->nsys && plan->nprobes < FS_MAX_FUNCS; k++) {
		plan->probes[plan->nprobes] = plan->sys[k];
		plan->probes[plan->nprobes++].kind = FS_K_MALLOC;
	}
	if (pipe2(gate, O_CLOEXEC)) {
		perror("session: pipe");
		goto cleanup;
	}
	pid = fork();
	if (pid < 0) {
		perror("session: fork");
		goto cleanup;
	}
	if (pid == 0) {
		char go;

		close(gate[1]);
		if (read(gate[0], &go, 1) != 1)
			_exit(127);
		execv(path, argv + i);
		perror("session: exec");
		_exit(127);
	}
	close(gate[0]);
	gate[0] = -1;

	skel = session_bpf__open();
	if (!skel) {
		fprintf(stderr, "session: open BPF object: %s\n", strerror(errno));
		goto cleanup;
	}
	skel->rodata->period = period;
	bpf_program__set_expected_attach_type(skel->progs.session_alloc, FS_ATTACH_UPROBE_SESSION);
	bpf_program__set_expected_attach_type(skel->progs.session_free, FS_ATTACH_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(skel->progs.entry_only, FS_ATTACH_UPROBE_MULTI);
	if (session_bpf__load(skel)) {
		fprintf(stderr, "session: load BPF programs: %s (rerun with -vvv for the verifier's log)\n",
			strerror(errno));
		goto cleanup;
	}
	/* One link per file and program, as the floor: kind 0 the releases (entry),
	 * kind 1 the allocating functions (session). */
	for (int kind = no_free; kind < 2; kind++) {
		struct bpf_program *prog = entry_only ? skel->progs.entry_only
					 : kind == 0 ? skel->progs.session_free : skel->progs.session_alloc;

		for (int k = 0; k < plan->nprobes; k++) {
			uint64_t offs[FS_MAX_FUNCS], cookies[FS_MAX_FUNCS];
			int n = 0, seen = 0, fd;

			if ((plan->probes[k].kind == FS_K_FREE) != (kind == 0))
				continue;
			for (int q = 0; q < k; q++)
				seen |= (plan->probes[q].kind == FS_K_FREE) == (kind == 0) &&
					!strcmp(plan->probes[q].path, plan->probes[k].path);
			if (seen)
				continue;
			for (int q = k; q < plan->nprobes; q++) {
				const struct fs_probe *p = &plan->probes[q];

				if ((p->kind == FS_K_FREE) != (kind == 0) || strcmp(p->path, plan->probes[k].path))
					continue;
				cookies[n] = q >= nalloc ? SESSION_ALWAYS : 0;
				offs[n++] = p->sym_off + p->place;
				fs_info("attached %-36s %s+0x%llx+%u%s", p->name, p->path,
					(unsigned long long)p->sym_off, p->place,
					entry_only || kind == 0 ? "" : q >= nalloc ? " [session, always]" : " [session]");
			}
			if (entry_only || kind == 0)
				fd = umulti__attach(bpf_program__fd(prog), plan->probes[k].path, offs, NULL, n, 0, pid);
			else
				fd = umulti__attach_as(FS_ATTACH_UPROBE_SESSION, bpf_program__fd(prog), plan->probes[k].path, offs,
						      cookies, n, 0, pid);
			if (fd < 0) {
				fprintf(stderr, "session: attach %sin %s: %s\n",
					entry_only || kind == 0 ? "" : "a uprobe session (BPF_LINK_CREATE, attach type 57) ",
					plan->probes[k].path, strerror(-fd));
				goto cleanup;
			}
			mfds[nmfds++] = fd;
		}
	}
	if (write(gate[1], "g", 1) != 1) {
		perror("session: start");
		goto cleanup;
	}
	close(gate[1]);
	gate[1] = -1;
	if (waitpid(pid, &status, 0) == pid)
		pid = -1;
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (report(skel, period, entry_only) && !ret)
		ret = 3;
cleanup:
	if (pid > 0) {	/* never released, or we failed: it must not run untraced */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	while (nmfds > 0)
		close(mfds[--nmfds]);
	session_bpf__destroy(skel);
	for (int k = 0; k < 2; k++)
		if (gate[k] >= 0)
			close(gate[k]);
	free(plan);
	return ret;
}
