/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "bkt-remote.h"
#include "commands/commands.h"

/* bkt: the thin client.  It links the D-Bus contract and the core only:
 * every command here talks to the daemons (or runs a child: dnf, toolbox);
 * the repo tools that need libgit2 or libsoup run in bkt-tool, which bkt
 * execs with the command line as typed (docs/architecture.md). */

static const char summary[] =
  "Keep your distribution's manifests and this machine in step.\n"
  "Every change (flatpak add/remove, gsetting set/unset, …) acts now, records it, and\n"
  "opens a pull request to the distribution repo; --local: no PR; --pr-only: only\n"
  "the PR.  See docs/punning.md.";

static const BktCommand commands[] = {
  { "status", NULL, "drift between manifests and the system", NULL, bkt_cmd_status },
  { "apply", NULL, "make the system match the manifests", NULL, bkt_cmd_apply },
  { "capture", NULL, "record the live system in the manifests", NULL, bkt_cmd_capture },
  { "flatpak", "fp", "add, remove, list, sync, capture flatpaks", NULL, NULL, bkt_flatpak_commands },
  { "gsetting", "gs", "set, unset, list, apply, capture settings", NULL, NULL, bkt_gsetting_commands },
  { "extension", "ext", "add, remove, enable, disable, list, sync, capture GNOME Shell extensions", NULL, NULL,
    bkt_extension_commands },
  { "shim", NULL, "add, remove, list, sync toolbox shims for host commands", NULL, NULL, bkt_shim_commands },
  { "skel", NULL, "add, diff, list, sync the distribution's dotfiles in your home", NULL, NULL, bkt_skel_commands },
  { "dnf", NULL, "install, remove, copr, sync, capture, list, search…: layered packages and the host's dnf",
    NULL, NULL, bkt_dnf_commands },
  { "dev", NULL, "dnf, copr, status, diff, update, enter: the development toolbox", NULL, NULL, bkt_dev_commands },
  /* the repo tools: bkt-tool */
  { "containerfile", NULL, "sync, check the Containerfile's managed sections", NULL, bkt_cmd_exec_tool },
  { "changelog", NULL, "add, generate, pending, validate, show, list, release, clear, motd: the changelog",
    NULL, bkt_cmd_exec_tool },
  { "base", NULL, "verify, list, info, assume, unassume, snapshot: base image assumptions", NULL,
    bkt_cmd_exec_tool },
  { "drift", NULL, "check: base assumptions, Containerfile and manifests vs system (exit 0/1/2)", NULL,
    bkt_cmd_exec_tool },
  { "upstream", NULL, "list, info, check, update, pin, add, remove, lock, verify, generate: pins", NULL,
    bkt_cmd_exec_tool },
  { "repo", NULL, "info, path: the distribution repo bkt proposes changes to", NULL, bkt_cmd_exec_tool },
  { "local", NULL, "list, commit: changes made with --local; propose them as one PR", NULL, NULL,
    bkt_local_commands },
  { "pr", NULL, "retry: retry pull requests that failed", NULL, NULL, bkt_pr_commands },
  { "watch", NULL, "enable, disable, status: the drift watcher (changes made by hand, as they happen)", NULL,
    NULL, bkt_watch_commands },
  { "upgrade", NULL, "what the next boot brings: image, packages, changelog, manifests (--check, --apply)",
    NULL, bkt_cmd_upgrade },
  { "admin", NULL, "bootc (OS image) and systemctl, through the system daemon", NULL, NULL, bkt_admin_commands },
  { "doctor", NULL, "check everything bkt depends on; each problem with its fix", NULL, bkt_cmd_doctor },
  { "profile", NULL, "capture, diff: this machine's state as one document; unowned: files no RPM owns", NULL,
    NULL, bkt_profile_commands },
  { "fleet", NULL, "status: your machines, one row each, asked over ssh (bkt -H HOST: one of them)", NULL, NULL,
    bkt_fleet_commands },
  { "schema", NULL, "list, generate: JSON Schemas of every manifest kind, for editors and CI", NULL, NULL,
    bkt_schema_commands },
  { "version", NULL, "print the client and daemon versions", NULL, bkt_cmd_version },
  { "completions", NULL, "print the shell completion script for bash, zsh or fish", "SHELL", bkt_cmd_completions },
  { NULL }
};

/* Commands that run programs on this machine (the repo tools, toolbox
 * work, dnf's queries) or ask many machines: not with -H HOST. */
static const char *const local_only[] = {
  "containerfile", "changelog", "base", "drift", "upstream", "dev", "dnf", "fleet", "completions", NULL
};

/* -H HOST / --host HOST before the command name: every daemon call goes
 * to HOST over ssh (bkt-remote.c).  FALSE (usage error) for a bad HOST or
 * a command that would act here instead. */
static gboolean
use_host (BktClient *client, const char *host, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;

  if (!bkt_client_set_host (client, host, &error))
    {
      g_printerr ("bkt: -H: %s\n", error->message);
      return FALSE;
    }
  for (int i = 1; i < argc; i++)
    if (argv[i][0] != '-')
      {
        if (!g_strv_contains (local_only, argv[i]))
          return TRUE;
        g_printerr ("bkt: -H %s: “%s” runs here, not through bktd; run it on %s itself (ssh %s bkt %s …)\n",
                    host, argv[i], host, host, argv[i]);
        return FALSE;
      }
    else if (bkt_cmd_option_takes_value (argv[i]))
      i++;
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr(BktClient) client = NULL;
  g_autofree char *host = NULL;

  setlocale (LC_ALL, "");
  if (!bkt_remote_take_host_option (&argc, argv, &host))
    return EXIT_USAGE;
  if (bkt_cmd_wants_version (argc, argv))
    {
      g_print ("bkt %s\n", PACKAGE_VERSION);
      return EXIT_OK;
    }
  client = bkt_client_new ();
  bkt_client_set_interactive (client, isatty (STDIN_FILENO));
  if (host != NULL && !use_host (client, host, argc, argv))
    return EXIT_USAGE;
  return bkt_cmd_main (client, summary, commands, argc, argv);
}
