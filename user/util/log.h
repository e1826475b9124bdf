/* log.h - diagnostics on stderr: errors always, -v info, -vv debug. */
#ifndef FS_LOG_H
#define FS_LOG_H

extern int fs_verbose;

void fs_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fs_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fs_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fs_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
