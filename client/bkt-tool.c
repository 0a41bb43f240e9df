/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <locale.h>
#include <unistd.h>

#include "commands/commands.h"

/* bkt-tool (installed in libexecdir): the repo-side tools, which link
 * libgit2 (changelog generate) and libsoup (upstream) and so stay out of
 * the thin client.  bkt execs it with the command line as typed, the way
 * git runs git-foo; it takes the same global options at every level.  Its
 * commands that propose a change (upstream --pr, base --pr) or compare
 * with the system (drift check) still go through the session daemon. */

static const BktCommand commands[] = {
  { "containerfile", NULL, "sync, check the Containerfile's managed sections", NULL, NULL,
    bkt_containerfile_commands },
  { "changelog", NULL, "the distribution repo's changelog (docs/maintenance.md)", NULL, NULL,
    bkt_changelog_commands },
  { "base", NULL, "the base image assumptions (docs/maintenance.md)", NULL, NULL, bkt_base_commands },
  { "drift", NULL, "everything that drifted, for CI (docs/maintenance.md)", NULL, NULL, bkt_drift_commands },
  { "upstream", NULL, "the distribution's pinned upstreams (docs/maintenance.md)", NULL, NULL,
    bkt_upstream_commands },
  { "repo", NULL, "the distribution repo bkt uses (docs/punning.md)", NULL, NULL, bkt_repo_commands },
  { NULL }
};

int
main (int argc, char **argv)
{
  g_autoptr(BktClient) client = NULL;

  setlocale (LC_ALL, "");
  client = bkt_client_new ();
  bkt_client_set_interactive (client, isatty (STDIN_FILENO));
  return bkt_cmd_main (client, "The repo tools of bkt (bkt runs them: see bkt(1)).", commands, argc, argv);
}
