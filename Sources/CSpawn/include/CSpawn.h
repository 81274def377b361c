#ifndef MAILROOM_CSPAWN_H
#define MAILROOM_CSPAWN_H

#include <spawn.h>
#include <sys/types.h>

/// posix_spawn_file_actions_addclosefrom_np (glibc >= 2.34), which Swift's Glibc module does
/// not import: it is declared only under _GNU_SOURCE.
int mailroom_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// posix_spawnattr_setpgroup + POSIX_SPAWN_SETPGROUP with the other flags: the child leads a
/// process group of its own, so a terminal's Ctrl-C (SIGINT to the foreground group) does not
/// reach it.
int mailroom_spawnattr_own_group(posix_spawnattr_t *attributes, short flags);

/// fork + execve for a long-lived child that must not outlive this process: in its own
/// process group, killed (SIGKILL) when the thread that forked it ends, default signal
/// dispositions and an empty mask, `in_fd`/`out_fd`/`err_fd` as 0/1/2 and nothing else open.
/// posix_spawn cannot set a parent-death signal. Call it from a thread that lives as long as
/// the process: the kernel sends the signal when the forking *thread* exits.
/// Returns the pid, or -1 with errno set (the child's execve error when exec failed).
pid_t mailroom_spawn_tied(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd);

#endif
