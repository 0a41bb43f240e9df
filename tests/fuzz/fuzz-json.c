/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manifest loader on hostile text: bkt's own position-keeping JSON
 * parser (bkt_json_doc_parse), the typed loader of each manifest kind, and
 * the content a system daemon client sends (bkt_manifest_set_new_from_content).
 * The first byte picks the path. */
#include "config.h"

#include "bkt-json.h"
#include "bkt-manifest.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = NULL;
  guint8 pick;

  fuzz_init ();
  if (size < 1)
    return 0;
  pick = data[0];
  text = fuzz_strndup (data + 1, size - 1);
  if (pick < 64)
    {
      g_autoptr(BktJsonDoc) doc = bkt_json_doc_parse ("fuzz.json", (const char *) data + 1, (gssize) size - 1, NULL);
      if (doc != NULL)
        {
          g_autofree char *out = bkt_json_to_document (bkt_json_doc_get_root (doc), NULL);
          (void) out;
        }
    }
  else if (pick < 192)
    {
      BktManifestKind kind = (BktManifestKind) (pick % BKT_MANIFEST_N_KINDS);
      g_autoptr(BktManifest) m = bkt_manifest_load_data (kind, "fuzz.json", (const char *) data + 1, size - 1, NULL);
      (void) m;
    }
  else
    {
      g_autoptr(BktManifestSet) set = bkt_manifest_set_new_from_content (text, NULL);
      (void) set;
    }
  return 0;
}
