/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bkt-bootc.h"
#include "bkt-error.h"

static const char * const transports[] = {
  "registry", "oci", "oci-archive", "containers-storage", "dir", NULL
};

const char *
bkt_bootc_path (void)
{
  const char *env = g_getenv ("BKT_BOOTC");

  return env != NULL && *env != '\0' ? env : BKT_BOOTC_PATH;
}

gboolean
bkt_bootc_check_image (const char *image, GError **error)
{
  gsize len = strlen (image);

  if (len == 0 || len > BKT_BOOTC_MAX_IMAGE_LEN)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                        "an image reference must be 1 to %d characters long (got %" G_GSIZE_FORMAT ")",
                        BKT_BOOTC_MAX_IMAGE_LEN, len), FALSE;
  if (image[0] == '-')
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                                "an image reference must not start with “-”"), FALSE;
  /* The grammar of container references (host[:port]/path[:tag][@digest])
   * plus the path characters of the oci/dir transports; nothing a shell,
   * a terminal or an option parser would interpret. */
  for (gsize i = 0; i < len; i++)
    {
      char c = image[i];
      if (!(g_ascii_isalnum (c) || strchr ("._:/@+-", c) != NULL))
        return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                            "the image reference has an invalid character at position %" G_GSIZE_FORMAT
                            " (allowed: letters, digits and . _ : / @ + -)", i + 1), FALSE;
    }
  return TRUE;
}

gboolean
bkt_bootc_check_transport (const char *transport, GError **error)
{
  if (g_strv_contains (transports, transport))
    return TRUE;
  return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT,
                      "unknown image transport “%.64s” (one of: registry, oci, oci-archive, "
                      "containers-storage, dir)", transport), FALSE;
}

/* ---- status ----------------------------------------------------------------- */

static JsonObject *
member_object (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static void
copy_string (JsonObject *to, const char *to_name, JsonObject *from, const char *name)
{
  JsonNode *n = from != NULL ? json_object_get_member (from, name) : NULL;

  if (n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    json_object_set_string_member (to, to_name, json_node_get_string (n));
  else
    json_object_set_null_member (to, to_name);
}

/* ImageStatus → {"image","transport","version","digest","timestamp","architecture"} */
static JsonObject *
compact_image (JsonObject *image_status)
{
  JsonObject *out = json_object_new ();
  JsonObject *ref = member_object (image_status, "image");

  copy_string (out, "image", ref, "image");
  copy_string (out, "transport", ref, "transport");
  copy_string (out, "version", image_status, "version");
  copy_string (out, "digest", image_status, "imageDigest");
  copy_string (out, "timestamp", image_status, "timestamp");
  copy_string (out, "architecture", image_status, "architecture");
  return out;
}

/* Where the deployment's files are (/ostree/deploy/STATEROOT/deploy/
 * CHECKSUM.SERIAL): `bkt upgrade` reads the staged image's manifests and
 * changelog there. */
static void
set_ostree (JsonObject *e, JsonObject *ostree)
{
  JsonObject *o;
  JsonNode *serial = ostree != NULL ? json_object_get_member (ostree, "deploySerial") : NULL;

  if (ostree == NULL)
    {
      json_object_set_null_member (e, "ostree");
      return;
    }
  o = json_object_new ();
  copy_string (o, "stateroot", ostree, "stateroot");
  copy_string (o, "checksum", ostree, "checksum");
  if (serial != NULL && JSON_NODE_HOLDS_VALUE (serial) && json_node_get_value_type (serial) == G_TYPE_INT64)
    json_object_set_int_member (o, "deploy_serial", json_node_get_int (serial));
  else
    json_object_set_null_member (o, "deploy_serial");
  json_object_set_object_member (e, "ostree", o);
}

static void
set_entry (JsonObject *out, const char *name, JsonObject *status)
{
  JsonObject *entry = member_object (status, name);
  JsonObject *image = member_object (entry, "image");
  JsonObject *e;

  if (entry == NULL)
    {
      json_object_set_null_member (out, name);
      return;
    }
  e = image != NULL ? compact_image (image) : json_object_new ();
  json_object_set_boolean_member (e, "pinned", json_object_get_boolean_member_with_default (entry, "pinned", FALSE));
  set_ostree (e, member_object (entry, "ostree"));
  json_object_set_object_member (out, name, e);
  if (g_str_equal (name, "booted"))
    {
      JsonObject *cached = member_object (entry, "cachedUpdate");
      if (cached != NULL)
        json_object_set_object_member (out, "cached_update", compact_image (cached));
      else
        json_object_set_null_member (out, "cached_update");
    }
}

JsonObject *
bkt_bootc_status_from_json (const char *text, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  JsonObject *host, *status, *out;
  JsonNode *root;
  gboolean rollback_queued;

  if (!json_parser_load_from_data (parser, text, -1, &local))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED,
                        "bootc status printed invalid JSON: %s", local->message), NULL;
  root = json_parser_get_root (parser);
  host = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  if (host == NULL || g_strcmp0 (json_object_get_string_member_with_default (host, "kind", ""), "BootcHost") != 0)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_FAILED,
                                "bootc status printed no BootcHost document"), NULL;
  status = member_object (host, "status");
  out = json_object_new ();
  copy_string (out, "type", status, "type");
  set_entry (out, "booted", status);
  set_entry (out, "staged", status);
  set_entry (out, "rollback", status);
  if (!json_object_has_member (out, "cached_update"))
    json_object_set_null_member (out, "cached_update");
  rollback_queued = status != NULL && json_object_get_boolean_member_with_default (status, "rollbackQueued", FALSE);
  json_object_set_boolean_member (out, "rollback_queued", rollback_queued);
  /* What a user wants to know: is something waiting for a reboot? */
  json_object_set_boolean_member (out, "reboot_required",
                                  rollback_queued || member_object (status, "staged") != NULL);
  {
    JsonObject *spec_image = member_object (member_object (host, "spec"), "image");
    if (spec_image != NULL)
      {
        JsonObject *spec = json_object_new ();
        copy_string (spec, "image", spec_image, "image");
        copy_string (spec, "transport", spec_image, "transport");
        json_object_set_object_member (out, "spec", spec);
      }
    else
      json_object_set_null_member (out, "spec");
  }
  return out;
}

JsonObject *
bkt_bootc_status (GCancellable *cancellable, GError **error)
{
  const char * const args[] = { "status", "--json", "--format-version", "1", NULL };
  g_autofree char *out = NULL;

  if (!bkt_bootc_run (NULL, args, FALSE, NULL, NULL, &out, cancellable, error))
    return NULL;
  return bkt_bootc_status_from_json (out, error);
}

/* ---- progress ----------------------------------------------------------------- */

static guint64
uint_member (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return 0;
  return (guint64) MAX (json_node_get_int (n), 0);
}

gboolean
bkt_bootc_parse_progress (const char *line, double *fraction, char **detail)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *ev;
  const char *type, *description;

  *fraction = -1;
  *detail = NULL;
  if (!json_parser_load_from_data (parser, line, -1, NULL))
    return FALSE;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  ev = json_node_get_object (root);
  type = json_object_get_string_member_with_default (ev, "type", "");
  description = json_object_get_string_member_with_default (ev, "description", "");

  if (g_str_equal (type, "Start"))
    {
      *detail = g_strdup ("starting");
      return TRUE;
    }
  if (g_str_equal (type, "ProgressBytes"))
    {
      guint64 bytes = uint_member (ev, "bytes"), total = uint_member (ev, "bytesTotal");
      guint64 steps = uint_member (ev, "steps"), steps_total = uint_member (ev, "stepsTotal");
      g_autofree char *b = g_format_size (bytes);
      g_autofree char *t = g_format_size (total);

      /* bytesTotal 0 means "unspecified": fall back to layers. */
      if (total > 0)
        *fraction = (double) MIN (bytes, total) / (double) total;
      else if (steps_total > 0)
        *fraction = (double) MIN (steps, steps_total) / (double) steps_total;
      if (steps_total > 0)
        *detail = g_strdup_printf ("%s: %s / %s, layer %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                                   *description ? description : "pulling", b, total > 0 ? t : "?",
                                   MIN (steps + 1, steps_total), steps_total);
      else
        *detail = g_strdup_printf ("%s: %s / %s", *description ? description : "pulling", b,
                                   total > 0 ? t : "?");
      return TRUE;
    }
  if (g_str_equal (type, "ProgressSteps"))
    {
      guint64 steps = uint_member (ev, "steps"), steps_total = uint_member (ev, "stepsTotal");
      JsonNode *sub = json_object_get_member (ev, "subtasks");
      const char *current = NULL;

      if (steps_total > 0)
        *fraction = (double) MIN (steps, steps_total) / (double) steps_total;
      /* The running subtask says what is happening now ("deploying"). */
      if (sub != NULL && JSON_NODE_HOLDS_ARRAY (sub))
        {
          JsonArray *a = json_node_get_array (sub);
          for (guint i = 0; i < json_array_get_length (a); i++)
            {
              JsonNode *st = json_array_get_element (a, i);
              if (JSON_NODE_HOLDS_OBJECT (st) &&
                  !json_object_get_boolean_member_with_default (json_node_get_object (st), "completed", FALSE))
                current = json_object_get_string_member_with_default (json_node_get_object (st),
                                                                      "description", NULL);
            }
        }
      *detail = g_strdup_printf ("%s: step %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "%s%s",
                                 *description ? description : "working", steps, steps_total,
                                 current ? ", " : "", current ? current : "");
      return TRUE;
    }
  return FALSE;
}
