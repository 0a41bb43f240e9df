/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-manifest.h"
#include "bkt-manifest-private.h"

/* Name checks of manifest entries, shared with the subsystems that turn
 * these names into paths (kept apart from bkt-manifest.c, which is long
 * enough).  Each name is a BktStringRule: its pattern is the verdict,
 * which the loader, the subsystems, the CLI and the JSON Schemas (`bkt
 * schema generate`) share; the functions below only word why a name the
 * pattern refuses is refused (tests/unit/core/test-schema.c checks that
 * they agree). */

/* Extension uuids name a directory under
 * $XDG_DATA_HOME/gnome-shell/extensions, shim names a file in the shim
 * directory: both must stay one path component that no tool reads as an
 * option.  What extensions.gnome.org accepts ("name@domain", letters,
 * digits, '.', '_', '-') fits in this. */
static char *
check_file_name (const char *value, const char *extra)
{
  if (value[0] == '\0')
    return g_strdup ("must not be empty");
  if (strlen (value) > 255)
    return g_strdup ("is longer than 255 characters");
  if (value[0] == '-' || value[0] == '.')
    return g_strdup ("must not start with '-' or '.'");
  if (strstr (value, "..") != NULL)
    return g_strdup ("must not contain '..'");
  for (const char *s = value; *s != '\0'; s++)
    if (!g_ascii_isalnum (*s) && *s != '.' && *s != '_' && *s != '-' && strchr (extra, *s) == NULL)
      return g_strdup_printf ("only letters, digits, '.', '_', '-'%s are allowed",
                              extra[0] == '@' ? " and '@'" : extra[0] == '+' ? " and '+'" : "");
  return NULL;
}

static char *
explain_extension_uuid (const char *uuid)
{
  return check_file_name (uuid, "@");
}

static char *
explain_plus_name (const char *name)
{
  return check_file_name (name, "+");
}

static char *
explain_shim_host (const char *host)
{
  g_auto(GStrv) parts = NULL;

  if (host[0] != '/')
    return check_file_name (host, "+");
  if (strlen (host) > 4096)
    return g_strdup ("is longer than 4096 characters");
  /* (g_strsplit() gives no element at all for "/": the pattern, which
   * decides, refuses it, and so does this wording now.) */
  if (host[1] == '\0')
    return g_strdup ("must name a command, not \"/\"");
  parts = g_strsplit (host + 1, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *why = check_file_name (parts[i], "+");
      if (why != NULL)
        {
          g_free (why);
          return g_strdup ("must be a command name or an absolute path of letters, digits, '.', '_', '-' and '+' "
                           "without \"..\" or empty elements");
        }
    }
  return NULL;
}


/* COPR's own rules for user, group and project names are narrower than
 * the package-name rule: no '+'.  Each part is bounded so that the repo
 * file name ("_copr:copr.fedorainfracloud.org:group_OWNER:PROJECT.repo")
 * stays under NAME_MAX. */
#define COPR_PART_MAX 100

static char *
check_copr_part (const char *part)
{
  if (strlen (part) > COPR_PART_MAX)
    return g_strdup_printf ("is longer than %d characters", COPR_PART_MAX);
  return check_file_name (part, "");
}

static char *
explain_copr_name (const char *name)
{
  const char *slash = strchr (name, '/');
  gboolean group = name[0] == '@';
  g_autofree char *owner = NULL;
  g_autofree char *why = NULL;

  if (slash == NULL || strchr (slash + 1, '/') != NULL)
    return g_strdup ("must be OWNER/PROJECT (one '/')");
  owner = g_strndup (name + (group ? 1 : 0), (gsize) (slash - name) - (group ? 1 : 0));
  why = check_copr_part (owner);
  if (why != NULL)
    return g_strdup_printf ("the owner %s", why);
  why = check_copr_part (slash + 1);
  if (why != NULL)
    return g_strdup_printf ("the project %s", why);
  return NULL;
}

/* flatpak's own rule for application ids (flatpak_is_valid_name() in
 * flatpak's common/flatpak-ref-utils.c; not public API, and core must not
 * link libflatpak), reimplemented exactly so that the manifest loader, the
 * plan and the CLI refuse the same ids flatpak would:
 *   - 1 to 255 bytes, not starting with '.';
 *   - three or more elements separated by '.' (at least two dots), none
 *     empty;
 *   - each element starts with an ASCII letter or '_', then letters,
 *     digits and '_';
 *   - '-' is allowed in the last element only, anywhere in it (even
 *     first: "org.example.-app" is valid);
 * so an id can never start with '-' and be mistaken for an option. */
static gboolean
is_app_id_char (char c, gboolean initial, gboolean last_element)
{
  return g_ascii_isalpha (c) || c == '_' || (last_element && c == '-') || (!initial && g_ascii_isdigit (c));
}

static char *
explain_flatpak_app_id (const char *id)
{
  gsize len = strlen (id);
  const char *last_dot = strrchr (id, '.');
  guint dots = 0;

  if (len == 0)
    return g_strdup ("must not be empty");
  if (len > 255)
    return g_strdup ("is longer than 255 characters");
  if (id[0] == '.' || id[0] == '-')
    return g_strdup_printf ("must not start with '%c'", id[0]);
  for (const char *s = id; *s != '\0'; s++)
    {
      gboolean initial = s == id || s[-1] == '.';
      gboolean last_element = last_dot != NULL && s > last_dot;

      if (*s == '.' && s[1] == '\0')
        return g_strdup ("must not end with '.'");
      if (*s == '.' && !initial)
        {
          dots++;
          continue;
        }
      if (!is_app_id_char (*s, initial, last_element))
        {
          if (*s == '-')
            return g_strdup ("may contain '-' only in its last element");
          if (*s == '.')
            return g_strdup ("has an empty element");
          if (initial && g_ascii_isdigit (*s))
            return g_strdup ("has an element starting with a digit");
          return g_strdup_printf ("must not contain '%c' (only letters, digits, '_', '.' and, in the last element, '-')",
                                  g_ascii_isprint (*s) ? *s : '?');
        }
    }
  if (dots < 2)
    return g_strdup ("needs at least three elements separated by '.' (reverse DNS such as org.example.App)");
  return NULL;
}

/* "No '..' anywhere" (the lookahead) equals "no '..' in any part" for
 * these names: no part starts with '.', so none can end one across a
 * '/'. */
#define NAME_FIRST "A-Za-z0-9_"
#define NAME_CHARS "A-Za-z0-9._" /* and '-', last in each class */

const BktStringRule bkt_rule_extension_uuid = {
  .pattern = "^(?!.*\\.\\.)[" NAME_FIRST "@][" NAME_CHARS "@-]*$",
  .min_length = 1, .max_length = 255, .explain = explain_extension_uuid,
  .description = "A GNOME Shell extension uuid (a directory name): letters, digits, '.', '_', '-' and '@', "
                 "not starting with '-' or '.', no \"..\", at most 255 characters.",
};

const BktStringRule bkt_rule_plus_name = {
  .pattern = "^(?!.*\\.\\.)[" NAME_FIRST "+][" NAME_CHARS "+-]*$",
  .min_length = 1, .max_length = 255, .explain = explain_plus_name,
  .description = "Letters, digits, '.', '_', '-' and '+', not starting with '-' or '.', no \"..\", "
                 "at most 255 characters.",
};

const BktStringRule bkt_rule_shim_host = {
  .pattern = "^(?!.*\\.\\.)(?:[" NAME_FIRST "+][" NAME_CHARS "+-]{0,254}"
             "|(?:/[" NAME_FIRST "+][" NAME_CHARS "+-]{0,254})+)$",
  .min_length = 1, .max_length = 4096, .explain = explain_shim_host,
  .description = "The host command: a name (letters, digits, '.', '_', '-', '+', not starting with '-' or '.') "
                 "or an absolute path of such names, no \"..\" or empty elements.",
};

const BktStringRule bkt_rule_copr_name = {
  .pattern = "^(?!.*\\.\\.)@?[" NAME_FIRST "][" NAME_CHARS "-]{0,99}/[" NAME_FIRST "][" NAME_CHARS "-]{0,99}$",
  .min_length = 3, .explain = explain_copr_name,
  .description = "A COPR project OWNER/PROJECT (OWNER a user or @group): each part 1 to 100 letters, digits, "
                 "'.', '_', '-', not starting with '-' or '.', no \"..\".",
};

const BktStringRule bkt_rule_flatpak_app_id = {
  .pattern = "^[A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)+\\.[A-Za-z_-][A-Za-z0-9_-]*$",
  .min_length = 1, .max_length = 255, .explain = explain_flatpak_app_id,
  .description = "A flatpak application id as flatpak accepts it: three or more elements separated by '.', "
                 "each of letters, digits and '_' not starting with a digit, '-' allowed in the last element.",
};

char *
bkt_manifest_check_extension_uuid (const char *uuid)
{
  return bkt_string_rule_check (&bkt_rule_extension_uuid, uuid);
}

char *
bkt_manifest_check_shim_name (const char *name)
{
  return bkt_string_rule_check (&bkt_rule_plus_name, name);
}

char *
bkt_manifest_check_shim_host (const char *host)
{
  return bkt_string_rule_check (&bkt_rule_shim_host, host);
}

char *
bkt_manifest_check_package_name (const char *name)
{
  return bkt_string_rule_check (&bkt_rule_plus_name, name);
}

char *
bkt_manifest_check_copr_name (const char *name)
{
  return bkt_string_rule_check (&bkt_rule_copr_name, name);
}

char *
bkt_manifest_check_flatpak_app_id (const char *id)
{
  return bkt_string_rule_check (&bkt_rule_flatpak_app_id, id);
}
