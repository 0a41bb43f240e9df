/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-config.h"
#include "bkt-error.h"
#include "bkt-json.h"
#include "bkt-os.h"
#include "bkt-remote.h"
#include "commands.h"

/* `bkt fleet status [HOST…]`: the person's machines, one row each, asked
 * concurrently over ssh (bkt-remote.c) — the same calls `bkt -H HOST
 * status` makes: the session daemon's DaemonVersion and Status, the system
 * daemon's BootcStatus.  A host that cannot be asked is a row with its
 * error, never the end of the table. */

/* At most this many hosts are asked at once (each is two ssh children). */
#define FLEET_JOBS_MAX 64
#define FLEET_JOBS_DEFAULT 16

typedef struct {
  const char *host;
  JsonObject *row;   /* filled by probe() */
} Probe;

/* The drift counts of a Status reply, summed over its subsystems: the
 * three-way split when the daemon sends one ("sync"), else all of an
 * item's drift is to apply (as `bkt status` shows it). */
static void
add_drift_counts (JsonObject *row, JsonObject *status)
{
  JsonObject *subsystems = bkt_os_member_object (status, "subsystems");
  g_autoptr(GList) names = subsystems != NULL ? json_object_get_members (subsystems) : NULL;
  gint64 apply = 0, capture = 0, conflict = 0;

  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *s = bkt_os_member_object (subsystems, l->data);
      JsonObject *sync = bkt_os_member_object (s, "sync");
      JsonNode *drift = s != NULL ? json_object_get_member (s, "drift") : NULL;

      if (sync != NULL)
        {
          apply += json_object_get_int_member_with_default (sync, "to_apply", 0);
          capture += json_object_get_int_member_with_default (sync, "to_capture", 0);
          conflict += json_object_get_int_member_with_default (sync, "conflict", 0);
        }
      else if (drift != NULL && JSON_NODE_HOLDS_ARRAY (drift))
        apply += json_array_get_length (json_node_get_array (drift));
    }
  json_object_set_int_member (row, "to_apply", apply);
  json_object_set_int_member (row, "to_capture", capture);
  json_object_set_int_member (row, "conflict", conflict);
}

/* The booted and staged images from the "os" section (bkt-os.c); a
 * machine without bootc (or whose system daemon is not reachable) has
 * none, which is not an error of the row. */
static void
add_image (JsonObject *row, JsonObject *os)
{
  JsonObject *bootc = bkt_os_member_object (os, "bootc");
  JsonObject *booted = bkt_os_member_object (bootc, "booted");
  JsonObject *staged = bkt_os_member_object (bootc, "staged");
  const char *booted_v = booted != NULL ? bkt_json_object_get_string (booted, "version") : NULL;
  const char *staged_v = staged != NULL ? bkt_json_object_get_string (staged, "version") : NULL;

  json_object_set_boolean_member (row, "bootc", bootc != NULL);
  if (booted != NULL)
    json_object_set_string_member (row, "image", booted_v != NULL ? booted_v : bkt_json_object_get_string (booted, "image"));
  if (staged != NULL)
    json_object_set_string_member (row, "staged", staged_v != NULL ? staged_v : bkt_json_object_get_string (staged, "image"));
  if (bootc == NULL && bkt_json_object_get_string (os, "reason") != NULL)
    json_object_set_string_member (row, "image_note", bkt_json_object_get_string (os, "reason"));
}

static void
probe (gpointer data, gpointer user_data)
{
  Probe *p = data;
  g_autoptr(BktClient) client = bkt_client_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(JsonObject) os = NULL;
  g_autofree char *version = NULL;
  gint64 t0 = g_get_monotonic_time ();

  p->row = json_object_new ();
  json_object_set_string_member (p->row, "host", p->host);
  /* never a prompt: many hosts at once, ssh's BatchMode */
  bkt_client_set_interactive (client, FALSE);
  if (bkt_client_set_host (client, p->host, &error))
    {
      /* the skew goes in the row, not to stderr */
      bkt_client_set_report_skew (client, FALSE);
      version = bkt_client_daemon_version (client, BKT_TARGET_SESSION, &error);
    }
  if (version == NULL)
    {
      json_object_set_boolean_member (p->row, "reachable", FALSE);
      json_object_set_string_member (p->row, "error", error->message);
      json_object_set_int_member (p->row, "elapsed_ms", (g_get_monotonic_time () - t0) / 1000);
      return;
    }
  json_object_set_boolean_member (p->row, "reachable", TRUE);
  json_object_set_string_member (p->row, "bktd", version);
  json_object_set_boolean_member (p->row, "version_skew", !g_str_equal (version, PACKAGE_VERSION));
  status = bkt_client_call_json (client, BKT_TARGET_SESSION, "Status",
                                 g_variant_new ("(@a{sv})", g_variant_new ("a{sv}", NULL)), &error);
  if (status != NULL)
    add_drift_counts (p->row, status);
  os = bkt_os_section (client);
  add_image (p->row, os);
  if (!g_str_equal (version, PACKAGE_VERSION) || status == NULL)
    {
      g_autoptr(GString) msg = g_string_new (NULL);
      if (!g_str_equal (version, PACKAGE_VERSION))
        g_string_append_printf (msg, "version skew: bktd %s there, bkt %s here", version, PACKAGE_VERSION);
      if (status == NULL)
        g_string_append_printf (msg, "%sStatus failed: %s", msg->len > 0 ? "; " : "", error->message);
      json_object_set_string_member (p->row, "error", msg->str);
    }
  json_object_set_int_member (p->row, "elapsed_ms", (g_get_monotonic_time () - t0) / 1000);
}

/* The hosts: the arguments, else config.json's "hosts" (an array of
 * strings); each must be a valid ssh destination. */
static GPtrArray *
fleet_hosts (int argc, char **argv, GError **error)
{
  g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonObject) config = NULL;
  g_autofree char *path = NULL;
  JsonNode *node;

  for (int i = 1; i < argc; i++)
    g_ptr_array_add (hosts, g_strdup (argv[i]));
  if (hosts->len == 0)
    {
      config = bkt_config_load (error);
      if (config == NULL)
        return NULL;
      path = bkt_config_path ();
      node = json_object_get_member (config, "hosts");
      if (node == NULL || JSON_NODE_HOLDS_NULL (node))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "no HOST given and no \"hosts\" list in %s", path), NULL;
      if (!JSON_NODE_HOLDS_ARRAY (node))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "%s: \"hosts\" must be an array of host names", path), NULL;
      for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
        {
          JsonNode *h = json_array_get_element (json_node_get_array (node), i);
          if (!JSON_NODE_HOLDS_VALUE (h) || json_node_get_value_type (h) != G_TYPE_STRING)
            return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "%s: \"hosts\"[%u] is not a string", path, i), NULL;
          g_ptr_array_add (hosts, g_strdup (json_node_get_string (h)));
        }
    }
  if (hosts->len == 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "%s: \"hosts\" is empty", path), NULL;
  for (guint i = 0; i < hosts->len; i++)
    if (!bkt_remote_host_valid (g_ptr_array_index (hosts, i), error))
      return NULL;
  return g_steal_pointer (&hosts);
}

static char *
count_cell (JsonObject *row, const char *member)
{
  return json_object_has_member (row, member)
    ? g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (row, member)) : g_strdup ("-");
}

static void
print_table (Probe *probes, guint n)
{
  int width = 4;

  for (guint i = 0; i < n; i++)
    width = MAX (width, (int) strlen (probes[i].host));
  g_print ("%-*s  %-10s %-14s %-14s %8s %10s %8s  %s\n", width, "HOST", "BKTD", "IMAGE", "STAGED",
           "TO APPLY", "TO CAPTURE", "CONFLICT", "ERROR");
  for (guint i = 0; i < n; i++)
    {
      JsonObject *r = probes[i].row;
      const char *image = bkt_json_object_get_string (r, "image");
      const char *staged = bkt_json_object_get_string (r, "staged");
      const char *bktd = bkt_json_object_get_string (r, "bktd");
      const char *err = bkt_json_object_get_string (r, "error");
      g_autofree char *apply = count_cell (r, "to_apply");
      g_autofree char *capture = count_cell (r, "to_capture");
      g_autofree char *conflict = count_cell (r, "conflict");

      g_print ("%-*s  %-10s %-14s %-14s %8s %10s %8s  %s\n", width, probes[i].host, bktd ? bktd : "-",
               image ? image : "-", staged ? staged : "-", apply, capture, conflict, err ? err : "");
    }
}

static int
fleet_status (Ctx *ctx, int argc, char **argv)
{
  int jobs = FLEET_JOBS_DEFAULT;
  const GOptionEntry entries[] = {
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "Ask at most N hosts at once (1: one after the other)", "N" },
    { NULL }
  };
  g_autoptr(GPtrArray) hosts = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree Probe *probes = NULL;
  GThreadPool *pool;
  int code = EXIT_OK;

  if (!parse_command (ctx, entries, &argc, &argv, 0, G_MAXUINT, &code))
    return code;
  if (jobs < 1 || jobs > FLEET_JOBS_MAX)
    {
      g_printerr ("bkt: fleet status: --jobs is 1 to %d, not %d\n", FLEET_JOBS_MAX, jobs);
      return EXIT_USAGE;
    }
  hosts = fleet_hosts (argc, argv, &error);
  if (hosts == NULL)
    return fail (error);
  probes = g_new0 (Probe, hosts->len);
  pool = g_thread_pool_new (probe, NULL, MIN ((guint) jobs, hosts->len), TRUE, NULL);
  for (guint i = 0; i < hosts->len; i++)
    {
      probes[i].host = g_ptr_array_index (hosts, i);
      g_thread_pool_push (pool, &probes[i], NULL);
    }
  g_thread_pool_free (pool, FALSE, TRUE);   /* waits for every probe */

  for (guint i = 0; i < hosts->len; i++)
    if (json_object_has_member (probes[i].row, "error"))
      code = EXIT_FAILED;
  if (ctx->opt.json)
    {
      g_autoptr(JsonObject) out = json_object_new ();
      JsonArray *rows = json_array_new ();
      for (guint i = 0; i < hosts->len; i++)
        json_array_add_object_element (rows, json_object_ref (probes[i].row));
      json_object_set_array_member (out, "hosts", rows);
      json_object_set_string_member (out, "bkt", PACKAGE_VERSION);
      bkt_render_print_object (out);
    }
  else
    print_table (probes, hosts->len);
  for (guint i = 0; i < hosts->len; i++)
    json_object_unref (probes[i].row);
  return code;
}

const BktCommand bkt_fleet_commands[] = {
  { "status", NULL, "one row per machine: bktd, image, staged update, drift, error (asked concurrently)",
    "[HOST…]", fleet_status },
  { NULL }
};
