/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "commands.h"
#include "bkt-error.h"
#include "bkt-forge.h"
#include "bkt-git.h"
#include "bkt-pr-queue.h"
#include "bkt-repo.h"

/* `bkt repo info|path` (in bkt-tool: libgit2 reads the checkout, libsoup
 * asks the forge): which distribution repo bkt proposes changes to, how it
 * was found (bkt_repo_discover()), what the forge calls it, whether this
 * user may push there, and what waits in the journal.  Reads only. */

static BktRepo *
discover (Ctx *ctx, GError **error)
{
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *repo_dir = ctx->opt.repo != NULL ? g_canonicalize_filename (ctx->opt.repo, NULL) : NULL;

  return bkt_repo_discover (repo_dir, cwd, error);
}

static int
repo_path (Ctx *ctx, int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(BktRepo) repo = NULL;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  repo = discover (ctx, &error);
  if (repo == NULL)
    return fail (error);
  g_print ("%s\n", bkt_repo_get_path (repo));
  return EXIT_OK;
}

static const char *
source_words (const char *source)
{
  if (g_strcmp0 (source, "option") == 0)
    return "--repo DIR";
  if (g_strcmp0 (source, "config") == 0)
    return "\"repo\" in ~/.config/bkt/config.json";
  if (g_strcmp0 (source, "cwd") == 0)
    return "the working directory or a parent of it";
  return "the managed clone of the URL the image's repo.json declares";
}

/* A local remote (a path or file://): push access is the file system's. */
static char *
local_remote_path (const char *url)
{
  if (url == NULL)
    return NULL;
  if (g_str_has_prefix (url, "file://"))
    return g_filename_from_uri (url, NULL, NULL);
  if (url[0] == '/')
    return g_strdup (url);
  return NULL;
}

/* {"known", "allowed", "detail"}: read, never written (no push, no fork). */
static JsonObject *
push_access (BktRepo *repo, gboolean offline)
{
  JsonObject *o = json_object_new ();
  g_autofree char *local = local_remote_path (bkt_repo_get_url (repo));
  g_autofree char *token = NULL;
  g_autoptr(GError) error = NULL;
  const char *source = NULL;
  gboolean push = FALSE, known = FALSE;
  g_autofree char *detail = NULL;

  if (local != NULL)
    {
      known = TRUE;
      push = g_access (local, W_OK) == 0;
      detail = g_strdup_printf ("%s is %swritable by this user", local, push ? "" : "not ");
    }
  else if (offline)
    detail = g_strdup ("not asked (--offline)");
  else if (bkt_repo_get_owner (repo) == NULL || bkt_repo_get_name (repo) == NULL)
    detail = g_strdup ("the forge's owner/name of the repo is not known (set \"owner\" and \"name\" in repo.json)");
  else if ((token = bkt_forge_find_token (bkt_repo_get_api_url (repo), &source)) == NULL)
    detail = g_strdup ("no forge token to ask the forge with (gh auth login)");
  else if (!bkt_forge_push_access (bkt_repo_get_api_url (repo), bkt_repo_get_owner (repo), bkt_repo_get_name (repo),
                                   token, &push, &known, NULL, &error))
    detail = g_strdup (error->message);
  else if (!known)
    detail = g_strdup ("the forge does not say");
  else
    detail = g_strdup_printf ("the forge says so for the token from %s", source);
  if (token != NULL)
    explicit_bzero (token, strlen (token));
  json_object_set_boolean_member (o, "known", known);
  if (known)
    json_object_set_boolean_member (o, "allowed", push);
  else
    json_object_set_null_member (o, "allowed");
  json_object_set_string_member (o, "detail", detail);
  return o;
}

/* The journal's counts: "local" (bkt local list) and "failed" (bkt pr
 * retry).  The file the session daemon keeps; read only. */
static void
add_queue (JsonObject *out)
{
  g_autofree char *path = bkt_pr_queue_default_path ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BktPrQueue) queue = bkt_pr_queue_load (path, &error);

  json_object_set_string_member (out, "queue", path);
  if (queue == NULL)
    {
      json_object_set_string_member (out, "queue_error", error->message);
      return;
    }
  {
    g_autoptr(GPtrArray) local = bkt_pr_queue_list (queue, "local");
    g_autoptr(GPtrArray) failed = bkt_pr_queue_list (queue, "failed");

    json_object_set_int_member (out, "local_changes", local->len);
    json_object_set_int_member (out, "failed_prs", failed->len);
  }
}

#define OPT_STRING(o, m, v) \
  G_STMT_START { if ((v) != NULL) json_object_set_string_member (o, m, v); \
                 else json_object_set_null_member (o, m); } G_STMT_END

static JsonObject *
repo_report (BktRepo *repo, gboolean offline)
{
  JsonObject *o = json_object_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BktGit) git = NULL;

  /* Opening the checkout completes owner/name/branch from origin; a
   * managed clone that is not there yet is cloned by the first proposal,
   * not by looking. */
  git = bkt_git_open (repo, NULL, FALSE, &error);
  json_object_set_string_member (o, "path", bkt_repo_get_path (repo));
  json_object_set_string_member (o, "source", bkt_repo_get_source (repo));
  json_object_set_string_member (o, "found_by", source_words (bkt_repo_get_source (repo)));
  json_object_set_boolean_member (o, "checkout", git != NULL);
  if (git == NULL)
    json_object_set_string_member (o, "checkout_error", error->message);
  OPT_STRING (o, "owner", bkt_repo_get_owner (repo));
  OPT_STRING (o, "name", bkt_repo_get_name (repo));
  OPT_STRING (o, "default_branch", bkt_repo_get_default_branch (repo));
  OPT_STRING (o, "url", bkt_repo_get_url (repo));
  json_object_set_string_member (o, "api_url", bkt_repo_get_api_url (repo));
  json_object_set_string_member (o, "fork", bkt_repo_get_fork (repo));
  json_object_set_object_member (o, "push", push_access (repo, offline));
  add_queue (o);
  return o;
}

static const char *
or_unknown (JsonObject *o, const char *member)
{
  const char *v = bkt_json_object_get_string (o, member);

  return v != NULL ? v : "(unknown)";
}

static void
print_report (JsonObject *o)
{
  JsonObject *push = json_object_get_object_member (o, "push");
  gboolean known = json_object_get_boolean_member (push, "known");

  g_print ("Repo:           %s\n", bkt_json_object_get_string (o, "path"));
  g_print ("Found by:       %s\n", bkt_json_object_get_string (o, "found_by"));
  if (!json_object_get_boolean_member (o, "checkout"))
    g_print ("Checkout:       not opened: %s\n", bkt_json_object_get_string (o, "checkout_error"));
  g_print ("Forge repo:     %s/%s\n", or_unknown (o, "owner"), or_unknown (o, "name"));
  g_print ("Default branch: %s\n", or_unknown (o, "default_branch"));
  g_print ("Remote:         %s\n", or_unknown (o, "url"));
  g_print ("Forge API:      %s (fork: %s)\n", bkt_json_object_get_string (o, "api_url"),
           bkt_json_object_get_string (o, "fork"));
  g_print ("Push access:    %s (%s)\n",
           !known ? "unknown" : json_object_get_boolean_member (push, "allowed") ? "yes" : "no",
           bkt_json_object_get_string (push, "detail"));
  if (json_object_has_member (o, "queue_error"))
    g_print ("Journal:        unreadable: %s\n", bkt_json_object_get_string (o, "queue_error"));
  else
    {
      g_print ("Local changes:  %" G_GINT64_FORMAT " (bkt local list; bkt local commit proposes them)\n",
               json_object_get_int_member (o, "local_changes"));
      g_print ("Failed PRs:     %" G_GINT64_FORMAT " (bkt pr retry)\n", json_object_get_int_member (o, "failed_prs"));
    }
}

static int
repo_info (Ctx *ctx, int argc, char **argv)
{
  gboolean offline = FALSE;
  const GOptionEntry entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_FILENAME, &ctx->opt.repo, "The distribution repo checkout", "DIR" },
    { "offline", 0, 0, G_OPTION_ARG_NONE, &offline, "Do not ask the forge about push access", NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(BktRepo) repo = NULL;
  g_autoptr(JsonObject) report = NULL;
  int code;

  if (!parse_command (ctx, entries, &argc, &argv, 0, 0, &code))
    return code;
  repo = discover (ctx, &error);
  if (repo == NULL)
    return fail (error);
  report = repo_report (repo, offline);
  if (ctx->opt.json)
    bkt_render_print_object (report);
  else
    print_report (report);
  return EXIT_OK;
}

const BktCommand bkt_repo_commands[] = {
  { "info", NULL, "the distribution repo: where, how found, forge name, remote, push access, queue", NULL,
    repo_info },
  { "path", NULL, "print the distribution repo's path (for scripts)", NULL, repo_path },
  { NULL }
};
