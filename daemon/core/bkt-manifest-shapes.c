/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-error.h"
#include "bkt-manifest-private.h"
#include "bkt-schema.h"

/* The shapes of every document of a distribution repo: what the loaders
 * check (bkt-manifest.c for the seven manifest kinds, bkt-base.c,
 * bkt-upstream.c, bkt-repo.c) and what `bkt schema generate` writes as
 * JSON Schemas.  Each rule's explain function only words a refusal; the
 * pattern decides. */

/* ------------------------------------------------------------------ */
/* Rules of the manifest kinds                                          */

static char *
explain_remote_name (const char *value)
{
  if (value[0] == '\0')
    return g_strdup ("must not be empty");
  if (value[0] == '-')
    return g_strdup ("must not start with '-'");
  return g_strdup ("only letters, digits, '.', '_' and '-' are allowed");
}

static char *
explain_schema_id (const char *value)
{
  if (value[0] == '\0')
    return g_strdup ("must not be empty");
  if (value[0] == '-')
    return g_strdup ("must not start with '-'");
  return g_strdup ("only letters, digits, '.' and '-' are allowed");
}

static char *
explain_key (const char *value)
{
  if (value[0] == '\0')
    return g_strdup ("must not be empty");
  if (value[0] == '-')
    return g_strdup ("must not start with '-'");
  return g_strdup ("only lowercase letters, digits and '-' are allowed");
}

static char *
explain_path (const char *value)
{
  if (!g_str_has_prefix (value, "/") || !g_str_has_suffix (value, "/"))
    return g_strdup ("must start and end with '/'");
  return g_strdup ("must not contain '//'");
}

/* Catching a malformed value at load time means a typo is reported with
 * its position instead of failing halfway through an apply. */
static char *
check_gvariant (const char *value)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GVariant) v = g_variant_parse (NULL, value, NULL, NULL, &local_error);

  if (v == NULL)
    return g_strdup_printf ("not valid GVariant text (%s)", local_error->message);
  return NULL;
}

/* Remote names end up on flatpak's command line and in its config file
 * names, so only what flatpak itself accepts and nothing that could be
 * mistaken for an option. */
static const BktStringRule rule_remote_name = {
  .pattern = "^[A-Za-z0-9._][A-Za-z0-9._-]*$", .min_length = 1, .explain = explain_remote_name,
  .description = "A flatpak remote name: letters, digits, '.', '_' and '-', not starting with '-'.",
};

static const char *const scopes[] = { "system", "user", NULL };
static const BktStringRule rule_scope = {
  .choices = scopes, .description = "The installation: \"system\" or \"user\".",
};

static const BktStringRule rule_non_empty = { .min_length = 1, .description = "Must not be empty." };

static const BktStringRule rule_schema_id = {
  .pattern = "^[A-Za-z0-9.][A-Za-z0-9.-]*$", .min_length = 1, .explain = explain_schema_id,
  .description = "A GSettings schema id, e.g. org.gnome.desktop.interface: letters, digits, '.' and '-', "
                 "not starting with '-'.",
};

static const BktStringRule rule_key = {
  .pattern = "^[a-z0-9][a-z0-9-]*$", .min_length = 1, .explain = explain_key,
  .description = "A key of the schema: lowercase letters, digits and '-', not starting with '-'.",
};

static const BktStringRule rule_gvariant = {
  .check_name = "gvariant-text", .check = check_gvariant,
  .description = "The value in GVariant text format, as `gsettings set` takes it: strings quoted ('adw-gtk3'), "
                 "numbers and booleans bare (0, true), empty arrays typed (@as []); it must parse without a "
                 "type hint (x-bkt-check: bkt checks this, a JSON Schema cannot).",
};

static const BktStringRule rule_settings_path = {
  .pattern = "^/(?:[^/]+/)*$", .explain = explain_path,
  .description = "The path of a relocatable schema: starts and ends with '/', no '//'.",
};

char *
bkt_manifest_check_schema_id (const char *value)
{
  return bkt_string_rule_check (&rule_schema_id, value);
}

/* ------------------------------------------------------------------ */
/* Shapes of the manifest kinds                                         */

#define STRING(rule_) { .type = BKT_SHAPE_STRING, .rule = (rule_) }

static const BktShape any_string = { .type = BKT_SHAPE_STRING };
static const BktShape boolean = { .type = BKT_SHAPE_BOOLEAN };
static const BktShape any_object = { .type = BKT_SHAPE_OBJECT };
static const BktShape schema_ref = {
  .type = BKT_SHAPE_STRING,
  .description = "The JSON Schema of this file, for editors (bkt schema generate writes them); bkt keeps it.",
};

static const BktShape remote_name = STRING (&rule_remote_name);
static const BktShape comment = {
  .type = BKT_SHAPE_STRING, .description = "Free text for people reading the file.",
};

static const BktShape remote = {
  .type = BKT_SHAPE_OBJECT, .def_name = "remote", .description = "A flatpak remote.",
  .members = (const BktShapeMember[]) {
    { "name", &remote_name, TRUE },
    { "url", &(const BktShape) STRING (&rule_non_empty), TRUE },
    /* Absent means "system": the original tool wrote it only sometimes. */
    { "scope", &(const BktShape) { .type = BKT_SHAPE_STRING, .rule = &rule_scope,
                                   .expected = "a string (\"system\" or \"user\")",
                                   .description = "\"system\" (the default) or \"user\"." }, FALSE },
    { "filtered", &boolean, FALSE },
    { NULL } },
};

static const BktShape app = {
  .type = BKT_SHAPE_OBJECT, .def_name = "app", .description = "A flatpak application.",
  .members = (const BktShapeMember[]) {
    { "id", &(const BktShape) STRING (&bkt_rule_flatpak_app_id), TRUE },
    { "remote", &remote_name, TRUE },
    { "scope", &(const BktShape) { .type = BKT_SHAPE_STRING, .rule = &rule_scope,
                                   .expected = "a string (\"system\" or \"user\")" }, TRUE },
    { NULL } },
};

static const BktShape setting = {
  .type = BKT_SHAPE_OBJECT, .def_name = "setting", .description = "A GSettings value.",
  .members = (const BktShapeMember[]) {
    { "schema", &(const BktShape) STRING (&rule_schema_id), TRUE },
    { "key", &(const BktShape) STRING (&rule_key), TRUE },
    { "value", &(const BktShape) { .type = BKT_SHAPE_STRING, .rule = &rule_gvariant,
                                   .expected = "a string (GVariant text)" }, TRUE },
    { "comment", &comment, FALSE },
    { "path", &(const BktShape) STRING (&rule_settings_path), FALSE },
    { NULL } },
};

static const BktShape extension_uuid = {
  .type = BKT_SHAPE_STRING, .rule = &bkt_rule_extension_uuid, .noun = "extension uuid",
};

static const BktShape extension = {
  .type = BKT_SHAPE_OBJECT, .def_name = "extension", .or_string = &extension_uuid,
  .expected = "a uuid string or an object",
  .description = "A GNOME Shell extension: its uuid (enabled), or an object.",
  .members = (const BktShapeMember[]) {
    { "uuid", &(const BktShape) STRING (&bkt_rule_extension_uuid), TRUE },
    /* Absent means enabled: the bare-string form. */
    { "enabled", &(const BktShape) { .type = BKT_SHAPE_BOOLEAN, .description = "Absent means true." }, FALSE },
    { NULL } },
};

static const BktShape shim = {
  .type = BKT_SHAPE_OBJECT, .def_name = "shim", .description = "A toolbox shim running a host command.",
  .members = (const BktShapeMember[]) {
    { "name", &(const BktShape) STRING (&bkt_rule_plus_name), TRUE },
    /* Absent means the host command of the same name. */
    { "host", &(const BktShape) { .type = BKT_SHAPE_STRING, .rule = &bkt_rule_shim_host,
                                  .description = "The host command; absent: the shim's name." }, FALSE },
    { NULL } },
};

static const BktShape package = {
  .type = BKT_SHAPE_STRING, .rule = &bkt_rule_plus_name, .noun = "package name",
  .expected = "a package name string", .description = "An RPM package name.",
};

static const BktShape copr = {
  .type = BKT_SHAPE_OBJECT, .def_name = "copr", .description = "A COPR repository.",
  .members = (const BktShapeMember[]) {
    { "name", &(const BktShape) STRING (&bkt_rule_copr_name), TRUE },
    { "enabled", &boolean, FALSE },
    { "gpg_check", &boolean, FALSE },
    { NULL } },
};

#define LIST(items_, unique_) \
  &(const BktShape) { .type = BKT_SHAPE_ARRAY, .items = (items_), .unique = (unique_), \
                      .description = "Absent means none; " unique_ " must be unique." }

static const BktShape flatpak_remotes = {
  .type = BKT_SHAPE_OBJECT,
  .members = (const BktShapeMember[]) {
    { "$schema", &schema_ref, FALSE }, { "remotes", LIST (&remote, "name"), FALSE }, { NULL } },
};
static const BktShape flatpak_apps = {
  .type = BKT_SHAPE_OBJECT,
  .members = (const BktShapeMember[]) {
    { "$schema", &schema_ref, FALSE }, { "apps", LIST (&app, "id"), FALSE }, { NULL } },
};
static const BktShape gsettings = {
  .type = BKT_SHAPE_OBJECT,
  .members = (const BktShapeMember[]) {
    { "$schema", &schema_ref, FALSE }, { "settings", LIST (&setting, "(schema, path, key)"), FALSE }, { NULL } },
};
static const BktShape gnome_extensions = {
  .type = BKT_SHAPE_OBJECT,
  .members = (const BktShapeMember[]) {
    { "$schema", &schema_ref, FALSE }, { "extensions", LIST (&extension, "uuid"), FALSE }, { NULL } },
};
static const BktShape host_shims = {
  .type = BKT_SHAPE_OBJECT,
  .members = (const BktShapeMember[]) {
    { "$schema", &schema_ref, FALSE }, { "shims", LIST (&shim, "name"), FALSE }, { NULL } },
};
static const BktShape packages = {
  .type = BKT_SHAPE_OBJECT,
  .members = (const BktShapeMember[]) {
    { "$schema", &schema_ref, FALSE },
    { "packages", LIST (&package, "package name"), FALSE },
    { "groups", &(const BktShape) { .type = BKT_SHAPE_ARRAY, .items = &any_string,
                                    .description = "Package groups (kept as they are)." }, FALSE },
    { "excluded", &(const BktShape) { .type = BKT_SHAPE_ARRAY, .items = &any_string,
                                      .description = "Packages the base image has that are removed (kept as "
                                                     "they are)." }, FALSE },
    { BKT_MANIFEST_COPR_MEMBER, LIST (&copr, "name"), FALSE },
    { NULL } },
};

/* ------------------------------------------------------------------ */
/* base-image-assumptions.json                                          */

static const BktStringRule rule_base_service = {
  .pattern = "^(?=.*\\.)[A-Za-z0-9][A-Za-z0-9@._:\\\\-]*$", .max_length = 200,
  .description = "must be a systemd unit name with its suffix: letters, digits and @ . _ : \\ -, starting with "
                 "a letter or digit, at most 200 characters",
};

static const BktStringRule rule_base_path = {
  .pattern = "^/(?!(?:.*/)?\\.\\.(?:/|$)).*$", .max_length = 4096,
  .description = "must be an absolute path without \"..\" elements, on one line, at most 4096 characters",
};

const BktStringRule bkt_rule_base_package = {
  .pattern = "^[A-Za-z0-9][A-Za-z0-9._+-]*$", .max_length = 200,
  .description = "must be an RPM package name: letters, digits and . _ + -, starting with a letter or digit, "
                 "at most 200 characters",
};

static const BktShape base_image_assumptions = {
  .type = BKT_SHAPE_OBJECT,
  .members = (const BktShapeMember[]) {
    { "$schema", &schema_ref, FALSE },
    { "base_image", &(const BktShape) {
        .type = BKT_SHAPE_OBJECT, .description = "The base image the assumptions are about.",
        .members = (const BktShapeMember[]) {
          { "source", &(const BktShape) { .type = BKT_SHAPE_STRING,
                                          .description = "Its reference, e.g. ghcr.io/ublue-os/bazzite:stable." },
            TRUE },
          { "last_verified_digest", &any_string, FALSE },
          { "last_verified_at", &any_string, FALSE },
          { NULL } } }, TRUE },
    { "packages", &(const BktShape) {
        .type = BKT_SHAPE_ARRAY, .description = "Packages the base image is assumed to provide.",
        .items = &(const BktShape) {
          .type = BKT_SHAPE_OBJECT, .def_name = "package",
          .members = (const BktShapeMember[]) {
            { "name", &(const BktShape) STRING (&bkt_rule_base_package), TRUE },
            { "reason", &(const BktShape) { .type = BKT_SHAPE_STRING, .description = "Why it is needed." },
              FALSE },
            { NULL } } } }, TRUE },
    { "services", &(const BktShape) {
        .type = BKT_SHAPE_ARRAY, .description = "Systemd units assumed to exist.",
        .items = &(const BktShape) { .type = BKT_SHAPE_STRING, .rule = &rule_base_service,
                                     .noun = "systemd unit name" } }, FALSE },
    { "paths", &(const BktShape) {
        .type = BKT_SHAPE_ARRAY, .description = "Paths assumed to exist.",
        .items = &(const BktShape) { .type = BKT_SHAPE_STRING, .rule = &rule_base_path, .noun = "path" } },
      FALSE },
    { NULL } },
};

/* ------------------------------------------------------------------ */
/* upstream/manifest.json                                               */

static char *
explain_upstream_name (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > 64)
    return g_strdup ("must be 1 to 64 characters");
  if (!g_ascii_isalnum (name[0]))
    return g_strdup ("must start with a letter or digit");
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && strchr ("._-", name[i]) == NULL)
      return g_strdup_printf ("may only have letters, digits, '.', '_' and '-' (not “%c”)", name[i]);
  return g_strdup ("may not contain “..”");
}

static char *
explain_github_repo (const char *repo)
{
  g_auto(GStrv) parts = g_strsplit (repo, "/", -1);

  if (g_strv_length (parts) != 2)
    return g_strdup ("must be OWNER/REPO");
  for (guint i = 0; i < 2; i++)
    {
      const char *p = parts[i];
      if (*p == '\0' || *p == '-' || g_str_equal (p, ".") || g_str_equal (p, "..") || strlen (p) > 100)
        return g_strdup_printf ("must be OWNER/REPO (not “%s”)", p);
    }
  return g_strdup ("must be OWNER/REPO of letters, digits, '.', '_' and '-'");
}

static char *
check_date_time (const char *value)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_iso8601 (value, NULL);

  return t == NULL ? g_strdup ("must be an ISO 8601 date-time (2026-01-05T10:00:00Z)") : NULL;
}

/* GitHub's own rule (".github" is a repo name); it goes into an API path. */
#define GITHUB_PART "(?!-)(?!\\.\\.?(?:/|$))[A-Za-z0-9._-]{1,100}"

const BktStringRule bkt_rule_upstream_name = {
  .pattern = "^(?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9._-]*$", .min_length = 1, .max_length = 64,
  .explain = explain_upstream_name,
  .description = "The upstream's name (a file name and a Containerfile ARG): 1 to 64 letters, digits, '.', '_' "
                 "and '-', starting with a letter or digit, no \"..\".",
};

const BktStringRule bkt_rule_github_repo = {
  .pattern = "^" GITHUB_PART "/" GITHUB_PART "$", .explain = explain_github_repo,
  .description = "OWNER/REPO on GitHub: each part 1 to 100 letters, digits, '.', '_' and '-', not starting "
                 "with '-', not \".\" or \"..\".",
};

/* Pinned values go into URLs and unquoted Containerfile ARG lines: no
 * whitespace, quotes, '$', '\\' or '`' can get there. */
const BktStringRule bkt_rule_upstream_version = {
  .pattern = "^[A-Za-z0-9][A-Za-z0-9._+~-]*$", .max_length = 128,
  .description = "may only have letters, digits and . _ + ~ -, starting with a letter or digit (at most 128)",
};

static const BktStringRule rule_http_url = {
  .pattern = "^https?://[A-Za-z0-9:/._~%?&=+#@,;!*()\\[\\]-]*$", .max_length = 2048,
  .description = "must be an http(s) URL without spaces or quotes",
};

static const BktStringRule rule_commit = {
  .pattern = "^(?:[0-9a-f]{40}|[0-9a-f]{64})$", .description = "must be a full lowercase hex commit id",
};

static const BktStringRule rule_sha256 = {
  .pattern = "^[0-9a-f]{64}$", .description = "must be 64 lowercase hex digits (all zeros: not locked yet)",
};

static const BktStringRule rule_pinned_at = {
  .format = "date-time", .check = check_date_time,
  .description = "When the pin was set: an ISO 8601 date-time with its zone (2026-01-05T10:00:00Z).",
};

static const BktStringRule rule_asset_pattern = {
  .pattern = "^[^/]+$", .description = "must be a non-empty file name pattern (no '/')",
};

static const char *const source_types[] = { "github", "url", NULL };
static const char *const release_types[] = { "release", "tag", NULL };
static const char *const policies[] = { "pin", "patch", "minor", "major", NULL };

static const BktShape upstream = {
  .type = BKT_SHAPE_OBJECT, .def_name = "upstream", .description = "A pinned upstream release.",
  .members = (const BktShapeMember[]) {
    { "name", &(const BktShape) STRING (&bkt_rule_upstream_name), TRUE },
    { "description", &any_string, FALSE },
    { "policy", &(const BktShape) { .type = BKT_SHAPE_STRING,
                                    .rule = &(const BktStringRule) { .choices = policies },
                                    .description = "Which updates `bkt upstream update` takes." }, FALSE },
    { "source", &(const BktShape) {
        .type = BKT_SHAPE_OBJECT, .def_name = "source",
        .description = "Where releases come from: a GitHub repo (\"repo\") or a URL (\"url\").",
        .members = (const BktShapeMember[]) {
          { "type", &(const BktShape) { .type = BKT_SHAPE_STRING,
                                        .rule = &(const BktStringRule) { .choices = source_types } }, TRUE },
          { "repo", &(const BktShape) STRING (&bkt_rule_github_repo), FALSE },
          { "asset_pattern", &(const BktShape) STRING (&rule_asset_pattern), FALSE },
          { "release_type", &(const BktShape) { .type = BKT_SHAPE_STRING,
                                                .rule = &(const BktStringRule) { .choices = release_types } },
            FALSE },
          { "url", &(const BktShape) STRING (&rule_http_url), FALSE },
          { NULL } },
        .variants = (const BktShapeVariant[]) {
          { "type", "github", (const char *const[]) { "repo", NULL } },
          { "type", "url", (const char *const[]) { "url", NULL } },
          { NULL } } }, TRUE },
    { "pinned", &(const BktShape) {
        .type = BKT_SHAPE_OBJECT, .def_name = "pin", .description = "The pinned version.",
        .members = (const BktShapeMember[]) {
          { "version", &(const BktShape) STRING (&bkt_rule_upstream_version), TRUE },
          { "commit", &(const BktShape) STRING (&rule_commit), FALSE },
          { "url", &(const BktShape) STRING (&rule_http_url), FALSE },
          { "sha256", &(const BktShape) STRING (&rule_sha256), TRUE },
          { "pinned_at", &(const BktShape) STRING (&rule_pinned_at), TRUE },
          { NULL } } }, TRUE },
    { "install", &any_object, FALSE },
    { NULL } },
};

char *
bkt_schema_upstream_arg_name (const char *name)
{
  char *s = g_ascii_strup (name, -1);

  g_strdelimit (s, ".-", '_');
  return s;
}

/* What a JSON Schema cannot say: names unique as ARG names. */
static gboolean
check_upstream_names (BktJsonDoc *doc, JsonNode *root, GError **error)
{
  JsonArray *a = json_object_get_array_member (json_node_get_object (root), "upstreams");
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      const char *name = json_object_get_string_member (json_node_get_object (e), "name");
      g_autofree char *key = bkt_schema_upstream_arg_name (name);
      JsonNode *first = g_hash_table_lookup (names, key);

      if (first != NULL)
        {
          const BktJsonSpan *span = bkt_json_doc_get_span (doc, first);
          return bkt_json_doc_error_at (doc, e, error,
                                        "duplicate upstream “%s” (same as the one on line %u, as a Containerfile "
                                        "ARG name)", name, span != NULL ? span->line : 0);
        }
      g_hash_table_insert (names, g_steal_pointer (&key), e);
    }
  return TRUE;
}

static const BktShape upstream_manifest = {
  .type = BKT_SHAPE_OBJECT,
  .members = (const BktShapeMember[]) {
    { "$schema", &schema_ref, FALSE },
    { "upstreams", &(const BktShape) {
        .type = BKT_SHAPE_ARRAY, .items = &upstream,
        .unique = "name, as a Containerfile ARG name (upper-cased, '.' and '-' read as '_')",
        .description = "The upstreams; names must be unique as Containerfile ARG names (upper-cased, '.' and '-' "
                       "read as '_')." }, TRUE },
    { NULL } },
};

/* ------------------------------------------------------------------ */
/* repo.json                                                            */

static const BktStringRule rule_github_part = {
  .pattern = "^" GITHUB_PART "$",
  .description = "must be 1 to 100 letters, digits, '.', '_' and '-', not starting with '-', not \".\" or \"..\"",
};

static const BktShape repo_json = {
  .type = BKT_SHAPE_OBJECT,
  .members = (const BktShapeMember[]) {
    { "$schema", &schema_ref, FALSE },
    { "owner", &(const BktShape) { .type = BKT_SHAPE_STRING, .rule = &rule_github_part,
                                   .description = "The forge repo's owner." }, FALSE },
    { "name", &(const BktShape) { .type = BKT_SHAPE_STRING, .rule = &rule_github_part,
                                  .description = "The forge repo's name." }, FALSE },
    { "url", &(const BktShape) { .type = BKT_SHAPE_STRING, .rule = &rule_non_empty,
                                 .description = "The URL bkt clones the distribution from." }, FALSE },
    { "default_branch", &(const BktShape) { .type = BKT_SHAPE_STRING, .rule = &rule_non_empty,
                                            .description = "The branch pull requests go to." }, FALSE },
    { NULL } },
};

/* ------------------------------------------------------------------ */
/* The kinds                                                            */

static const BktSchemaKind kinds[] = {
  [BKT_MANIFEST_FLATPAK_REMOTES] = {
    "flatpak-remotes", "manifests/flatpak-remotes.json", "flatpak-remotes.schema.json",
    "bkt flatpak-remotes.json", "Flatpak remotes to configure (docs/manifests.md).", &flatpak_remotes },
  [BKT_MANIFEST_FLATPAK_APPS] = {
    "flatpak-apps", "manifests/flatpak-apps.json", "flatpak-apps.schema.json",
    "bkt flatpak-apps.json", "Flatpak applications to install (docs/manifests.md).", &flatpak_apps },
  [BKT_MANIFEST_GSETTINGS] = {
    "gsettings", "manifests/gsettings.json", "gsettings.schema.json",
    "bkt gsettings.json", "GSettings values to set (docs/manifests.md).", &gsettings },
  [BKT_MANIFEST_GNOME_EXTENSIONS] = {
    "gnome-extensions", "manifests/gnome-extensions.json", "gnome-extensions.schema.json",
    "bkt gnome-extensions.json", "GNOME Shell extensions to install and enable (docs/manifests.md).",
    &gnome_extensions },
  [BKT_MANIFEST_HOST_SHIMS] = {
    "host-shims", "manifests/host-shims.json", "host-shims.schema.json",
    "bkt host-shims.json", "Toolbox shims that run host commands (docs/manifests.md).", &host_shims },
  [BKT_MANIFEST_SYSTEM_PACKAGES] = {
    "system-packages", "manifests/system-packages.json", "system-packages.schema.json",
    "bkt system-packages.json", "RPM packages layered on the host, and COPR repos (docs/manifests.md).",
    &packages },
  [BKT_MANIFEST_TOOLBOX_PACKAGES] = {
    "toolbox-packages", "manifests/toolbox-packages.json", "toolbox-packages.schema.json",
    "bkt toolbox-packages.json", "RPM packages of the development toolbox (docs/manifests.md).", &packages },
  {
    "base-image-assumptions", "manifests/base-image-assumptions.json", "base-image-assumptions.schema.json",
    "bkt base-image-assumptions.json", "What the distribution assumes its base image provides "
    "(docs/maintenance.md).", &base_image_assumptions },
  {
    "upstream-manifest", "upstream/manifest.json", "upstream-manifest.schema.json",
    "bkt upstream/manifest.json", "Upstream releases the image pins (docs/maintenance.md).", &upstream_manifest,
    check_upstream_names },
  {
    "repo", "repo.json", "repo.schema.json",
    "bkt repo.json", "The distribution repo an image comes from (docs/punning.md).", &repo_json },
};

G_STATIC_ASSERT (G_N_ELEMENTS (kinds) == BKT_MANIFEST_N_KINDS + 3);

const BktSchemaKind *
bkt_schema_kinds (guint *n_kinds)
{
  *n_kinds = G_N_ELEMENTS (kinds);
  return kinds;
}

const BktSchemaKind *
bkt_schema_kind_lookup (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_strcmp0 (kinds[i].name, name) == 0)
      return &kinds[i];
  return NULL;
}

const BktShape *
bkt_manifest_kind_shape (BktManifestKind kind)
{
  g_return_val_if_fail (kind < BKT_MANIFEST_N_KINDS, NULL);
  return kinds[kind].shape;
}

JsonNode *
bkt_schema_generate (const BktSchemaKind *kind)
{
  return bkt_shape_to_schema (kind->shape, NULL, kind->title, kind->description);
}

BktJsonDoc *
bkt_schema_load_data (const BktSchemaKind *kind, const char *display, const char *data, gsize length,
                      gsize max_size, GError **error)
{
  g_autoptr(BktJsonDoc) doc = NULL;

  if (length > max_size)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST, "%s:1:1: too large", display), NULL;
  doc = bkt_json_doc_parse (display, data, (gssize) length, error);
  if (doc == NULL || !bkt_schema_check_document (kind, doc, bkt_json_doc_get_root (doc), error))
    return NULL;
  return g_steal_pointer (&doc);
}

gboolean
bkt_schema_check_document (const BktSchemaKind *kind, BktJsonDoc *doc, JsonNode *root, GError **error)
{
  if (!bkt_shape_check (kind->shape, kind->name, doc, root, error))
    return FALSE;
  return kind->check_more == NULL || kind->check_more (doc, root, error);
}
