/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "bkt-engine.h"
#include "bkt-error.h"
#include "bkt-extensions.h"
#include "bkt-fsutil.h"
#include "bkt-manifest.h"
#include "bkt-zip.h"
#include "bkt-test.h"

/* GNOME Shell extensions without a shell: an extensions.gnome.org stand-in
 * (a SoupServer on 127.0.0.1 in its own thread, answering with the JSON
 * shapes of the real site and real zip files built here), the keyfile
 * GSettings backend with a compiled copy of org.gnome.shell's two
 * extension keys, and private XDG directories.  BKT_GNOME_SHELL=absent
 * keeps the subsystem from asking any session bus for a shell. */

static const char *tmp_root;
static char *user_ext_dir;   /* $XDG_DATA_HOME/gnome-shell/extensions */
static char *server_url;

/* ── zip files ─────────────────────────────────────────────────────────── */

static guint32
crc32_of (const guint8 *data, gsize len)
{
  guint32 crc = 0xffffffffu;

  for (gsize i = 0; i < len; i++)
    {
      crc ^= data[i];
      for (int k = 0; k < 8; k++)
        crc = crc & 1 ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
    }
  return ~crc;
}

static void
put16 (GByteArray *a, guint v)
{
  guint8 b[2] = { v & 0xff, (v >> 8) & 0xff };
  g_byte_array_append (a, b, 2);
}

static void
put32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff };
  g_byte_array_append (a, b, 4);
}

typedef struct
{
  const char *name;
  const char *data;
  gboolean    deflate;
  guint32     unix_mode;  /* 0: a plain file */
} ZipMember;

static GBytes *
deflate_raw (const char *data, gsize len)
{
  g_autoptr(GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW, 9);
  guint8 out[65536];
  gsize r = 0, w = 0;
  g_autoptr(GError) error = NULL;
  GConverterResult res = g_converter_convert (G_CONVERTER (z), data, len, out, sizeof out,
                                              G_CONVERTER_INPUT_AT_END, &r, &w, &error);

  g_assert_no_error (error);
  g_assert_cmpint (res, ==, G_CONVERTER_FINISHED);
  return g_bytes_new (out, w);
}

/* A real zip as `zip` writes it: local headers and data, central
 * directory, end record. */
static GBytes *
make_zip (const ZipMember *members, guint n)
{
  GByteArray *zip = g_byte_array_new ();
  g_autoptr(GByteArray) central = g_byte_array_new ();

  for (guint i = 0; i < n; i++)
    {
      const ZipMember *m = &members[i];
      gsize len = strlen (m->data);
      g_autoptr(GBytes) packed = m->deflate ? deflate_raw (m->data, len) : g_bytes_new (m->data, len);
      gsize plen = g_bytes_get_size (packed);
      guint32 crc = crc32_of ((const guint8 *) m->data, len);
      guint32 offset = zip->len;
      guint32 mode = m->unix_mode ? m->unix_mode : (g_str_has_suffix (m->name, "/") ? 040755 : 0100644);

      put32 (zip, 0x04034b50); put16 (zip, 20); put16 (zip, 0); put16 (zip, m->deflate ? 8 : 0);
      put16 (zip, 0); put16 (zip, 0); put32 (zip, crc); put32 (zip, plen); put32 (zip, len);
      put16 (zip, strlen (m->name)); put16 (zip, 0);
      g_byte_array_append (zip, (const guint8 *) m->name, strlen (m->name));
      g_byte_array_append (zip, g_bytes_get_data (packed, NULL), plen);

      put32 (central, 0x02014b50); put16 (central, (3 << 8) | 20); put16 (central, 20); put16 (central, 0);
      put16 (central, m->deflate ? 8 : 0); put16 (central, 0); put16 (central, 0); put32 (central, crc);
      put32 (central, plen); put32 (central, len); put16 (central, strlen (m->name)); put16 (central, 0);
      put16 (central, 0); put16 (central, 0); put16 (central, 0); put32 (central, mode << 16);
      put32 (central, offset);
      g_byte_array_append (central, (const guint8 *) m->name, strlen (m->name));
    }
  {
    guint32 cd_offset = zip->len;
    g_byte_array_append (zip, central->data, central->len);
    put32 (zip, 0x06054b50); put16 (zip, 0); put16 (zip, 0); put16 (zip, n); put16 (zip, n);
    put32 (zip, central->len); put32 (zip, cd_offset); put16 (zip, 0);
  }
  return g_byte_array_free_to_bytes (zip);
}

static GBytes *
extension_zip (const char *uuid, const char *shell_version)
{
  g_autofree char *metadata = g_strdup_printf ("{\n  \"uuid\": \"%s\",\n  \"name\": \"Test\",\n"
                                               "  \"shell-version\": [\"%s\"]\n}\n", uuid, shell_version);
  const char *js = "export default class Test { enable() {} disable() {} }\n"
                   "// padding so that deflate has something to do: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
  ZipMember members[] = {
    { "metadata.json", metadata, FALSE, 0 },
    { "schemas/", "", FALSE, 0 },
    { "extension.js", js, TRUE, 0 },
    { "schemas/readme.txt", "x", FALSE, 0 },
  };
  return make_zip (members, G_N_ELEMENTS (members));
}

/* ── the extensions.gnome.org stand-in ─────────────────────────────────── */

static const char *
query_value (GHashTable *query, const char *name)
{
  return query != NULL ? g_hash_table_lookup (query, name) : NULL;
}

static void
reply (SoupServerMessage *msg, guint status, const char *type, GBytes *body)
{
  /* No keep-alive: each bkt request uses a new session anyway, and no
   * connection then outlives the test. */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
  soup_server_message_set_status (msg, status, NULL);
  if (body != NULL)
    soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY, g_bytes_get_data (body, NULL),
                                      g_bytes_get_size (body));
}

/* Extensions the server knows: uuid, the shell majors it has releases
 * for, and what its download is. */
static const struct { const char *uuid; const char *shells[3]; const char *kind; } catalogue[] = {
  { "good@bkt.test", { "45", "46", NULL }, "good" },
  { "second@bkt.test", { "46", NULL }, "good" },
  { "old@bkt.test", { "42", "43", NULL }, "good" },
  { "corrupt@bkt.test", { "46", NULL }, "corrupt" },
  { "evil@bkt.test", { "46", NULL }, "evil" },
  { "link@bkt.test", { "46", NULL }, "link" },
  { "impostor@bkt.test", { "46", NULL }, "impostor" },
  { "error@bkt.test", { "46", NULL }, "error" },
};

static void
handle (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  if (g_str_equal (path, "/extension-info/"))
    {
      const char *uuid = query_value (query, "uuid");
      const char *shell = query_value (query, "shell_version");

      for (guint i = 0; uuid != NULL && i < G_N_ELEMENTS (catalogue); i++)
        {
          g_autoptr(JsonBuilder) b = NULL;
          g_autoptr(JsonNode) root = NULL;
          g_autofree char *text = NULL;
          g_autoptr(GBytes) body = NULL;
          const char *fit = NULL;

          if (!g_str_equal (uuid, catalogue[i].uuid))
            continue;
          if (g_str_equal (catalogue[i].kind, "error"))
            {
              g_autoptr(GBytes) oops = g_bytes_new_static ("<h1>Server Error (500)</h1>", 27);
              reply (msg, 500, "text/html", oops);
              return;
            }
          b = json_builder_new ();
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "uuid");
          json_builder_add_string_value (b, uuid);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, "Test extension");
          json_builder_set_member_name (b, "pk");
          json_builder_add_int_value (b, 1000 + i);
          json_builder_set_member_name (b, "shell_version_map");
          json_builder_begin_object (b);
          for (guint k = 0; catalogue[i].shells[k] != NULL; k++)
            {
              json_builder_set_member_name (b, catalogue[i].shells[k]);
              json_builder_begin_object (b);
              json_builder_set_member_name (b, "pk");
              json_builder_add_int_value (b, 100 * (i + 1) + k);
              json_builder_set_member_name (b, "version");
              json_builder_add_int_value (b, k + 1);
              json_builder_end_object (b);
              if (g_strcmp0 (shell, catalogue[i].shells[k]) == 0)
                fit = catalogue[i].shells[k];
            }
          json_builder_end_object (b);
          /* As e.g.o: version and download_url only when one fits. */
          if (fit != NULL)
            {
              g_autofree char *url = g_strdup_printf ("/download-extension/%s.shell-extension.zip?version_tag=%u",
                                                      uuid, 100 * (i + 1));
              json_builder_set_member_name (b, "version");
              json_builder_add_int_value (b, 1);
              json_builder_set_member_name (b, "download_url");
              json_builder_add_string_value (b, url);
            }
          json_builder_end_object (b);
          root = json_builder_get_root (b);
          text = json_to_string (root, FALSE);
          body = g_bytes_new (text, strlen (text));
          reply (msg, 200, "application/json", body);
          return;
        }
      {
        g_autoptr(GBytes) nf = g_bytes_new_static ("{\"detail\": \"Not found.\"}", 24);
        reply (msg, 404, "application/json", nf);
      }
      return;
    }
  if (g_str_has_prefix (path, "/download-extension/") && g_str_has_suffix (path, ".shell-extension.zip"))
    {
      g_autofree char *uuid = g_strndup (path + strlen ("/download-extension/"),
                                         strlen (path) - strlen ("/download-extension/") -
                                         strlen (".shell-extension.zip"));
      for (guint i = 0; i < G_N_ELEMENTS (catalogue); i++)
        {
          g_autoptr(GBytes) zip = NULL;
          const char *kind = catalogue[i].kind;

          if (!g_str_equal (uuid, catalogue[i].uuid))
            continue;
          if (g_str_equal (kind, "good"))
            zip = extension_zip (uuid, "46");
          else if (g_str_equal (kind, "impostor"))
            zip = extension_zip ("someone-else@bkt.test", "46");
          else if (g_str_equal (kind, "corrupt"))
            {
              g_autoptr(GBytes) good = extension_zip (uuid, "46");
              g_autofree guint8 *bad = g_memdup2 (g_bytes_get_data (good, NULL), g_bytes_get_size (good));
              /* Damage the deflated extension.js: the CRC must catch it. */
              bad[150] ^= 0x55;
              bad[151] ^= 0x55;
              zip = g_bytes_new (bad, g_bytes_get_size (good));
            }
          else if (g_str_equal (kind, "evil"))
            {
              ZipMember m[] = { { "metadata.json", "{\"uuid\": \"evil@bkt.test\"}", FALSE, 0 },
                                { "../../escaped.txt", "gotcha", FALSE, 0 } };
              zip = make_zip (m, 2);
            }
          else if (g_str_equal (kind, "link"))
            {
              ZipMember m[] = { { "metadata.json", "{\"uuid\": \"link@bkt.test\"}", FALSE, 0 },
                                { "extension.js", "/etc/passwd", FALSE, 0120777 } };
              zip = make_zip (m, 2);
            }
          reply (msg, 200, "application/zip", zip);
          return;
        }
    }
  reply (msg, 404, NULL, NULL);
}

typedef struct
{
  GMutex        lock;
  GCond         cond;
  char         *url;
  GMainLoop    *loop;
} ServerThread;

static gpointer
server_thread (gpointer data)
{
  ServerThread *st = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (context);
  server = soup_server_new (NULL, NULL);
  soup_server_add_handler (server, NULL, handle, NULL, NULL);
  soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (server);
  g_mutex_lock (&st->lock);
  {
    g_autofree char *s = g_uri_to_string (uris->data);
    /* No trailing '/': the base URL as a user would write it. */
    st->url = g_strndup (s, strlen (s) - (g_str_has_suffix (s, "/") ? 1 : 0));
  }
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  st->loop = g_main_loop_new (context, FALSE);
  g_cond_signal (&st->cond);
  g_mutex_unlock (&st->lock);
  g_main_loop_run (st->loop);
  soup_server_disconnect (server);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  return NULL;
}

/* ── helpers ───────────────────────────────────────────────────────────── */

static GSettings *
shell_settings (void)
{
  return g_settings_new ("org.gnome.shell");
}

static void
set_keys (const char * const *enabled, const char * const *disabled)
{
  g_autoptr(GSettings) s = shell_settings ();
  const char *none[] = { NULL };

  g_settings_set_strv (s, "enabled-extensions", enabled ? enabled : none);
  g_settings_set_strv (s, "disabled-extensions", disabled ? disabled : none);
  g_settings_sync ();
}

static gboolean
key_has (const char *key, const char *uuid)
{
  g_autoptr(GSettings) s = shell_settings ();
  g_auto(GStrv) v = g_settings_get_strv (s, key);
  return g_strv_contains ((const char * const *) v, uuid);
}

/* An extension installed by hand. */
static void
install_by_hand (const char *base, const char *uuid, const char *shell_version)
{
  g_autofree char *path = g_build_filename (base, uuid, "metadata.json", NULL);
  g_autofree char *json = g_strdup_printf ("{\"uuid\": \"%s\", \"shell-version\": [\"%s\"]}", uuid, shell_version);
  bkt_test_write_file (path, json);
}

/* Nothing but finished extensions in the user's directory: no temporary
 * or backup directory left behind. */
static void
assert_no_leftovers (void)
{
  g_autoptr(GDir) dir = g_dir_open (user_ext_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_assert_true (name[0] != '.');
}

typedef struct
{
  char         *manifests;
  BktManifestSet *set;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fx->manifests = g_build_filename (tmp_root, "manifests", NULL);
  bkt_rm_rf (fx->manifests, NULL);
  bkt_rm_rf (user_ext_dir, NULL);
  g_assert_cmpint (g_mkdir_with_parents (fx->manifests, 0700), ==, 0);
  set_keys (NULL, NULL);
  g_setenv ("BKT_SHELL_VERSION", "46.1", TRUE);
  g_setenv ("BKT_EXTENSIONS_URL", server_url, TRUE);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->set);
  g_free (fx->manifests);
}

static BktManifestSet *
load (Fixture *fx, const char *json)
{
  g_autoptr(GError) error = NULL;

  {
    g_autofree char *path = g_build_filename (fx->manifests, "gnome-extensions.json", NULL);
    /* no json: an empty manifest (a directory without any is an error) */
    if (json != NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
      bkt_test_write_file (path, json != NULL ? json : "{}");
  }
  g_clear_object (&fx->set);
  fx->set = bkt_manifest_set_load_dir (fx->manifests, &error);
  g_assert_no_error (error);
  return fx->set;
}

static BktEngine *
engine_new (void)
{
  const char *only[] = { "extension", NULL };
  g_autoptr(GError) error = NULL;
  BktEngine *e = bkt_engine_new (BKT_INSTANCE_SESSION, only, NULL, &error);

  g_assert_no_error (error);
  return e;
}

static char *
plan_text (BktPlan *plan)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < bkt_plan_get_n_operations (plan); i++)
    {
      BktOperation *op = bkt_plan_get_operation (plan, i);
      g_string_append_printf (s, "%s%s %s", i ? "\n" : "", bkt_operation_get_action (op),
                              bkt_operation_get_target (op));
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

typedef struct
{
  GString *results;
  GString *messages;
} Run;

static void
on_done (gpointer user_data, BktOperation *op, const GError *error)
{
  Run *run = user_data;
  g_string_append_printf (run->results, "%s %s: %s\n", bkt_operation_get_action (op),
                          bkt_operation_get_target (op), error ? error->message : "ok");
}

static void
on_message (gpointer user_data, const char *text)
{
  Run *run = user_data;
  g_string_append_printf (run->messages, "%s\n", text);
}

/* Executes @plan; the per-operation results as text (and messages). */
static char *
execute (BktEngine *engine, BktPlan *plan, BktManifestSet *set, char **messages, gboolean *ok)
{
  static const BktExecCallbacks callbacks = { NULL, on_done, on_message };
  Run run = { g_string_new (NULL), g_string_new (NULL) };
  BktExecContext *ctx = bkt_exec_context_new (&callbacks, &run);
  g_autoptr(GError) error = NULL;
  gboolean result = bkt_engine_execute (engine, plan, set, ctx, NULL, &error);

  bkt_exec_context_free (ctx);
  if (ok != NULL)
    *ok = result;
  if (messages != NULL)
    *messages = g_string_free (run.messages, FALSE);
  else
    g_string_free (run.messages, TRUE);
  return g_string_free (run.results, FALSE);
}

/* Plan apply for a manifest of one extension, execute; the results. */
static char *
apply_one (Fixture *fx, const char *uuid, char **messages, gboolean *ok)
{
  g_autofree char *json = g_strdup_printf ("{\"extensions\": [\"%s\"]}", uuid);
  BktManifestSet *set = load (fx, json);
  g_autoptr(BktEngine) engine = engine_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BktPlan) plan = bkt_engine_plan_apply (engine, set, NULL, &error);
  g_autofree char *text = NULL;
  g_autofree char *expected = g_strdup_printf ("install extension:%s", uuid);

  g_assert_no_error (error);
  text = plan_text (plan);
  g_assert_cmpstr (text, ==, expected);
  return execute (engine, plan, set, messages, ok);
}

/* ── manifest ──────────────────────────────────────────────────────────── */

static void
test_original_fixture (void)
{
  g_autofree char *path = bkt_test_data_path ("original", "gnome-extensions.json", NULL);
  g_autofree char *contents = bkt_test_read_file (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(BktManifest) m = bkt_manifest_load_file (BKT_MANIFEST_GNOME_EXTENSIONS, path, &error);
  g_autofree char *data = NULL;
  g_autoptr(JsonObject) disabled = json_object_new ();
  g_autoptr(JsonObject) plain = json_object_new ();
  JsonNode *node;

  g_assert_no_error (error);
  g_assert_cmpuint (bkt_manifest_get_n_entries (m), ==, 18);
  node = bkt_manifest_lookup_node (m, "caffeine@patapon.info");
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_VALUE (node));
  /* Bare strings are no objects: lookup() says so rather than crash. */
  g_assert_null (bkt_manifest_lookup (m, "caffeine@patapon.info"));
  data = bkt_manifest_to_data (m, NULL);
  g_assert_cmpstr (data, ==, contents);
  bkt_manifest_sort (m);
  g_clear_pointer (&data, g_free);
  data = bkt_manifest_to_data (m, NULL);
  g_assert_cmpstr (data, ==, contents);

  /* Upserting what the string already says changes nothing. */
  json_object_set_string_member (plain, "uuid", "caffeine@patapon.info");
  bkt_manifest_upsert (m, plain);
  g_clear_pointer (&data, g_free);
  data = bkt_manifest_to_data (m, NULL);
  g_assert_cmpstr (data, ==, contents);

  /* Disabling turns that one line into the object form; a new plain
   * entry is a string in its sorted place. */
  json_object_set_string_member (disabled, "uuid", "caffeine@patapon.info");
  json_object_set_boolean_member (disabled, "enabled", FALSE);
  bkt_manifest_upsert (m, disabled);
  json_object_set_string_member (plain, "uuid", "clipboard@bkt.test");
  bkt_manifest_upsert (m, plain);
  g_clear_pointer (&data, g_free);
  data = bkt_manifest_to_data (m, NULL);
  {
    g_autoptr(GString) expected = g_string_new (contents);
    g_string_replace (expected, "    \"caffeine@patapon.info\",\n",
                      "    { \"uuid\": \"caffeine@patapon.info\", \"enabled\": false },\n"
                      "    \"clipboard@bkt.test\",\n", 1);
    g_assert_cmpstr (data, ==, expected->str);
  }

  /* And it reads back, both forms. */
  {
    g_autoptr(BktManifest) back = bkt_manifest_load_data (BKT_MANIFEST_GNOME_EXTENSIONS, "x", data, -1, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (bkt_manifest_get_n_entries (back), ==, 19);
    g_assert_nonnull (bkt_manifest_lookup (back, "caffeine@patapon.info"));
    g_assert_true (bkt_manifest_remove (back, "clipboard@bkt.test"));
    g_assert_true (bkt_manifest_remove (back, "caffeine@patapon.info"));
  }
}

static void
test_manifest_validation (void)
{
  static const struct { const char *json; const char *message; } bad[] = {
    { "{\"extensions\": [42]}", "must be a uuid string or an object, got a number" },
    { "{\"extensions\": [\"../evil\"]}", "invalid extension uuid \"../evil\"" },
    { "{\"extensions\": [\"a/b@c\"]}", "only letters" },
    { "{\"extensions\": [\"-x@y\"]}", "must not start with '-'" },
    { "{\"extensions\": [{\"uuid\": \"a@b\", \"enabled\": \"no\"}]}", "\"enabled\" must be a boolean" },
    { "{\"extensions\": [{\"enabled\": true}]}", "missing the required member \"uuid\"" },
    { "{\"extensions\": [\"a@b\", {\"uuid\": \"a@b\"}]}", "duplicate entry \"a@b\" (first defined on line 1)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(BktManifest) m = bkt_manifest_load_data (BKT_MANIFEST_GNOME_EXTENSIONS, "gnome-extensions.json",
                                                         bad[i].json, -1, &error);
      g_assert_null (m);
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
      if (strstr (error->message, bad[i].message) == NULL)
        g_error ("%s: got “%s”", bad[i].json, error->message);
    }
}

/* Image has the bare string, the user disabled it: the user's wins. */
static void
test_layered (void)
{
  g_autofree char *image = g_build_filename (tmp_root, "layer-image", NULL);
  g_autofree char *user = g_build_filename (tmp_root, "layer-user", NULL);
  g_autofree char *ipath = g_build_filename (image, "gnome-extensions.json", NULL);
  g_autofree char *upath = g_build_filename (user, "gnome-extensions.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(BktManifestSet) set = NULL;
  JsonArray *entries;

  bkt_test_write_file (ipath, "{\"extensions\": [\"b@x\", \"a@x\"]}");
  bkt_test_write_file (upath, "{\"extensions\": [{\"uuid\": \"b@x\", \"enabled\": false}]}");
  set = bkt_manifest_set_load_layered (image, user, &error);
  g_assert_no_error (error);
  entries = bkt_manifest_get_entries (bkt_manifest_set_get (set, BKT_MANIFEST_GNOME_EXTENSIONS));
  g_assert_cmpuint (json_array_get_length (entries), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (entries, 0), ==, "a@x");
  g_assert_false (json_object_get_boolean_member (json_array_get_object_element (entries, 1), "enabled"));
}

/* ── zip ───────────────────────────────────────────────────────────────── */

static void
test_zip (void)
{
  g_autofree char *dest = g_build_filename (tmp_root, "zip", NULL);
  g_autoptr(GBytes) good = extension_zip ("z@bkt.test", "46");
  g_autoptr(GError) error = NULL;
  g_autofree char *js = NULL;
  g_autofree char *js_path = g_build_filename (dest, "extension.js", NULL);
  ZipMember abs[] = { { "/etc/x", "x", FALSE, 0 } };
  ZipMember dot[] = { { "a/../../x", "x", FALSE, 0 } };
  ZipMember link[] = { { "l", "/etc", FALSE, 0120777 } };
  ZipMember twice[] = { { "a", "1", FALSE, 0 }, { "a", "2", FALSE, 0 } };
  struct { ZipMember *m; guint n; const char *message; } bad[] = {
    { abs, 1, "absolute" }, { dot, 1, "'..'" }, { link, 1, "symbolic link" }, { twice, 2, "appears twice" },
  };

  bkt_rm_rf (dest, NULL);
  g_assert_cmpint (g_mkdir (dest, 0700), ==, 0);
  g_assert_true (bkt_zip_extract (good, dest, &error));
  g_assert_no_error (error);
  js = bkt_test_read_file (js_path);
  g_assert_true (g_str_has_prefix (js, "export default class Test"));

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GBytes) zip = make_zip (bad[i].m, bad[i].n);
      bkt_rm_rf (dest, NULL);
      g_assert_cmpint (g_mkdir (dest, 0700), ==, 0);
      g_assert_false (bkt_zip_extract (zip, dest, &error));
      g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, bad[i].message));
      g_clear_error (&error);
    }
  {
    g_autoptr(GBytes) junk = g_bytes_new_static ("PK\3\4 this is not a zip at all, just text", 40);
    g_assert_false (bkt_zip_extract (junk, dest, &error));
    g_assert_nonnull (strstr (error->message, "corrupt or unsafe zip"));
  }
  bkt_rm_rf (dest, NULL);
}

/* ── install from the server ───────────────────────────────────────────── */

static void
test_install (Fixture *fx, gconstpointer data)
{
  gboolean ok = FALSE;
  g_autofree char *results = apply_one (fx, "good@bkt.test", NULL, &ok);
  g_autofree char *js = g_build_filename (user_ext_dir, "good@bkt.test", "extension.js", NULL);
  g_autofree char *readme = g_build_filename (user_ext_dir, "good@bkt.test", "schemas", "readme.txt", NULL);
  g_autoptr(BktEngine) engine = NULL;
  g_autoptr(BktPlan) again = NULL;
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *s;

  g_assert_cmpstr (results, ==, "install extension:good@bkt.test: ok\n");
  g_assert_true (ok);
  g_assert_true (g_file_test (js, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (readme, G_FILE_TEST_IS_REGULAR));
  g_assert_true (key_has ("enabled-extensions", "good@bkt.test"));
  assert_no_leftovers ();

  engine = engine_new ();
  again = bkt_engine_plan_apply (engine, fx->set, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bkt_plan_get_n_operations (again), ==, 0);
  status = bkt_engine_status (engine, fx->set, NULL, &error);
  g_assert_no_error (error);
  s = json_object_get_object_member (json_object_get_object_member (status, "subsystems"), "extension");
  g_assert_cmpint (json_object_get_int_member (s, "installed"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (s, "enabled"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (s, "not_installed"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (s, "in_sync"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (s, "shell_version"), ==, "46.1");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (s, "incompatible")), ==, 0);
}

/* Shell version unknown: the newest release is taken, nothing is called
 * incompatible. */
static void
test_install_unknown_shell (Fixture *fx, gconstpointer data)
{
  gboolean ok = FALSE;
  g_autofree char *results = NULL;
  g_autofree char *dir = g_build_filename (user_ext_dir, "old@bkt.test", NULL);

  g_unsetenv ("BKT_SHELL_VERSION");
  results = apply_one (fx, "old@bkt.test", NULL, &ok);
  g_assert_cmpstr (results, ==, "install extension:old@bkt.test: ok\n");
  g_assert_true (ok);
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  assert_no_leftovers ();
}

/* Every way the server or the download can be wrong: a clear error for
 * that operation, nothing installed, nothing half-installed. */
static void
test_install_errors (Fixture *fx, gconstpointer data)
{
  static const struct { const char *uuid; const char *message; } cases[] = {
    { "old@bkt.test", "old@bkt.test has no release for GNOME Shell 46 (it has releases for: 42, 43)" },
    { "unknown@bkt.test", "no extension “unknown@bkt.test” on http://127.0.0.1:" },
    { "error@bkt.test", "the server answered HTTP 500" },
    { "corrupt@bkt.test", "corrupt or unsafe zip" },
    { "evil@bkt.test", "corrupt or unsafe zip: member “../../escaped.txt” has an empty, '.' or '..' element" },
    { "link@bkt.test", "is a symbolic link" },
    { "impostor@bkt.test", "the download of impostor@bkt.test is extension “someone-else@bkt.test” instead" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gboolean ok = TRUE;
      g_autofree char *results = apply_one (fx, cases[i].uuid, NULL, &ok);
      g_autofree char *dir = g_build_filename (user_ext_dir, cases[i].uuid, NULL);
      g_autofree char *escaped = g_build_filename (tmp_root, "data", "escaped.txt", NULL);
      g_autofree char *escaped2 = g_build_filename (tmp_root, "data", "gnome-shell", "escaped.txt", NULL);

      g_assert_false (ok);
      if (strstr (results, cases[i].message) == NULL)
        g_error ("%s: got “%s”", cases[i].uuid, results);
      g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
      g_assert_false (g_file_test (escaped, G_FILE_TEST_EXISTS));
      g_assert_false (g_file_test (escaped2, G_FILE_TEST_EXISTS));
      g_assert_false (key_has ("enabled-extensions", cases[i].uuid));
      assert_no_leftovers ();
    }
}

/* A server that cannot be reached: the install fails, saying so (it was
 * reported done, "pending", before: not installed is not done); add
 * refuses unless --force. */
static void
test_network_failure (Fixture *fx, gconstpointer data)
{
  g_autofree char *messages = NULL;
  g_autofree char *results = NULL;
  gboolean ok = FALSE;
  GVariantBuilder b;
  g_autoptr(GVariant) args = NULL, forced = NULL;
  g_autoptr(BktEngine) engine = NULL;
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  /* Port 1 on loopback: connection refused, at once. */
  g_setenv ("BKT_EXTENSIONS_URL", "http://127.0.0.1:1", TRUE);
  results = apply_one (fx, "good@bkt.test", &messages, &ok);
  g_assert_false (ok);
  g_assert_true (g_str_has_prefix (results, "install extension:good@bkt.test: not installed: cannot reach "));
  g_assert_true (g_str_has_suffix (results, " (the next apply retries)\n"));
  assert_no_leftovers ();

  engine = engine_new ();
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "uuid", g_variant_new_string ("second@bkt.test"));
  args = g_variant_ref_sink (g_variant_builder_end (&b));
  plan = bkt_engine_plan_change (engine, fx->set, "extension", "add", args, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "use --force"));
  g_clear_error (&error);

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "uuid", g_variant_new_string ("second@bkt.test"));
  g_variant_builder_add (&b, "{sv}", "force", g_variant_new_boolean (TRUE));
  forced = g_variant_ref_sink (g_variant_builder_end (&b));
  plan = bkt_engine_plan_change (engine, fx->set, "extension", "add", forced, NULL, &error);
  g_assert_no_error (error);
  text = plan_text (plan);
  g_assert_cmpstr (text, ==, "install extension:second@bkt.test\nrecord extension:second@bkt.test");
}

static GVariant *
uuid_args (const char *uuid)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "uuid", g_variant_new_string (uuid));
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

/* add (validated against the server) → enable state through the keys →
 * disable → remove; the manifest follows. */
static void
test_change (Fixture *fx, gconstpointer data)
{
  g_autofree char *manifest = g_build_filename (fx->manifests, "gnome-extensions.json", NULL);
  const struct { const char *action; const char *uuid; const char *plan; const char *file; } steps[] = {
    { "add", "good@bkt.test", "install extension:good@bkt.test\nrecord extension:good@bkt.test",
      "{\n  \"extensions\": [\"good@bkt.test\"]\n}\n" },
    { "disable", "good@bkt.test", "disable extension:good@bkt.test\nrecord extension:good@bkt.test",
      "{\n  \"extensions\": [{ \"uuid\": \"good@bkt.test\", \"enabled\": false }]\n}\n" },
    { "enable", "good@bkt.test", "enable extension:good@bkt.test\nrecord extension:good@bkt.test",
      "{\n  \"extensions\": [{ \"uuid\": \"good@bkt.test\" }]\n}\n" },
    { "remove", "good@bkt.test", "uninstall extension:good@bkt.test\nforget extension:good@bkt.test",
      "{\n  \"extensions\": []\n}\n" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      BktManifestSet *set = load (fx, NULL);
      g_autoptr(BktEngine) engine = engine_new ();
      g_autoptr(GVariant) args = uuid_args (steps[i].uuid);
      g_autoptr(GError) error = NULL;
      g_autoptr(BktPlan) plan = bkt_engine_plan_change (engine, set, "extension", steps[i].action, args, NULL, &error);
      g_autofree char *text = NULL, *results = NULL, *file = NULL;
      gboolean ok = FALSE;

      g_assert_no_error (error);
      text = plan_text (plan);
      g_assert_cmpstr (text, ==, steps[i].plan);
      results = execute (engine, plan, set, NULL, &ok);
      if (!ok)
        g_error ("%s: %s", steps[i].action, results);
      file = bkt_test_read_file (manifest);
      g_assert_cmpstr (file, ==, steps[i].file);
    }
  g_assert_false (key_has ("enabled-extensions", "good@bkt.test"));
  g_assert_false (key_has ("disabled-extensions", "good@bkt.test"));
  {
    g_autofree char *dir = g_build_filename (user_ext_dir, "good@bkt.test", NULL);
    g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  }

  /* Errors: unknown on the server, not installed, bad uuid. */
  {
    BktManifestSet *set = load (fx, NULL);
    g_autoptr(BktEngine) engine = engine_new ();
    g_autoptr(GVariant) unknown = uuid_args ("unknown@bkt.test");
    g_autoptr(GVariant) old = uuid_args ("old@bkt.test");
    g_autoptr(GVariant) evil = uuid_args ("../../etc");
    g_autoptr(GError) error = NULL;
    g_autoptr(BktPlan) plan = bkt_engine_plan_change (engine, set, "extension", "add", unknown, NULL, &error);

    g_assert_null (plan);
    g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND);
    g_clear_error (&error);
    plan = bkt_engine_plan_change (engine, set, "extension", "add", old, NULL, &error);
    g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_SUPPORTED);
    g_assert_nonnull (strstr (error->message, "no release for GNOME Shell 46.1"));
    g_clear_error (&error);
    plan = bkt_engine_plan_change (engine, set, "extension", "enable", unknown, NULL, &error);
    g_assert_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND);
    g_clear_error (&error);
    plan = bkt_engine_plan_change (engine, set, "extension", "add", evil, NULL, &error);
    g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  }
}

/* The state record as bkt apply leaves it after installing @uuids enabled. */
static void
write_record (const char * const *uuids)
{
  g_autofree char *path = g_build_filename (g_getenv ("XDG_STATE_HOME"), "bkt", "state.json", NULL);
  g_autoptr(GString) json = g_string_new ("{\"version\": 1, \"scope\": \"user\", \"items\": {");

  for (guint i = 0; uuids != NULL && uuids[i] != NULL; i++)
    g_string_append_printf (json, "%s\"extension:%s\": {\"value\": \"enabled\", \"command\": \"apply\"}",
                            i > 0 ? ", " : "", uuids[i]);
  g_string_append (json, "}}\n");
  bkt_test_write_file (path, json->str);
}

/* Enabled, disabled and removed by hand after bkt installed them: capture
 * records all three.  Without the state record (never applied here) it
 * records only the one installed by hand: a declared extension that was
 * never installed here is not forgotten (issue 13). */
static void
test_capture (Fixture *fx, gconstpointer data)
{
  const char *applied[] = { "gone@bkt.test", "kept@bkt.test", "switched-off@bkt.test", NULL };
  const char *enabled[] = { "byhand@bkt.test", "kept@bkt.test", NULL };
  BktManifestSet *set;
  g_autoptr(BktEngine) engine = NULL;
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL, *results = NULL, *file = NULL;
  g_autofree char *manifest = g_build_filename (fx->manifests, "gnome-extensions.json", NULL);
  gboolean ok = FALSE;

  install_by_hand (user_ext_dir, "byhand@bkt.test", "46");
  install_by_hand (user_ext_dir, "kept@bkt.test", "46");
  install_by_hand (user_ext_dir, "switched-off@bkt.test", "46");
  set_keys (enabled, NULL);
  set = load (fx, "{\n  \"extensions\": [\n    \"gone@bkt.test\",\n    \"kept@bkt.test\",\n"
                  "    \"switched-off@bkt.test\"\n  ]\n}\n");
  {
    g_autofree char *record = g_build_filename (g_getenv ("XDG_STATE_HOME"), "bkt", NULL);
    g_autoptr(BktEngine) fresh = NULL;
    g_autoptr(BktPlan) never = NULL;
    g_autofree char *never_text = NULL;

    bkt_test_rm_rf (record);
    fresh = engine_new ();
    /* Untracked items are recorded only when picked: left out with a
     * warning that names them, then taken with all-untracked. */
    never = bkt_engine_plan_capture (fresh, set, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (bkt_plan_get_n_operations (never), ==, 0);
    {
      g_autofree char *warnings = g_strjoinv ("\n", (char **) bkt_plan_get_warnings (never));
      g_assert_nonnull (strstr (warnings, "untracked item(s) left out"));
      g_assert_nonnull (strstr (warnings, "byhand@bkt.test"));
    }
    g_clear_object (&never);
    bkt_engine_set_capture_selection (fresh, NULL, TRUE);
    never = bkt_engine_plan_capture (fresh, set, NULL, &error);
    g_assert_no_error (error);
    never_text = plan_text (never);
    g_assert_cmpstr (never_text, ==, "record extension:byhand@bkt.test");
    {
      g_autofree char *warnings = g_strjoinv ("\n", (char **) bkt_plan_get_warnings (never));
      g_assert_nonnull (strstr (warnings, "never applied here"));
    }
  }
  write_record (applied);
  engine = engine_new ();
  bkt_engine_set_capture_selection (engine, NULL, TRUE);
  plan = bkt_engine_plan_capture (engine, set, NULL, &error);
  g_assert_no_error (error);
  text = plan_text (plan);
  g_assert_cmpstr (text, ==, "record extension:byhand@bkt.test\nforget extension:gone@bkt.test\n"
                             "record extension:switched-off@bkt.test");
  results = execute (engine, plan, set, NULL, &ok);
  g_assert_true (ok);
  file = bkt_test_read_file (manifest);
  g_assert_cmpstr (file, ==, "{\n  \"extensions\": [\n    \"byhand@bkt.test\",\n    \"kept@bkt.test\",\n"
                             "    { \"uuid\": \"switched-off@bkt.test\", \"enabled\": false }\n  ]\n}\n");

  /* Captured, apply has nothing to do. */
  {
    BktManifestSet *again = load (fx, NULL);
    g_autoptr(BktEngine) e2 = engine_new ();
    g_autoptr(BktPlan) p2 = bkt_engine_plan_apply (e2, again, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (bkt_plan_get_n_operations (p2), ==, 0);
  }
}

/* Apply enables and disables through the keys; status counts and
 * incompatibility with the shell version. */
static void
test_apply_state_and_status (Fixture *fx, gconstpointer data)
{
  const char *enabled[] = { "off@bkt.test", "untracked@bkt.test", NULL };
  g_autofree char *system_dir = g_build_filename (tmp_root, "sysdata", "gnome-shell", "extensions", NULL);
  BktManifestSet *set;
  g_autoptr(BktEngine) engine = NULL;
  g_autoptr(BktPlan) plan = NULL;
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL, *results = NULL;
  JsonObject *s;
  JsonArray *incompatible;
  gboolean ok = FALSE;

  install_by_hand (user_ext_dir, "on@bkt.test", "46");
  install_by_hand (user_ext_dir, "off@bkt.test", "46");
  install_by_hand (user_ext_dir, "untracked@bkt.test", "46");
  install_by_hand (system_dir, "system@bkt.test", "44");
  set_keys (enabled, NULL);
  set = load (fx, "{\"extensions\": [\"on@bkt.test\", {\"uuid\": \"off@bkt.test\", \"enabled\": false}, "
                  "\"system@bkt.test\", \"missing@bkt.test\"]}");
  engine = engine_new ();

  status = bkt_engine_status (engine, set, NULL, &error);
  g_assert_no_error (error);
  s = json_object_get_object_member (json_object_get_object_member (status, "subsystems"), "extension");
  g_assert_cmpint (json_object_get_int_member (s, "tracked"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (s, "installed"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (s, "enabled"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (s, "not_installed"), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (s, "untracked")), ==, 1);
  incompatible = json_object_get_array_member (s, "incompatible");
  g_assert_cmpuint (json_array_get_length (incompatible), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (incompatible, 0), ==, "system@bkt.test");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (s, "drift")), ==, 4);

  plan = bkt_engine_plan_apply (engine, set, NULL, &error);
  g_assert_no_error (error);
  text = plan_text (plan);
  g_assert_cmpstr (text, ==, "install extension:missing@bkt.test\ndisable extension:off@bkt.test\n"
                             "enable extension:on@bkt.test\nenable extension:system@bkt.test");
  results = execute (engine, plan, set, NULL, &ok);
  /* missing@ is unknown to the server: that one fails, the rest is done. */
  g_assert_false (ok);
  g_assert_nonnull (strstr (results, "install extension:missing@bkt.test: no extension"));
  g_assert_nonnull (strstr (results, "enable extension:on@bkt.test: ok"));
  g_assert_true (key_has ("enabled-extensions", "on@bkt.test"));
  g_assert_true (key_has ("enabled-extensions", "system@bkt.test"));
  g_assert_false (key_has ("enabled-extensions", "off@bkt.test"));
  g_assert_true (key_has ("disabled-extensions", "off@bkt.test"));
  g_assert_true (key_has ("enabled-extensions", "untracked@bkt.test"));
  bkt_rm_rf (system_dir, NULL);
}

/* ── setup ─────────────────────────────────────────────────────────────── */

static void
compile_schemas (void)
{
  g_autofree char *dir = g_build_filename (tmp_root, "schemas", NULL);
  g_autofree char *src = bkt_test_data_path ("shell-schemas", "org.gnome.shell.gschema.xml",
                                                NULL);
  g_autofree char *dst = g_build_filename (dir, "org.gnome.shell.gschema.xml", NULL);
  g_autofree char *contents = bkt_test_read_file (src);
  const char *argv[] = { "glib-compile-schemas", "--strict", dir, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  bkt_test_write_file (dst, contents);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_exit_status (status, NULL));
  g_setenv ("GSETTINGS_SCHEMA_DIR", dir, TRUE);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BktTestDir) root = NULL;
  ServerThread st = { 0 };
  GThread *thread;
  g_autofree char *config = NULL, *data = NULL, *sysdata = NULL, *state_home = NULL;
  int ret;

  /* Before anything reads them: GLib caches the XDG directories. */
  root = bkt_test_dir_new ("extensions");
  tmp_root = root->path;
  config = g_build_filename (tmp_root, "config", NULL);
  data = g_build_filename (tmp_root, "data", NULL);
  sysdata = g_build_filename (tmp_root, "sysdata", NULL);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  state_home = g_build_filename (tmp_root, "state", NULL);
  g_setenv ("XDG_STATE_HOME", state_home, TRUE);
  g_setenv ("XDG_DATA_DIRS", sysdata, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "keyfile", TRUE);
  g_setenv ("BKT_GNOME_SHELL", "absent", TRUE);
  /* XDG_DATA_DIRS hides the desktop's schemas, and GIO's proxy resolver
   * modules read org.gnome.system.proxy: no proxies for a local server. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  user_ext_dir = g_build_filename (data, "gnome-shell", "extensions", NULL);

  bkt_test_init (&argc, &argv);
  compile_schemas ();

  g_mutex_init (&st.lock);
  g_cond_init (&st.cond);
  g_mutex_lock (&st.lock);
  thread = g_thread_new ("ego-server", server_thread, &st);
  while (st.loop == NULL)
    g_cond_wait (&st.cond, &st.lock);
  g_mutex_unlock (&st.lock);
  server_url = st.url;

  g_test_add_func ("/extensions/manifest/original", test_original_fixture);
  g_test_add_func ("/extensions/manifest/validation", test_manifest_validation);
  g_test_add_func ("/extensions/manifest/layered", test_layered);
  g_test_add_func ("/extensions/zip", test_zip);
#define ADD(name, func) g_test_add ("/extensions/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("install", test_install);
  ADD ("install-errors", test_install_errors);
  ADD ("install-unknown-shell", test_install_unknown_shell);
  ADD ("network-failure", test_network_failure);
  ADD ("change", test_change);
  ADD ("capture", test_capture);
  ADD ("apply-state-status", test_apply_state_and_status);
#undef ADD

  ret = g_test_run ();
  g_main_loop_quit (st.loop);
  g_thread_join (thread);
  g_main_loop_unref (st.loop);
  g_free (st.url);
  g_mutex_clear (&st.lock);
  g_cond_clear (&st.cond);
  g_free (user_ext_dir);
  return ret;
}
