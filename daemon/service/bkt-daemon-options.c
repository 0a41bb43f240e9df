/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-daemon-private.h"
#include "bkt-error.h"
#include "bkt-limits.h"

/* The a{sv} options of the Manager methods, checked before any work and
 * before polkit (every local user reaches the system instance): known
 * names of the right type only, each bounded; and the names (ids, items)
 * that cross the bus into a plan. */

/* Bounds on what a client may hand us for the PR's text. */
#define BKT_MAX_COMMAND 1024
/* A capture of named items (the watcher's Propose) names at most this many. */
#define BKT_MAX_TARGETS 4096

/* The item is matched against targets and manifest keys, never used as a
 * path or an argument: bounded, valid UTF-8, no control characters. */
gboolean
bkt_daemon_check_item (const char *item, GError **error)
{
  gsize len = strlen (item);

  if (len == 0 || len > 1024)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "the item must be 1 to 1024 bytes long"), FALSE;
  if (!g_utf8_validate (item, len, NULL))
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "the item is not valid UTF-8"), FALSE;
  for (const char *p = item; *p != '\0'; p++)
    if (g_ascii_iscntrl (*p))
      return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                  "the item has a control character"), FALSE;
  return TRUE;
}


gboolean
bkt_daemon_parse_options (Request *r, GVariant *options, GError **error)
{
  GVariantIter iter;
  gboolean system = r->daemon->instance == BKT_INSTANCE_SYSTEM;

  g_variant_iter_init (&iter, options);
  for (;;)
    {
      /* Not g_variant_iter_loop(): returning from its loop leaks. */
      g_autoptr(GVariant) entry = g_variant_iter_next_value (&iter);
      g_autoptr(GVariant) value = NULL;
      const char *key;

      if (entry == NULL)
        break;
      g_variant_get (entry, "{&sv}", &key, &value);
      if ((g_str_equal (key, "only") || g_str_equal (key, "exclude")) &&
          g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
        {
          GStrv *dest = g_str_equal (key, "only") ? &r->opt.only : &r->opt.exclude;
          g_strfreev (*dest);
          *dest = g_variant_dup_strv (value, NULL);
          if (!bkt_engine_check_subsystem_names (*dest, error))
            return FALSE;
        }
      else if (g_str_equal (key, "manifests-dir") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          if (system)
            return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                        "the system instance never reads a path: send the "
                                        "system-scope manifests as content in \"manifest\""), FALSE;
          g_free (r->opt.manifests_dir);
          r->opt.manifests_dir = g_variant_dup_string (value, NULL);
          if (!g_path_is_absolute (r->opt.manifests_dir))
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "\"manifests-dir\" must be an absolute path, not “%s”",
                                r->opt.manifests_dir), FALSE;
        }
      else if (g_str_equal (key, "image-manifests-dir") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          /* The staged image's manifests as the lower layer: what `bkt
           * apply` will do after the next boot (bkt upgrade). */
          if (system)
            return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                        "the system instance never reads a path: send the "
                                        "system-scope manifests as content in \"manifest\""), FALSE;
          g_free (r->opt.image_manifests_dir);
          r->opt.image_manifests_dir = g_variant_dup_string (value, NULL);
          if (!g_path_is_absolute (r->opt.image_manifests_dir))
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "\"image-manifests-dir\" must be an absolute path, not “%s”",
                                r->opt.image_manifests_dir), FALSE;
        }
      else if (g_str_equal (key, "manifest") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          gsize len = 0;
          const char *s = g_variant_get_string (value, &len);

          if (!system)
            return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                        "\"manifest\" is only for the system instance; the "
                                        "session instance reads the layered manifests"), FALSE;
          /* Refused before parsing and before polkit: oversized or too
           * deep content costs nothing but one scan of its bytes. */
          if (!bkt_limits_check_content (s, len, error))
            return FALSE;
          g_free (r->opt.content);
          r->opt.content = g_strndup (s, len);
        }
      else if (g_str_equal (key, "dry-run") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        r->opt.dry_run = g_variant_get_boolean (value);
      else if (g_str_equal (key, "force") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        r->opt.force = g_variant_get_boolean (value);
      else if (g_str_equal (key, "resolve") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          if (!bkt_resolve_from_string (g_variant_get_string (value, NULL), &r->opt.resolve))
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "unknown \"resolve\" “%s” (theirs, ours)", g_variant_get_string (value, NULL)), FALSE;
        }
      else if (!system && g_str_equal (key, "targets") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
        {
          g_strfreev (r->opt.targets);
          r->opt.targets = g_variant_dup_strv (value, NULL);
          if (g_strv_length (r->opt.targets) == 0 || g_strv_length (r->opt.targets) > BKT_MAX_TARGETS)
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "\"targets\" names 1 to %d items", BKT_MAX_TARGETS), FALSE;
        }
      else if (g_str_equal (key, "prune") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        {
          /* Removal is what an apply plan may add, nothing else: a status
           * or capture that "prunes" would mean something else. */
          if (r->kind != REQ_PLAN && r->kind != REQ_APPLY)
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "\"prune\" is an option of Plan and Apply only, not of %s",
                                bkt_daemon_request_info (r->kind)->method), FALSE;
          r->opt.prune = g_variant_get_boolean (value);
        }
      else if (g_str_equal (key, "select") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
        {
          g_strfreev (r->opt.select);
          r->opt.select = g_variant_dup_strv (value, NULL);
          for (guint i = 0; r->opt.select[i] != NULL; i++)
            if (!bkt_daemon_check_item (r->opt.select[i], error))
              return FALSE;
        }
      else if (g_str_equal (key, "all-untracked") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        r->opt.all_untracked = g_variant_get_boolean (value);
      else if (g_str_equal (key, "record-only") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        ; /* accepted for compatibility: the session never runs system operations anyway */
      else if (!system && g_str_equal (key, "mode") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          if (!bkt_change_mode_from_string (g_variant_get_string (value, NULL), &r->pun.mode))
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "unknown mode “%s” (pr, local, pr-only, image)",
                                g_variant_get_string (value, NULL)), FALSE;
          r->pun.mode_set = TRUE;
        }
      else if (!system && (g_str_equal (key, "repo-dir") || g_str_equal (key, "cwd")) &&
               g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          char **dest = g_str_equal (key, "cwd") ? &r->pun.cwd : &r->pun.repo_dir;
          g_free (*dest);
          *dest = g_variant_dup_string (value, NULL);
          if (!g_path_is_absolute (*dest))
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "\"%s\" must be an absolute path, not “%s”", key, *dest), FALSE;
        }
      else if (!system && g_str_equal (key, "command") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          gsize len = 0;
          const char *c = g_variant_get_string (value, &len);
          /* Only text for the PR body: cut, never refused. */
          g_free (r->pun.command);
          r->pun.command = g_utf8_make_valid (c, MIN (len, BKT_MAX_COMMAND));
        }
      else if (!system && g_str_equal (key, "skip-preflight") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        r->pun.skip_preflight = g_variant_get_boolean (value);
      else
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "unknown option “%s” of type %s", key,
                            g_variant_get_type_string (value)), FALSE;
    }
  return TRUE;
}

/* ---- identifiers crossing the bus ------------------------------------------- */

gboolean
bkt_daemon_check_name (const char *what, const char *value, GError **error)
{
  gsize len = strlen (value);

  /* Names later reach libflatpak, and in later subsystems command lines:
   * refuse anything that could be read as an option or a path. */
  if (len == 0 || len > 255)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s must be 1 to 255 characters long", what), FALSE;
  if (value[0] == '-' || value[0] == '.')
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "%s “%s” must not start with “%c”", what, value, value[0]), FALSE;
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_isalnum (value[i]) || value[i] == '.' || value[i] == '_' || value[i] == '-'))
      return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                          "%s “%s” has an invalid character at position %" G_GSIZE_FORMAT,
                          what, value, i + 1), FALSE;
  return TRUE;
}
