#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "CSpawn.h"

int mailroom_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int mailroom_spawnattr_own_group(posix_spawnattr_t *attributes, short flags) {
    int rc = posix_spawnattr_setpgroup(attributes, 0);
    if (rc != 0) return rc;
    return posix_spawnattr_setflags(attributes, flags | POSIX_SPAWN_SETPGROUP);
}

// Closes [from, to] (to inclusive, ~0U for "every one above"); close_range(2) where the
// kernel has it, else one by one up to `highest`.
static void close_between(int from, unsigned to, int highest) {
    if ((unsigned)from > to) return;
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)from, to, 0) == 0) return;
#endif
    for (int fd = from; fd <= highest && (unsigned)fd <= to; fd++) close(fd);
}

// Makes `fd` the child's `target`; dup2 onto itself would keep close-on-exec, so clear it then.
static int install(int fd, int target) {
    if (fd == target) return fcntl(fd, F_SETFD, 0);
    return dup2(fd, target) < 0 ? -1 : 0;
}

pid_t mailroom_spawn_tied(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd) {
    // Everything the child needs is prepared here: between fork and execve a child of a
    // threaded process may only make async-signal-safe calls (no malloc, no locks).
    struct rlimit limit;
    // Only for kernels without close_range (before 5.9): the highest descriptor to close.
    int highest = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < 1 << 20
        ? (int)limit.rlim_cur - 1 : 1 << 20;
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(report[0]);
        close(report[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        int failure = 0;
        if (setpgid(0, 0) != 0) goto fail;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) goto fail;
        // The parent may have died before prctl: then no signal comes, but it is no longer our parent.
        if (getppid() != parent) _exit(127);
        struct sigaction dfl = {0};
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        // Move the report pipe above 2 first, so installing 0-2 cannot overwrite it.
        int out = report[1];
        if (out <= 2) {
            out = fcntl(report[1], F_DUPFD_CLOEXEC, 3);
            if (out < 0) goto fail;
        }
        if (install(in_fd, 0) != 0 || install(out_fd, 1) != 0 || install(err_fd, 2) != 0) {
            report[1] = out;
            goto fail;
        }
        report[1] = out;
        close_between(3, (unsigned)out - 1, highest);
        close_between(out + 1, ~0U, highest);
        execve(path, argv, envp);
    fail:
        failure = errno;
        while (write(report[1], &failure, sizeof failure) < 0 && errno == EINTR) {}
        _exit(127);
    }
    close(report[1]);
    int failure = 0;
    ssize_t n;
    while ((n = read(report[0], &failure, sizeof failure)) < 0 && errno == EINTR) {}
    close(report[0]);
    if (n == (ssize_t)sizeof failure) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        errno = failure;
        return -1;
    }
    return pid;
}
