/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Containerfile's managed sections: the file (a pull request author
 * controls it) and a system-packages.json, separated by the first NUL
 * byte, regenerated as `bkt dnf install --pr` does; the output is checked
 * to regenerate to itself. */
#include "config.h"

#include "bkt-containerfile.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *nul = memchr (data, '\0', size);
  const char *file = (const char *) data;
  gsize file_len = nul ? (gsize) (nul - data) : size;
  const char *json = nul ? (const char *) nul + 1 : "{\"packages\": [\"htop\"]}";
  gsize json_len = nul ? size - file_len - 1 : strlen (json);
  g_autofree char *out = NULL, *again = NULL;
  gboolean changed = FALSE;
  gsize out_len = 0, again_len = 0;

  fuzz_init ();
  out = bkt_containerfile_regenerate_packages ("Containerfile", file, file_len, json, json_len, TRUE, TRUE,
                                               &changed, &out_len, NULL);
  if (out == NULL)
    return 0;
  /* Idempotent: regenerating the output changes nothing. */
  again = bkt_containerfile_regenerate_packages ("Containerfile", out, out_len, json, json_len, TRUE, TRUE,
                                                 &changed, &again_len, NULL);
  if (again == NULL || again_len != out_len || memcmp (again, out, out_len) != 0 || changed)
    abort ();
  return 0;
}
