# fragscope - build, demo, test. `make V=1` prints the commands.
OUTPUT    ?= .output
CLANG     ?= clang
CC        ?= gcc
BPFTOOL   ?= bpftool
ARCH      := x86

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS    ?= -O2 -g
CPPFLAGS  := -D_GNU_SOURCE
WARN      := -Wall -Wextra -Werror -Wno-missing-field-initializers -Wno-format-truncation
DEPFLAGS  = -MMD -MP
INCLUDES  := -I$(OUTPUT) -I. -Iuser
LIBS      := -lbpf -ldw -lelf -lz -lzstd -lstdc++ -lncursesw -lsqlite3 -lmicrohttpd -lm -lprotobuf-c

# pprof's profile.proto as Debian ships it (golang-github-google-pprof-dev): its
# protobuf-c code is generated into $(OUTPUT)/proto, never committed.
PROFILE_PROTO ?= /usr/share/gocode/src/github.com/google/pprof/proto/profile.proto
PB_SRC    := $(OUTPUT)/proto/profile.pb-c.c
PB_HDR    := $(OUTPUT)/proto/profile.pb-c.h
PB_OBJ    := $(OUTPUT)/proto/profile.pb-c.o

# Layers are folders (user/README.md). The pure ones never include libbpf and are
# unit-tested without root; trace/ (libbpf) and cmd/ (commands, ncurses) are not.
PURE_DIRS := util elf alloc plan model out
PURE_SRCS := $(sort $(foreach d,$(PURE_DIRS),$(wildcard user/$(d)/*.c)))
APP_SRCS  := $(PURE_SRCS) $(sort $(wildcard user/trace/*.c user/cmd/*.c))
APP_OBJS  := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(APP_SRCS)) $(PB_OBJ)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
TOOLS     := $(OUTPUT)/tools/rpcwork $(OUTPUT)/tools/allocwork $(OUTPUT)/tools/allocwork-je $(OUTPUT)/tools/allocwork-cxx \
             $(OUTPUT)/tools/allocwork-cxx-je
TOOLS     += $(OUTPUT)/tools/ownheap $(OUTPUT)/tools/ownheap-static
TOOLS     += $(OUTPUT)/tools/heapwork
TOOLS     += $(OUTPUT)/tools/allocwork-nopie
TOOLS     += $(OUTPUT)/tools/jework $(OUTPUT)/tools/jework-static
TOOLS     += $(OUTPUT)/tools/mapwork $(OUTPUT)/tools/mapwork-je
TOOLS     += $(OUTPUT)/tools/forkwork $(OUTPUT)/tools/static-stripped
# tcmalloc's and mimalloc's workloads: tcmiwork finds their entry points with dlsym (any
# run, preloaded or linked); the linked builds only where the libraries are installed
# (tools/install-deps.sh installs them)
TOOLS     += $(OUTPUT)/tools/tcmiwork
HAVE_TC   := $(shell printf 'int main(void){return 0;}' | $(CC) -x c - -o /dev/null -ltcmalloc_minimal 2>/dev/null && echo y)
HAVE_MI   := $(shell printf 'int main(void){return 0;}' | $(CC) -x c - -o /dev/null -lmimalloc 2>/dev/null && echo y)
ifeq ($(HAVE_TC),y)
TOOLS     += $(OUTPUT)/tools/allocwork-tc $(OUTPUT)/tools/allocwork-cxx-tc $(OUTPUT)/tools/tcmiwork-tc \
             $(OUTPUT)/tools/allocwork-tc-static
endif
ifeq ($(HAVE_MI),y)
TOOLS     += $(OUTPUT)/tools/allocwork-mi $(OUTPUT)/tools/allocwork-cxx-mi $(OUTPUT)/tools/tcmiwork-mi
endif
TOOLS     += $(OUTPUT)/tools/tracework
FIXTURES  := $(OUTPUT)/fixtures/dyn $(OUTPUT)/fixtures/dyn-je $(OUTPUT)/fixtures/static \
             $(OUTPUT)/fixtures/static-stripped $(OUTPUT)/fixtures/libfakemalloc.so \
             $(OUTPUT)/fixtures/dyn-fake $(OUTPUT)/fixtures/static-je-prefix $(OUTPUT)/fixtures/dyn-tc \
             $(OUTPUT)/fixtures/dyn-hoard \
             $(OUTPUT)/fixtures/refused $(OUTPUT)/fixtures/nopie $(OUTPUT)/fixtures/stepped

VMLINUX   := vmlinux/vmlinux.h

.DELETE_ON_ERROR:
.PHONY: all clean demo test unit integration deps tools fixtures bench

all: fragscope fragscope-replay-child tools

deps:
	$(Q)tools/install-deps.sh

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tools $(OUTPUT)/fixtures $(OUTPUT)/unit:
	$(Q)mkdir -p $@

# vmlinux.h: regenerated from this kernel's BTF when bpftool can; the committed copy otherwise.
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)if [ -r /sys/kernel/btf/vmlinux ] && $(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp 2>/dev/null; \
	then mv $@.tmp $@; else rm -f $@.tmp; cp $(VMLINUX) $@; fi

$(OUTPUT)/fragscope.bpf.o: bpf/fragscope.bpf.c bpf/fragscope.h $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I$(OUTPUT) -Ibpf -Wall -Werror -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o && rm -f $@.tmp.o

$(OUTPUT)/fragscope.skel.h: $(OUTPUT)/fragscope.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name fragscope_bpf > $@

# The same programs with atomic adds instead of bpf_preempt_disable (Linux < 6.10).
$(OUTPUT)/fragscope_atomic.bpf.o: bpf/fragscope.bpf.c bpf/fragscope.h $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -DFS_ATOMIC_ADDS -I$(OUTPUT) -Ibpf -Wall -Werror -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o && rm -f $@.tmp.o

$(OUTPUT)/fragscope_atomic.skel.h: $(OUTPUT)/fragscope_atomic.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name fragscope_atomic_bpf > $@

$(OUTPUT)/user/trace/tracer.o: $(OUTPUT)/fragscope.skel.h $(OUTPUT)/fragscope_atomic.skel.h

$(PB_SRC) $(PB_HDR) &: $(PROFILE_PROTO)
	$(call msg,PROTOC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)protoc-c --c_out=$(@D) --proto_path=$(dir $(PROFILE_PROTO)) $(PROFILE_PROTO)
$(PB_OBJ): $(PB_SRC)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Wall -Werror -c $< -o $@
# the encoder and the commands include the generated header
$(OUTPUT)/user/out/pprof.o: $(PB_HDR)

$(OUTPUT)/user/%.o: user/%.c | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) $(INCLUDES) -c $< -o $@

fragscope: $(APP_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

# The replaying process of `fragscope replay` (beside fragscope: it holds little but
# the replayed heap); without it fragscope replays in a process of its own.
fragscope-replay-child: user/trace/replay_child.c user/model/replay.c user/trace/replay_child.h user/model/replay.h
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -DFS_REPLAY_CHILD_MAIN $(INCLUDES) -pthread \
		user/trace/replay_child.c user/model/replay.c -o $@

# Workloads with known allocations (tools/allocwork.c), for tests, demo and benchmarks.
tools: $(TOOLS)
$(OUTPUT)/tools/allocwork: tools/allocwork.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@
$(OUTPUT)/tools/forkwork: tools/forkwork.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror $< -o $@
# A program fragscope cannot trace (static, no symbols): followed into, it is named.
$(OUTPUT)/tools/static-stripped: tools/forkwork.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -static -s -Wall $< -o $@

$(OUTPUT)/tools/tracework: tools/tracework.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O1 -g -Wall -Wextra -Werror -pthread $< -o $@
$(OUTPUT)/tools/ownheap: tools/ownheap.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@
# glibc linked in: main_arena and mp_ in the executable's data, its TLS at [heap]'s start
$(OUTPUT)/tools/ownheap-static: tools/ownheap.c tools/rssanon.h | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -static $(WARN) -pthread $< -o $@
$(OUTPUT)/tools/heapwork: tools/heapwork.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@
$(OUTPUT)/tools/rpcwork: tools/rpcwork.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@
$(OUTPUT)/tools/allocwork-je: tools/allocwork.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@ -ljemalloc
# not PIE, and taking malloc's address: libc's GOT slot for malloc names its PLT entry
$(OUTPUT)/tools/allocwork-nopie: tools/allocwork.c tests/unit/malloc_addr.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread -no-pie -fno-pic $^ -o $@
$(OUTPUT)/tools/jework: tools/jework.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@ -ljemalloc
# jemalloc linked into the executable (Debian's libjemalloc.a), as bundled builds do
$(OUTPUT)/tools/jework-static: tools/jework.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@ -Wl,-Bstatic -ljemalloc -Wl,-Bdynamic -lm -ldl
$(OUTPUT)/tools/mapwork: tools/mapwork.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@
$(OUTPUT)/tools/mapwork-je: tools/mapwork.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -DMAPWORK_JEMALLOC -pthread $< -o $@ -ljemalloc
$(OUTPUT)/tools/allocwork-cxx: tools/allocwork_cxx.cc | $(OUTPUT)/tools
	$(call msg,CXX,$@)
	$(Q)g++ -O2 -g -Wall -Wextra -Werror -fsized-deallocation -pthread $< -o $@
$(OUTPUT)/tools/allocwork-cxx-je: tools/allocwork_cxx.cc | $(OUTPUT)/tools
	$(call msg,CXX,$@)
	$(Q)g++ -O2 -g -Wall -Wextra -Werror -fsized-deallocation -pthread $< -o $@ -ljemalloc
$(OUTPUT)/tools/tcmiwork: tools/tcmiwork.c tools/rssanon.h | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@ -ldl
# linked (DT_NEEDED before libc and libstdc++: their malloc and operators win)
$(OUTPUT)/tools/allocwork-tc: tools/allocwork.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@ -Wl,--no-as-needed -ltcmalloc_minimal
# tcmalloc linked into the executable (Debian's libtcmalloc_minimal.a): found by its symbols
$(OUTPUT)/tools/allocwork-tc-static: tools/allocwork.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@ -Wl,-Bstatic -ltcmalloc_minimal -Wl,-Bdynamic -lstdc++ -lm
$(OUTPUT)/tools/allocwork-mi: tools/allocwork.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@ -Wl,--no-as-needed -lmimalloc
$(OUTPUT)/tools/allocwork-cxx-tc: tools/allocwork_cxx.cc | $(OUTPUT)/tools
	$(call msg,CXX,$@)
	$(Q)g++ -O2 -g -Wall -Wextra -Werror -fsized-deallocation -pthread $< -o $@ -Wl,--no-as-needed -ltcmalloc_minimal
$(OUTPUT)/tools/allocwork-cxx-mi: tools/allocwork_cxx.cc | $(OUTPUT)/tools
	$(call msg,CXX,$@)
	$(Q)g++ -O2 -g -Wall -Wextra -Werror -fsized-deallocation -pthread $< -o $@ -Wl,--no-as-needed -lmimalloc
$(OUTPUT)/tools/tcmiwork-tc: tools/tcmiwork.c tools/rssanon.h | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@ -ldl -Wl,--no-as-needed -ltcmalloc_minimal
$(OUTPUT)/tools/tcmiwork-mi: tools/tcmiwork.c tools/rssanon.h | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g $(WARN) -pthread $< -o $@ -ldl -Wl,--no-as-needed -lmimalloc

# Fixture binaries for the resolver's unit tests.
fixtures: $(FIXTURES)
$(OUTPUT)/fixtures/dyn: tests/unit/fixture.c | $(OUTPUT)/fixtures
	$(Q)$(CC) -O1 $< -o $@
$(OUTPUT)/fixtures/dyn-je: tests/unit/fixture.c | $(OUTPUT)/fixtures
	$(Q)$(CC) -O1 $< -o $@ -ljemalloc
$(OUTPUT)/fixtures/static: tests/unit/fixture.c | $(OUTPUT)/fixtures
	$(Q)$(CC) -O1 -static $< -o $@
$(OUTPUT)/fixtures/static-stripped: $(OUTPUT)/fixtures/static
	$(Q)strip -s -o $@ $<
$(OUTPUT)/fixtures/libfakemalloc.so: tests/unit/fakemalloc.c | $(OUTPUT)/fixtures
	$(Q)$(CC) -O1 -shared -fPIC $< -o $@
$(OUTPUT)/fixtures/dyn-fake: tests/unit/fixture.c $(OUTPUT)/fixtures/libfakemalloc.so
	$(Q)$(CC) -O1 $< -o $@ -L$(OUTPUT)/fixtures -lfakemalloc -Wl,-rpath,'$$ORIGIN'
$(OUTPUT)/fixtures/libfaketcmalloc.so: tests/unit/faketcmalloc.c tests/unit/fakemalloc.c | $(OUTPUT)/fixtures
	$(Q)$(CC) -O1 -shared -fPIC $< -o $@
$(OUTPUT)/fixtures/dyn-tc: tests/unit/fixture.c $(OUTPUT)/fixtures/libfaketcmalloc.so
	$(Q)$(CC) -O1 $< -o $@ -L$(OUTPUT)/fixtures -lfaketcmalloc -Wl,-rpath,'$$ORIGIN'
$(OUTPUT)/fixtures/libfakehoard.so: tests/unit/fakehoard.c | $(OUTPUT)/fixtures
	$(Q)$(CC) -O1 -shared -fPIC $< -o $@
$(OUTPUT)/fixtures/dyn-hoard: tests/unit/fixture.c $(OUTPUT)/fixtures/libfakehoard.so
	$(Q)$(CC) -O1 $< -o $@ -L$(OUTPUT)/fixtures -lfakehoard -Wl,-rpath,'$$ORIGIN'
$(OUTPUT)/fixtures/libfakestep.so: tests/unit/fakemalloc.c | $(OUTPUT)/fixtures
	$(Q)$(CC) -O1 -shared -fPIC -DFAKE_STEPPED_FREE $< -o $@
$(OUTPUT)/fixtures/stepped: tests/unit/fixture_stepped.c $(OUTPUT)/fixtures/libfakestep.so
	$(Q)$(CC) -O1 $< -o $@ -L$(OUTPUT)/fixtures -lfakestep -Wl,-rpath,'$$ORIGIN'
$(OUTPUT)/fixtures/refused: tests/unit/fixture_refused.S | $(OUTPUT)/fixtures
	$(Q)$(CC) -nostdlib -static $< -o $@
$(OUTPUT)/fixtures/nopie: tests/unit/fixture_nopie.c tests/unit/malloc_addr.c | $(OUTPUT)/fixtures
	$(Q)$(CC) -O1 -no-pie -fno-pic $^ -o $@
$(OUTPUT)/fixtures/static-je-prefix: tests/unit/fixture_je_prefix.c | $(OUTPUT)/fixtures
	$(Q)$(CC) -O1 $< -o $@

# Unit tests link only the pure modules: a stray libbpf dependency fails to build.
UNIT_CFLAGS := -D_GNU_SOURCE -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer $(WARN) -I. -Iuser -I$(OUTPUT)
$(OUTPUT)/unit/run_unit: $(UNIT_SRCS) $(PURE_SRCS) $(PB_SRC) tests/unit/test.h | $(OUTPUT)/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(UNIT_CFLAGS) -DFIXTURES='"$(abspath $(OUTPUT)/fixtures)"' $(UNIT_SRCS) $(PURE_SRCS) $(PB_SRC) -ldw -lelf -lz -lzstd -lm -lstdc++ -lsqlite3 -lprotobuf-c -o $@

unit: $(OUTPUT)/unit/run_unit fixtures
	$(Q)$(OUTPUT)/unit/run_unit

# Fuzzing the session reader (libFuzzer; clang's runtime from libclang-rt-14-dev).
# `make fuzz` seeds a corpus with small real sessions, replays every input that
# once crashed the reader (tests/fuzz/regress/), then fuzzes. The suite runs it
# reproducibly: a fixed FUZZ_SEED and FUZZ_RUNS inputs, so a run that passes
# passes again on any machine. To explore, give FUZZ_SEED=0 (random) and
# FUZZ_RUNS=-1 with FUZZ_TIME seconds; copy any crash-* it writes into
# tests/fuzz/regress/ with the fix.
FUZZ_TIME ?= 30
FUZZ_SEED ?= 1
FUZZ_RUNS ?= 5000
FUZZ_DIR  := $(OUTPUT)/fuzz
FUZZ_SRCS := tests/fuzz/fuzz_session.c user/cmd/cmd_report.c $(PURE_SRCS) $(PB_SRC)
.PHONY: fuzz
$(FUZZ_DIR):
	$(Q)mkdir -p $@ $@/corpus
$(FUZZ_DIR)/fuzz_session: $(FUZZ_SRCS) user/out/session.h | $(FUZZ_DIR)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Wall -Wextra -Werror -Wno-missing-field-initializers -Wno-unused-command-line-argument \
		-I. -Iuser -I$(OUTPUT) $(FUZZ_SRCS) -ldw -lelf -lz -lzstd -lm -lstdc++ -lsqlite3 -lprotobuf-c -o $@

fuzz: $(FUZZ_DIR)/fuzz_session
	$(Q)FUZZ_SESSION_SEED=$(FUZZ_DIR)/corpus/seed.db $(FUZZ_DIR)/fuzz_session
	$(Q)cd $(FUZZ_DIR) && ./fuzz_session -close_fd_mask=3 -timeout=10 -rss_limit_mb=2048 \
		$(abspath tests/fuzz/regress)/*
	$(Q)cd $(FUZZ_DIR) && ./fuzz_session -seed=$(FUZZ_SEED) -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_TIME) \
		-close_fd_mask=3 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 corpus

integration: fragscope tools
	$(Q)tests/integration/run.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all $(OUTPUT)/unit/run_unit fixtures
	$(Q)tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	./fragscope compare --idle 5 -o $(OUTPUT)/demo -- $(OUTPUT)/tools/rpcwork --threads 4 --requests 20000 --burst 128 --hold --log /dev/null

bench: deps
	$(Q)$(MAKE) --no-print-directory all bench-build
	$(Q)bench/run.sh

# --- bench (owned by bench/) ---
# Bench-only binaries: the floor loader (empty programs at fragscope's probe sites,
# planned by the same pure modules) and the timed workloads. `make bench-quick`
# runs every variant once with tiny N and times nothing (for CI).
BENCH_OUT   := $(OUTPUT)/bench
BENCH_BINS  := $(BENCH_OUT)/floor $(BENCH_OUT)/workload $(BENCH_OUT)/workload-cxx-je
FLOOR_OBJS  := $(BENCH_OUT)/floor.o $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(PURE_SRCS) user/trace/umulti.c) $(PB_OBJ)
SESSION_OBJS := $(BENCH_OUT)/session.o $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(PURE_SRCS) user/trace/umulti.c) $(PB_OBJ)
.PHONY: bench-build bench-quick bench-session
bench-build: fragscope $(BENCH_BINS)
bench-quick:
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)BENCH_QUICK=1 bench/run.sh
$(BENCH_OUT):
	$(Q)mkdir -p $@
$(BENCH_OUT)/floor.bpf.o: bench/floor.bpf.c $(OUTPUT)/vmlinux.h | $(BENCH_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I$(OUTPUT) -Wall -Werror -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o && rm -f $@.tmp.o
$(BENCH_OUT)/floor.skel.h: $(BENCH_OUT)/floor.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name floor_bpf > $@
$(BENCH_OUT)/floor.o: bench/floor.c $(BENCH_OUT)/floor.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -I$(BENCH_OUT) -I. -Iuser -c $< -o $@
$(BENCH_OUT)/floor: $(FLOOR_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@
# Spike for issue 14's sampled mode: uprobe sessions at the floor's sites (not in
# bench-build nor bench-quick; `make bench-session` builds and times it).
$(BENCH_OUT)/session.bpf.o: bench/session.bpf.c bench/session.h $(OUTPUT)/vmlinux.h | $(BENCH_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I$(OUTPUT) -Ibench -Wall -Werror -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o && rm -f $@.tmp.o
$(BENCH_OUT)/session.skel.h: $(BENCH_OUT)/session.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name session_bpf > $@
$(BENCH_OUT)/session.o: bench/session.c $(BENCH_OUT)/session.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(DEPFLAGS) -I$(BENCH_OUT) -I. -Iuser -c $< -o $@
$(BENCH_OUT)/session: $(SESSION_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@
bench-session: deps
	$(Q)$(MAKE) --no-print-directory bench-build $(BENCH_OUT)/session
	$(Q)BENCH_SESSION=1 bench/run.sh
$(BENCH_OUT)/workload: bench/workload.c bench/workload.h | $(BENCH_OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -O2 -g $(WARN) -pthread $< -o $@
$(BENCH_OUT)/workload-cxx-je: bench/workload_cxx.cc bench/workload.h | $(BENCH_OUT)
	$(call msg,CXX,$@)
	$(Q)g++ -O2 -g -Wall -Wextra -Werror -fsized-deallocation -pthread $< -o $@ -ljemalloc
-include $(wildcard $(BENCH_OUT)/*.d)
# --- end bench ---

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) fragscope fragscope-replay-child

-include $(wildcard $(OUTPUT)/user/*/*.d)
