/* cost.c - the probes' cost to the target, by kind of trap, and its estimate over
 * an interval. Pure arithmetic on the plan and the counters. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "model/cost.h"

void cost__default_rates(struct fs_cost_rates *r)
{
	memset(r, 0, sizeof(*r));
	/* PROBING.md, malloc+free pairs with one probe of each kind, medians of 3 */
	r->emulated_ns = 700;
	r->stepped_ns = 9300;
	r->return_ns = 500;	/* uretprobe with its entry, 1,230, less the entry's 700 */
	snprintf(r->basis, sizeof(r->basis), "built-in constants, measured on a 2-vCPU EPYC VM, not on this machine");
}

static int is_return_probed(const struct fs_probe *p)
{
	return p->kind != FS_K_FREE;	/* every allocating kind reads its result at the return */
}

void cost__kinds(const struct fs_plan *plan, int sys_uprobes, struct fs_cost_kinds *k)
{
	memset(k, 0, sizeof(*k));
	for (int i = 0; i < plan->nprobes; i++) {
		const struct fs_probe *p = &plan->probes[i];

		k->funcs++;
		if (p->emulated)
			k->emulated++;
		else
			k->stepped++;
		k->returns += is_return_probed(p);
	}
	for (int i = 0; sys_uprobes && i < plan->nsys; i++) {
		k->sys++;
		k->sys_stepped += !plan->sys[i].emulated;
	}
}

int cost__hot(const char *name, const char *prefix)
{
	static const char *const hot[] = {
		"malloc", "free", "calloc", "realloc", "cfree",
		"mallocx", "rallocx", "dallocx", "sdallocx",
		"_Znwm", "_Znam", "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm",
	};
	size_t pl = prefix ? strlen(prefix) : 0;

	if (pl && !strncmp(name, prefix, pl))
		name += pl;
	for (size_t i = 0; i < sizeof(hot) / sizeof(hot[0]); i++)
		if (!strcmp(name, hot[i]))
			return 1;
	return 0;
}

double cost__call_ns(const struct fs_probe *p, const struct fs_cost_rates *r)
{
	return (p->emulated ? r->emulated_ns : r->stepped_ns) + (is_return_probed(p) ? r->return_ns : 0);
}

int cost__estimate(const struct fs_plan *plan, const struct fs_snapshot *s, int sys_uprobes, double seconds,
		   const struct fs_cost_rates *r, struct fs_cost_est *e)
{
	double busy = 0;

	memset(e, 0, sizeof(*e));
	if (!(seconds > 0))
		return -EINVAL;
	e->seconds = seconds;
	for (int i = 0; i < plan->nprobes && i < s->nfuncs; i++) {
		e->calls += s->f[i].calls;
		busy += (double)s->f[i].calls * cost__call_ns(&plan->probes[i], r);
	}
	for (int i = 0; sys_uprobes && i < plan->nsys; i++) {
		unsigned k = plan->sys[i].kind;

		if (k >= FS_S__COUNT)
			continue;
		e->calls += s->k.sys[k].calls;
		/* entry and return probes on every wrapper */
		busy += (double)s->k.sys[k].calls *
			((plan->sys[i].emulated ? r->emulated_ns : r->stepped_ns) + r->return_ns);
	}
	/* Hits no function counted: they trapped all the same. */
	e->other_hits = s->c[FS_C_NESTED] + s->c[FS_C_FREES_INTERNAL];
	e->mean_ns = e->calls ? busy / (double)e->calls : 0;
	busy += (double)e->other_hits * e->mean_ns;
	e->busy_ns = busy;
	e->calls_per_s = (double)(e->calls + e->other_hits) / seconds;
	e->cpu_fraction = busy / (seconds * 1e9);
	return 0;
}

static const char *us(double ns, char *buf, size_t len)
{
	if (ns < 1000)
		snprintf(buf, len, "%.0f ns", ns);
	else
		snprintf(buf, len, "%.1f us", ns / 1000);
	return buf;
}

void cost__kinds_line(const struct fs_cost_kinds *k, const struct fs_cost_rates *r, char *buf, size_t len)
{
	char a[24], b[24], c[24];
	int n;

	if (!k->funcs)	/* light mode: the allocator's functions are not probed */
		n = snprintf(buf, len, "probes: no allocator function (a trap costs ~%s here)",
			     us(r->emulated_ns, a, sizeof(a)));
	else
		n = snprintf(buf, len, "probes: %d function%s, %d at an emulated instruction (~%s a hit), %d single-stepped (~%s)",
			     k->funcs, k->funcs == 1 ? "" : "s", k->emulated, us(r->emulated_ns, a, sizeof(a)), k->stepped,
			     us(r->stepped_ns, b, sizeof(b)));
	if (n < 0 || (size_t)n >= len)
		return;
	if (k->funcs)
		n += snprintf(buf + n, len - (size_t)n, "; %d with a return probe (+%s%s)", k->returns,
			      us(r->return_ns, c, sizeof(c)), k->sampled ? " for sampled calls only" : "");
	if (k->sys && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "; %d memory-syscall wrappers (entry and return%s)", k->sys,
			      k->sys_stepped ? ", some single-stepped" : "");
	if ((size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " [%s]", r->measured ? "measured here" : "not measured here: built-in constants");
}

int cost__stepped_warning(const struct fs_plan *plan, const struct fs_probe *p, const struct fs_cost_rates *r,
			  char *buf, size_t len)
{
	char a[24], b[24];
	const char *obj;

	if (p->emulated || !cost__hot(p->name, plan->prefix))
		return 0;
	obj = strrchr(p->path, '/');
	snprintf(buf, len, "%s in %s is probed at a single-stepped instruction: each call costs ~%s instead of ~%s "
		 "(%.0fx, %s)", p->name, obj ? obj + 1 : p->path, us(r->stepped_ns, a, sizeof(a)),
		 us(r->emulated_ns, b, sizeof(b)), r->emulated_ns > 0 ? r->stepped_ns / r->emulated_ns : 0,
		 r->measured ? "measured here" : "built-in constants");
	return 1;
}

const char *cost__percent(double fraction, char *buf, size_t len)
{
	double pc = fraction * 100;

	if (pc < 0.1)
		snprintf(buf, len, "<0.1%%");
	else if (pc < 10)
		snprintf(buf, len, "%.1f%%", pc);
	else
		snprintf(buf, len, "%.0f%%", pc);
	return buf;
}

/* 12345.6 -> "12,346" */
static const char *grouped(double v, char *buf, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%.0f", v), o = 0;

	for (int i = 0; i < n && (size_t)o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0 && tmp[i - 1] != '-')
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = 0;
	return buf;
}

void cost__line(const struct fs_cost_est *e, const struct fs_cost_rates *r, char *buf, size_t len)
{
	char p[16], m[24], c[32];

	snprintf(buf, len, "probes cost the target about %s of a CPU (estimate: %s probed calls/s x ~%s a call; "
		 "trap costs %s; the BPF programs' own work not included)",
		 cost__percent(e->cpu_fraction, p, sizeof(p)), grouped(e->calls_per_s, c, sizeof(c)),
		 us(e->mean_ns, m, sizeof(m)),
		 r->measured ? "measured on this machine at start" : "from built-in constants, not measured here");
}
