/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-base.h"
#include "bkt-error.h"
#include "bkt-json.h"
#include "bkt-operation.h"
#include "bkt-pr-maint.h"
#include "bkt-upstream.h"

gboolean
bkt_pr_maint_is_subsystem (const char *subsystem)
{
  return g_strcmp0 (subsystem, "upstream") == 0 || g_strcmp0 (subsystem, "base") == 0;
}

static const char *
arg (GVariant *arguments, const char *key)
{
  const char *v = NULL;

  if (!g_variant_lookup (arguments, key, "&s", &v))
    return NULL;
  return v;
}

/* The pin the client computed (download, sha256), as the file holds it. */
static JsonObject *
pin_from (GVariant *arguments, GError **error)
{
  g_autoptr(GVariant) pinned = g_variant_lookup_value (arguments, "pinned", G_VARIANT_TYPE ("a{ss}"));
  static const char *const members[] = { "version", "commit", "url", "sha256", "pinned_at" };
  JsonObject *pin;

  if (pinned == NULL)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "the change needs its new pin (\"pinned\", a{ss})"), NULL;
  pin = json_object_new ();
  /* Only what a pin holds, in the original's order. */
  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      const char *v = NULL;
      if (g_variant_lookup (pinned, members[i], "&s", &v))
        json_object_set_string_member (pin, members[i], v);
    }
  return pin;
}

/* The PR's words: "feat(SCOPE): DESCRIBE", and the draft changelog
 * entry's type and message. */
static JsonObject *
pr_words (const char *scope, const char *describe, const char *type, const char *message)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "scope", scope);
  json_object_set_string_member (o, "describe", describe);
  json_object_set_string_member (o, "changelog_type", type);
  json_object_set_string_member (o, "changelog_message", message);
  return o;
}

/* @from: the version an update or a lock expects the branch's pin to
 * have (bkt-pr-files.c refuses to move a pin that moved elsewhere). */
static BktPlan *
one_edit (const char *subsystem, const char *action, const char *doc, const char *name, JsonObject *entry,
          const char *from, const char *summary, JsonObject *words)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(JsonObject) details = json_object_new ();
  g_autofree char *target = g_strdup_printf ("%s:%s", subsystem, name);

  json_object_set_string_member (details, "manifest", doc);
  if (entry != NULL)
    json_object_set_object_member (details, "entry", json_object_ref (entry));
  json_object_set_string_member (details, "key", name);
  if (from != NULL)
    json_object_set_string_member (details, "from", from);
  json_object_set_object_member (details, "pr", words);
  g_ptr_array_add (ops, bkt_operation_new (subsystem, entry != NULL ? "record" : "forget", target,
                                           BKT_SCOPE_USER, BKT_EFFECT_MANIFEST, summary, details));
  return bkt_plan_new ("change", ops, NULL);
}

static BktPlan *
plan_upstream (const char *action, GVariant *arguments, GError **error)
{
  const char *name = arg (arguments, "name");
  const char *from = arg (arguments, "from");
  g_autofree char *why = NULL;
  g_autofree char *message = NULL;
  g_autofree char *describe = NULL;
  g_autofree char *summary = NULL;
  g_autoptr(JsonObject) entry = NULL;
  const char *type = NULL;
  const char *to = NULL;
  const char *github = arg (arguments, "github");

  if (name == NULL || (why = bkt_upstream_check_name (name)) != NULL)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "not an upstream name: “%s” %s",
                        name ? name : "", why ? why : "(missing)"), NULL;
  if (g_str_equal (action, "remove"))
    {
      message = bkt_upstream_change_message (action, name, NULL, NULL, NULL, &type);
      describe = g_strdup_printf ("remove %s", name);
      return one_edit ("upstream", action, "upstream", name, NULL, NULL, message,
                       pr_words ("upstream", describe, type, message));
    }
  if (!g_str_equal (action, "update") && !g_str_equal (action, "pin") && !g_str_equal (action, "lock")
      && !g_str_equal (action, "add"))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "unknown upstream change “%s” (update, pin, lock, add or remove)", action), NULL;

  if (g_str_equal (action, "add"))
    {
      const char *release_type = arg (arguments, "release-type");

      if (github == NULL || (why = bkt_upstream_check_repo (github)) != NULL)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "upstream add needs its GitHub "
                            "repository OWNER/REPO%s%s", why ? ": " : "", why ? why : ""), NULL;
      entry = bkt_upstream_new_entry (name, arg (arguments, "description"), github, arg (arguments, "asset-pattern"),
                                      g_strcmp0 (release_type, "tag") == 0, arg (arguments, "policy"));
    }
  else
    {
      entry = json_object_new ();
      json_object_set_string_member (entry, "name", name);
    }
  {
    JsonObject *pin = pin_from (arguments, error);
    if (pin == NULL)
      return NULL;
    json_object_set_object_member (entry, "pinned", pin);
    to = bkt_json_object_get_string (pin, "version");
  }
  if (!bkt_upstream_check_change (entry, error))
    return NULL;
  if (!g_str_equal (action, "add") && (from == NULL || !bkt_upstream_version_ok (from)))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "upstream %s needs the version it replaces (\"from\")", action), NULL;
  message = bkt_upstream_change_message (action, name, from, to, github, &type);
  describe = g_str_equal (action, "lock") ? g_strdup_printf ("lock %s %s", name, to)
             : g_strdup_printf ("%s %s %s %s", action, name, g_str_equal (action, "add") ? "at" : "to", to);
  summary = g_strdup (message);
  /* pin moves to the version asked for whatever the branch has; update
   * and lock start from the checkout's pin. */
  return one_edit ("upstream", action, "upstream", name, entry,
                   g_str_equal (action, "update") || g_str_equal (action, "lock") ? from : NULL, summary,
                   pr_words ("upstream", describe, type, message));
}

static BktPlan *
plan_base (const char *action, GVariant *arguments, GError **error)
{
  const char *name = arg (arguments, "name");
  const char *reason = arg (arguments, "reason");
  gboolean remove = g_str_equal (action, "unassume");
  g_autofree char *message = NULL;
  g_autofree char *describe = NULL;
  g_autoptr(JsonObject) entry = NULL;

  if (!remove && !g_str_equal (action, "assume"))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "unknown base change “%s” (assume or unassume)", action), NULL;
  if (name == NULL || !bkt_base_package_name_ok (name))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "not a package name: “%s”",
                        name ? name : ""), NULL;
  if (reason != NULL && (strlen (reason) > 1024 || !g_utf8_validate (reason, -1, NULL)))
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "the reason must be UTF-8 text of at most 1024 bytes"), NULL;
  message = bkt_base_change_message (NULL, name, remove ? NULL : reason, remove);
  describe = g_strdup_printf ("%s %s", action, name);
  if (!remove)
    {
      entry = json_object_new ();
      json_object_set_string_member (entry, "name", name);
      if (reason != NULL)
        json_object_set_string_member (entry, "reason", reason);
    }
  return one_edit ("base", action, "base-image-assumptions", name, entry, NULL, message,
                   pr_words ("base", describe, remove ? "removed" : "added", message));
}

BktPlan *
bkt_pr_maint_plan_change (const char *subsystem, const char *action, GVariant *arguments, GError **error)
{
  if (g_strcmp0 (subsystem, "upstream") == 0)
    return plan_upstream (action, arguments, error);
  if (g_strcmp0 (subsystem, "base") == 0)
    return plan_base (action, arguments, error);
  return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "unknown subsystem “%s”", subsystem), NULL;
}
