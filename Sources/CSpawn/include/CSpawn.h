#ifndef MAILROOM_CSPAWN_H
#define MAILROOM_CSPAWN_H

#include <spawn.h>

/// posix_spawn_file_actions_addclosefrom_np (glibc >= 2.34), which Swift's Glibc module does
/// not import: it is declared only under _GNU_SOURCE.
int mailroom_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from);

#endif
