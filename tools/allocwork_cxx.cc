// allocwork_cxx.cc - C++ allocations with a known tally: new/delete (sized, as
// -fsized-deallocation emits), new[]/delete[], aligned and nothrow new, so the
// operators an allocator exports are all exercised. No iostreams in the measured part.
// live_usable: the sum of malloc_usable_size of the kept blocks.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <new>
#include <string>
#include <thread>
#include <vector>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

struct Small { char b[40]; };
struct Big { char b[3000]; };
struct alignas(64) Aligned { char b[192]; };

struct Tally { uint64_t allocs = 0, frees = 0, bytes_allocated = 0, bytes_freed = 0, live_count = 0, live_bytes = 0, live_usable = 0; };

static void work(long rounds, int keep, Tally *t, void **kept, size_t *nkept)
{
	for (long i = 0; i < rounds; i++) {
		bool k = keep && i % keep == 0;
		switch (i % 5) {
		case 0: {
			Small *p = new Small;	// _Znwm(40), sized delete _ZdlPvm
			p->b[0] = 1;
			t->allocs++; t->bytes_allocated += sizeof(Small);
			if (k) { kept[(*nkept)++] = p; t->live_count++; t->live_bytes += sizeof(Small); t->live_usable += malloc_usable_size(p); }
			else { delete p; t->frees++; t->bytes_freed += sizeof(Small); }
			break;
		}
		case 1: {
			Big *p = new Big;	// _Znwm(3000)
			p->b[0] = 1;
			t->allocs++; t->bytes_allocated += sizeof(Big);
			if (k) { kept[(*nkept)++] = p; t->live_count++; t->live_bytes += sizeof(Big); t->live_usable += malloc_usable_size(p); }
			else { delete p; t->frees++; t->bytes_freed += sizeof(Big); }
			break;
		}
		case 2: {
			char *p = new char[500];	// _Znam(500), delete[] -> _ZdaPv
			p[0] = 1;
			t->allocs++; t->bytes_allocated += 500;
			if (k) { kept[(*nkept)++] = p; t->live_count++; t->live_bytes += 500; t->live_usable += malloc_usable_size(p); }
			else { delete[] p; t->frees++; t->bytes_freed += 500; }
			break;
		}
		case 3: {
			Aligned *p = new Aligned;	// _ZnwmSt11align_val_t, sized aligned delete
			p->b[0] = 1;
			t->allocs++; t->bytes_allocated += sizeof(Aligned);
			if (k) { kept[(*nkept)++] = p; t->live_count++; t->live_bytes += sizeof(Aligned); t->live_usable += malloc_usable_size(p); }
			else { delete p; t->frees++; t->bytes_freed += sizeof(Aligned); }
			break;
		}
		case 4: {
			Small *p = new (std::nothrow) Small;	// _ZnwmRKSt9nothrow_t
			if (!p) abort();
			p->b[0] = 1;
			t->allocs++; t->bytes_allocated += sizeof(Small);
			// unsized delete through a void* operator call -> _ZdlPv
			if (k) { kept[(*nkept)++] = p; t->live_count++; t->live_bytes += sizeof(Small); t->live_usable += malloc_usable_size(p); }
			else { ::operator delete(static_cast<void *>(p)); t->frees++; t->bytes_freed += sizeof(Small); }
			break;
		}
		}
	}
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 1000;
	int nthreads = argc > 2 ? atoi(argv[2]) : 1;
	int keep = argc > 3 ? atoi(argv[3]) : 0;
	const char *tally_path = argc > 4 ? argv[4] : nullptr;
	if (nthreads < 1 || nthreads > 64) return 2;

	Tally t[64];
	void **kept[64];
	size_t nkept[64] = {};
	size_t cap = keep ? (size_t)(rounds / keep + 1) : 1;
	for (int i = 0; i < nthreads; i++) {
		kept[i] = (void **)mmap(nullptr, cap * sizeof(void *), PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (kept[i] == MAP_FAILED) return 3;
	}
	if (nthreads == 1) {
		work(rounds, keep, &t[0], kept[0], &nkept[0]);
	} else {
		std::thread *th = static_cast<std::thread *>(mmap(nullptr, sizeof(std::thread) * 64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		for (int i = 0; i < nthreads; i++)
			new (&th[i]) std::thread(work, rounds, keep, &t[i], kept[i], &nkept[i]);
		for (int i = 0; i < nthreads; i++)
			th[i].join();
	}
	Tally s;
	for (int i = 0; i < nthreads; i++) {
		s.allocs += t[i].allocs; s.frees += t[i].frees;
		s.bytes_allocated += t[i].bytes_allocated; s.bytes_freed += t[i].bytes_freed;
		s.live_count += t[i].live_count; s.live_bytes += t[i].live_bytes; s.live_usable += t[i].live_usable;
	}
	char buf[640];
	int n = snprintf(buf, sizeof(buf),
			 "{\"allocs\": %lu, \"frees\": %lu, \"bytes_allocated\": %lu, \"bytes_freed\": %lu, "
			 "\"failed_allocs\": 0, \"free_null\": 0, \"frees_unknown\": 0, \"live_count\": %lu, \"live_bytes\": %lu, \"live_usable\": %lu}\n",
			 (unsigned long)s.allocs, (unsigned long)s.frees, (unsigned long)s.bytes_allocated,
			 (unsigned long)s.bytes_freed, (unsigned long)s.live_count, (unsigned long)s.live_bytes, (unsigned long)s.live_usable);
	int fd = tally_path ? open(tally_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : 2;
	if (write(fd, buf, (size_t)n) != n) return 3;
	return 0;
}
