/* floor.c - bench-only loader: attaches EMPTY BPF programs to exactly the probes
 * fragscope would place for a command (same plan from user/resolve.c: same files,
 * same offsets, entry + return for allocating functions, entry for releases),
 * then runs the command, as `fragscope stat -- CMD` does.
 *
 *   floor [-v] [--stats] [--sys] -- CMD [ARGS]
 * --sys    the syscall tracepoints instead of libc's wrappers (as fragscope
 *          --sys-tracepoints)
 * --stats  on exit, print run_cnt and run_time_ns of each program on stderr
 *          (needs sysctl kernel.bpf_stats_enabled=1 to be non-zero) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "floor.skel.h"
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

static void print_stats(struct bpf_program *p)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return;
	fprintf(stderr, "FLOORSTAT prog=%s run_cnt=%llu run_time_ns=%llu ns_per_run=%.1f\n",
		bpf_program__name(p), (unsigned long long)info.run_cnt,
		(unsigned long long)info.run_time_ns,
		info.run_cnt ? (double)info.run_time_ns / (double)info.run_cnt : 0.0);
}

int main(int argc, char **argv)
{
	struct bpf_link *links[FS_MAX_FUNCS * 2 + 2];
	int mfds[FS_MAX_FUNCS * 2], nmfds = 0, multi = !getenv("FRAGSCOPE_NO_UPROBE_MULTI");
	struct floor_bpf *skel = NULL;
	struct fs_plan *plan = NULL;
	char path[PATH_MAX], err[512] = "";
	int gate[2] = { -1, -1 }, nlinks = 0, stats = 0, sys = 0, status = 0, ret = 1, i;
	pid_t pid = -1;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--sys")) {
			sys = 1;
		} else if (!strcmp(argv[i], "--stats")) {
			stats = 1;
		} else if (argv[i][1] == 'v') {
			fs_verbose += (int)strlen(argv[i] + 1);
		} else {
			fprintf(stderr, "usage: floor [-v] [--stats] [--sys] -- CMD [ARGS]\n");
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: floor [-v] [--stats] [--sys] -- CMD [ARGS]\n");
		return 2;
	}
	libbpf_set_print(libbpf_quiet);
	plan = calloc(1, sizeof(*plan));
	if (!plan || find_exe(argv[i], path, sizeof(path))) {
		fprintf(stderr, "floor: %s: command not found\n", argv[i]);
		goto cleanup;
	}
	if (resolve__cmd(NULL, path, environ, plan, err, sizeof(err))) {
		fprintf(stderr, "floor: %s\n", err);
		goto cleanup;
	}
	/* libc's memory-syscall wrappers, entry + return, as fragscope probes them (with
	 * --sys: the syscall tracepoints instead, as fragscope --sys-tracepoints). */
	for (int k = 0; !sys && k < plan->nsys && plan->nprobes < FS_MAX_FUNCS; k++) {
		plan->probes[plan->nprobes] = plan->sys[k];
		plan->probes[plan->nprobes++].kind = FS_K_MALLOC;
	}
	/* The child waits on the gate until every probe is attached, then execs. */
	if (pipe2(gate, O_CLOEXEC)) {
		perror("floor: pipe");
		goto cleanup;
	}
	pid = fork();
	if (pid < 0) {
		perror("floor: fork");
		goto cleanup;
	}
	if (pid == 0) {
		char go;

		close(gate[1]);
		if (read(gate[0], &go, 1) != 1)
			_exit(127);
		execv(path, argv + i);
		perror("floor: exec");
		_exit(127);
	}
	close(gate[0]);
	gate[0] = -1;

	/* The same links as fragscope: uprobe_multi, one per file and program (falling
	 * back, as it does, to one perf-event link per probe). */
	skel = floor_bpf__open();
	if (skel && multi) {
		bpf_program__set_expected_attach_type(skel->progs.floor_enter, FS_ATTACH_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(skel->progs.floor_exit, FS_ATTACH_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(skel->progs.floor_free, FS_ATTACH_UPROBE_MULTI);
	}
	if (!skel || floor_bpf__load(skel)) {
		fprintf(stderr, "floor: load BPF programs: %s\n", strerror(errno));
		goto cleanup;
	}
	for (int kind = 0; multi && kind < 3; kind++) {
		struct bpf_program *prog = kind == 0 ? skel->progs.floor_free
					 : kind == 1 ? skel->progs.floor_exit : skel->progs.floor_enter;

		for (int k = 0; k < plan->nprobes; k++) {
			uint64_t offs[FS_MAX_FUNCS];
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
				offs[n++] = p->sym_off + p->place;
				fs_info("attached %-36s %s+0x%llx+%u%s", p->name, p->path,
					(unsigned long long)p->sym_off, p->place, kind == 1 ? " [return]" : "");
			}
			fd = umulti__attach(bpf_program__fd(prog), plan->probes[k].path, offs, NULL, n, kind == 1, pid);
			if (fd < 0) {
				fprintf(stderr, "floor: attach in %s: %s\n", plan->probes[k].path, strerror(-fd));
				goto cleanup;
			}
			mfds[nmfds++] = fd;
		}
	}
	for (int k = 0; !multi && k < plan->nprobes; k++) {
		const struct fs_probe *p = &plan->probes[k];
		int is_free = p->kind == FS_K_FREE;

		for (int ret_probe = 0; ret_probe <= !is_free; ret_probe++) {
			LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = ret_probe);
			struct bpf_program *prog = is_free ? skel->progs.floor_free
					    : ret_probe ? skel->progs.floor_exit : skel->progs.floor_enter;
			struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, pid, p->path,
									     p->sym_off + p->place, &o);

			if (!l) {
				fprintf(stderr, "floor: attach %s%s in %s: %s\n", p->name,
					ret_probe ? " (return)" : "", p->path, strerror(errno));
				goto cleanup;
			}
			links[nlinks++] = l;
			fs_info("attached %-36s %s+0x%llx+%u%s", p->name, p->path,
				(unsigned long long)p->sym_off, p->place, ret_probe ? " [return]" : "");
		}
	}
	if (sys && (!(links[nlinks++] = bpf_program__attach(skel->progs.floor_sys_enter)) ||
		    !(links[nlinks++] = bpf_program__attach(skel->progs.floor_sys_exit)))) {
		nlinks--;
		fprintf(stderr, "floor: attach syscall tracepoints: %s\n", strerror(errno));
		goto cleanup;
	}
	if (write(gate[1], "g", 1) != 1) {
		perror("floor: start");
		goto cleanup;
	}
	close(gate[1]);
	gate[1] = -1;
	if (waitpid(pid, &status, 0) == pid)
		pid = -1;
	if (stats) {
		print_stats(skel->progs.floor_enter);
		print_stats(skel->progs.floor_exit);
		print_stats(skel->progs.floor_free);
	}
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
cleanup:
	if (pid > 0) {	/* never released, or we failed: it must not run untraced */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	while (nmfds > 0)
		close(mfds[--nmfds]);
	while (nlinks > 0)
		bpf_link__destroy(links[--nlinks]);
	floor_bpf__destroy(skel);
	for (int k = 0; k < 2; k++)
		if (gate[k] >= 0)
			close(gate[k]);
	free(plan);
	return ret;
}
