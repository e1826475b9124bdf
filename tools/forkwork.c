/* forkwork.c - a forking server in miniature, with allocations known in advance:
 * the parent keeps K blocks, forks W workers; each worker frees half of the blocks
 * it inherited, then makes R allocations of known sizes (every 4th kept live),
 * writes what it did to DIR/worker.PID (no stdio: the counts stay its own) and
 * exits; the parent waits for them all, frees its blocks and exits 0.
 *
 *   forkwork [--workers W] [--rounds R] [--keep K] [--dir DIR] [--wait]
 *
 * --wait: fork the workers only on SIGUSR1 (after writing DIR/ready with the PID),
 *         so a tracer can attach to the parent first.
 * In a worker: allocs R + 1, frees R - R/4 + K/2 (K/2 of them of inherited blocks), live R/4
 * blocks of sizes 100 + 8*i for i = 0, 4, 8, ... */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		_exit(3);
	if (write(fd, text, strlen(text)) < 0)
		_exit(3);
	close(fd);
}

static void worker(const char *dir, void **inherited, int keep, int rounds)
{
	void **mine = calloc((size_t)rounds + 1, sizeof(void *));	/* counted: one allocation */
	uint64_t bytes = (uint64_t)((size_t)rounds + 1) * sizeof(void *), live = 0, freed = 0;
	long nlive = 0;
	char name[64], text[512];

	for (int i = 0; i < keep; i += 2)
		free(inherited[i]);
	for (int i = 0; i < rounds; i++) {
		size_t sz = 100 + 8 * (size_t)i;

		mine[i] = malloc(sz);
		if (!mine[i])
			_exit(4);
		memset(mine[i], 1, sz);
		bytes += sz;
		if (i % 4) {
			free(mine[i]);
			freed += sz;
		} else {
			live += sz;
			nlive++;
		}
	}
	/* the index array stays live too */
	snprintf(name, sizeof(name), "worker.%d", (int)getpid());
	snprintf(text, sizeof(text),
		 "{\"allocs\": %d, \"frees\": %d, \"bytes_allocated\": %llu, \"bytes_freed\": %llu, "
		 "\"failed_allocs\": 0, \"free_null\": 0, \"frees_unknown\": %d, \"live_count\": %ld, "
		 "\"live_bytes\": %llu}\n",
		 rounds + 1, rounds - (int)nlive + (keep + 1) / 2, (unsigned long long)bytes, (unsigned long long)freed,
		 (keep + 1) / 2, nlive + 1, (unsigned long long)(live + ((size_t)rounds + 1) * sizeof(void *)));
	put(dir, name, text);
	_exit(0);
}

int main(int argc, char **argv)
{
	int workers = 2, rounds = 1000, keep = 64, wait_go = 0, status, bad = 0;
	const char *dir = ".";
	void **blocks;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--workers") && i + 1 < argc)
			workers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
			keep = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--wait"))
			wait_go = 1;
		else {
			fprintf(stderr, "usage: forkwork [--workers W] [--rounds R] [--keep K] [--dir DIR] [--wait]\n");
			return 2;
		}
	}
	blocks = calloc((size_t)keep + 1, sizeof(void *));
	for (int i = 0; i < keep; i++)
		blocks[i] = malloc(48);
	if (wait_go) {
		char text[32];
		sigset_t m, old;

		signal(SIGUSR1, on_usr1);
		sigemptyset(&m);
		sigaddset(&m, SIGUSR1);
		sigprocmask(SIG_BLOCK, &m, &old);
		snprintf(text, sizeof(text), "%d\n", (int)getpid());
		put(dir, "ready", text);
		while (!go)
			sigsuspend(&old);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	for (int w = 0; w < workers; w++) {
		pid_t p = fork();

		if (p < 0)
			return 1;
		if (p == 0)
			worker(dir, blocks, keep, rounds);
	}
	for (int w = 0; w < workers; w++)
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			bad = 1;
	for (int i = 0; i < keep; i++)
		free(blocks[i]);
	free(blocks);
	return bad;
}
