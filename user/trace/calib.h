/* calib.h - this machine's price of a probe hit, measured once per run: an empty
 * BPF program on three tiny functions of fragscope itself (one starting with an
 * instruction the kernel emulates, one with one it single-steps, and a return
 * probe), each called in timed batches with and without the probe. */
#ifndef FS_CALIB_H
#define FS_CALIB_H

#include "model/cost.h"
#include "plan/resolve.h"

/* The rates, measured at the first call (~30-60 ms, needs CAP_BPF), then cached.
 * If they cannot be measured, PROBING.md's constants with the reason in basis.
 * FRAGSCOPE_NO_CALIBRATION=1 skips the measurement. Never NULL. */
const struct fs_cost_rates *calib__rates(void);

/* At attach, on stderr (always, not only with -v): one line of what the probes
 * cost in kind, and one warning per hot function placed on a single-stepped
 * instruction. */
void calib__report_attach(const struct fs_plan *plan, int sys_uprobes, int sampled);

#endif
