#ifndef MAILROOM_CGIT2_SHIM_H
#define MAILROOM_CGIT2_SHIM_H
#include <git2.h>

/* git_libgit2_opts is C-variadic, which Swift cannot call. */
static inline int cgit2_set_owner_validation(int on) {
    return git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, on);
}
#endif
