/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A changelog entry from a distribution repo (a .yaml or .json file in
 * .changelog/pending), which a pull request author controls: the first byte picks
 * the YAML subset reader or the JSON one; an accepted entry is rendered. */
#include "config.h"

#include "bkt-changelog.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(JsonObject) entry = NULL;

  fuzz_init ();
  if (size < 1 || size - 1 > BKT_CHANGELOG_MAX_FILE)
    return 0;
  entry = bkt_changelog_parse_entry ("fuzz.entry", (const char *) data + 1, size - 1, data[0] & 1, NULL);
  if (entry != NULL)
    {
      /* As `bkt changelog show` would: a version document of one entry. */
      g_autoptr(JsonObject) doc = json_object_new ();
      JsonArray *entries = json_array_new ();

      json_array_add_object_element (entries, json_object_ref (entry));
      json_object_set_string_member (doc, "version", "2024.01.01.1");
      json_object_set_array_member (doc, "entries", entries);
      g_free (bkt_changelog_render_section (doc));
      g_free (bkt_changelog_render_short (doc, TRUE));
    }
  return 0;
}
