/* test_container.c - a process's container view from /proc text: NSpid's last
 * field, the cgroup v2 line, container ids in cgroup paths, the cgroup2 mount. */
#include <string.h>
#include "model/container.h"
#include "test.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(container_ns_pid)
{
	pid_t p = 0;

	ASSERT_OK(container__ns_pid("Name:\tx\nTgid:\t19509\nNSpid:\t19509\t1\nNSpgid:\t19509\t1\n", &p), "nested");
	ASSERT_EQ(p, 1, "the innermost namespace's PID: the last field");
	ASSERT_OK(container__ns_pid("NSpid:\t300\t20\t7\n", &p), "two levels down");
	ASSERT_EQ(p, 7, "two levels down: the last");
	ASSERT_OK(container__ns_pid("Name:\tx\nNSpid:\t4242\n", &p), "no child namespace");
	ASSERT_EQ(p, 4242, "no child namespace: its one PID");
	ASSERT_OK(container__ns_pid("NSpid:\t12", &p), "no newline at the end");
	ASSERT_EQ(p, 12, "no newline at the end: read");
	ASSERT_EQ(container__ns_pid("Name:\tx\nPid:\t5\n", &p), -1, "no NSpid line (old kernel)");
	ASSERT_EQ(container__ns_pid("NSpid:\t\n", &p), -1, "an empty NSpid line");
	ASSERT_EQ(container__ns_pid("NSpgid:\t3\t1\n", &p), -1, "NSpgid is not NSpid");
}

TEST(container_cgroup_line)
{
	char b[64];

	ASSERT_OK(container__cgroup("0::/system.slice/a.service\n", b, sizeof(b)), "v2");
	ASSERT_STREQ(b, "/system.slice/a.service", "v2 path");
	ASSERT_OK(container__cgroup("12:cpu,cpuacct:/x\n4:memory:/y\n0::/user.slice\n", b, sizeof(b)), "hybrid");
	ASSERT_STREQ(b, "/user.slice", "hybrid: the v2 line, not a v1 one");
	ASSERT_OK(container__cgroup("0::/", b, sizeof(b)), "the root cgroup, no newline");
	ASSERT_STREQ(b, "/", "the root cgroup");
	ASSERT_EQ(container__cgroup("12:cpu:/x\n1:name=systemd:/y\n", b, sizeof(b)), -1, "v1 only: not known");
	ASSERT_EQ(container__cgroup("0::\n", b, sizeof(b)), -1, "an empty path");
	ASSERT_EQ(container__cgroup("0::/a/very/long/path/beyond/the/buffer/size/given/here/x\n", b, 16), -1,
		  "too long");
}

TEST(container_id)
{
	char b[80];

	ASSERT_EQ(container__id("/system.slice/docker-" ID ".scope", b, sizeof(b)), 1, "docker, systemd driver");
	ASSERT_STREQ(b, ID, "docker: the 64 hex digits");
	ASSERT_EQ(container__id("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1a2b_3c.slice/"
				"cri-containerd-" ID ".scope", b, sizeof(b)), 1, "containerd under kubernetes");
	ASSERT_STREQ(b, ID, "containerd: the id");
	ASSERT_EQ(container__id("/machine.slice/libpod-" ID ".scope/container", b, sizeof(b)), 1,
		  "podman: the scope, then its inner cgroup");
	ASSERT_STREQ(b, ID, "podman: the id");
	ASSERT_EQ(container__id("/kubepods.slice/crio-" ID ".scope", b, sizeof(b)), 1, "cri-o");
	ASSERT_EQ(container__id("/docker/" ID, b, sizeof(b)), 1, "docker, cgroupfs driver");
	ASSERT_STREQ(b, ID, "cgroupfs: the bare component");
	ASSERT_EQ(container__id("/kubepods/burstable/pod0b1c/" ID, b, sizeof(b)), 1, "kubernetes, cgroupfs");
	ASSERT_EQ(container__id("/" ID "/nested/" "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
				b, sizeof(b)), 1, "two ids");
	ASSERT_STREQ(b, "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", "the innermost id");
	ASSERT_EQ(container__id("/user.slice/user-0.slice/session-3.scope", b, sizeof(b)), 0, "a login session");
	ASSERT_STREQ(b, "", "none: empty");
	ASSERT_EQ(container__id("/system.slice/docker.service", b, sizeof(b)), 0, "the docker daemon itself");
	ASSERT_EQ(container__id("/machine.slice/libpod-conmon-" ID ".scope", b, sizeof(b)), 0,
		  "podman's conmon: not the container");
	ASSERT_EQ(container__id("/docker/" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", b,
				sizeof(b)), 0, "upper case: not an id");
	ASSERT_EQ(container__id("/docker/0123456789abcdef", b, sizeof(b)), 0, "a short id: too short to be sure");
	ASSERT_EQ(container__id("/fragscope-test-1234", b, sizeof(b)), 0, "a cgroup of no runtime");
	ASSERT_EQ(container__id("/", b, sizeof(b)), 0, "the root");
	ASSERT_EQ(container__id("/docker-" ID ".scope", b, 32), 0, "no room: none");
}

TEST(container_cgroup2_mount)
{
	char b[64];

	ASSERT_OK(container__cgroup2_mount("sysfs /sys sysfs rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n",
					   b, sizeof(b)), "unified");
	ASSERT_STREQ(b, "/sys/fs/cgroup", "unified: its mount point");
	ASSERT_OK(container__cgroup2_mount("tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
					   "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
					   "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n", b, sizeof(b)), "hybrid");
	ASSERT_STREQ(b, "/sys/fs/cgroup/unified", "hybrid: the cgroup2 one, not a v1 one");
	ASSERT_OK(container__cgroup2_mount("none /mnt/c\\040g cgroup2 rw 0 0\n", b, sizeof(b)), "escaped");
	ASSERT_STREQ(b, "/mnt/c g", "an escaped space");
	ASSERT_EQ(container__cgroup2_mount("cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n", b, sizeof(b)), -1,
		  "v1 only");
	ASSERT_EQ(container__cgroup2_mount("", b, sizeof(b)), -1, "nothing mounted");
}
