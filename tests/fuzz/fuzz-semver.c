/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Versions as GitHub tags and releases name them (anyone who controls an
 * upstream chooses them): two strings split at the first NUL, parsed,
 * compared both ways (the order must be antisymmetric) and checked
 * against every update policy. */
#include "config.h"

#include "bkt-semver.h"
#include "fuzz-common.h"

static int
sign (int v)
{
  return v < 0 ? -1 : v > 0 ? 1 : 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *all = g_malloc (size + 1);
  const char *a = all, *b, *nul;
  BktSemver va = { 0 }, vb = { 0 };

  fuzz_init ();
  memcpy (all, data, size);
  all[size] = '\0';
  nul = memchr (all, '\0', size);
  b = nul != NULL ? nul + 1 : "1.0.0";
  bkt_semver_parse (a, &va);
  bkt_semver_parse (b, &vb);
  bkt_semver_clear (&va);
  bkt_semver_clear (&vb);
  if (sign (bkt_version_compare (a, b)) != -sign (bkt_version_compare (b, a)))
    abort ();
  if (bkt_version_compare (a, a) != 0)
    abort ();
  (void) bkt_version_is_prerelease (a);
  /* Every policy; the two prerelease flags from the input's length (one
   * combination per run keeps the run fast, the corpus covers the rest). */
  for (int p = BKT_UPSTREAM_POLICY_PIN; p <= BKT_UPSTREAM_POLICY_MAJOR; p++)
    (void) bkt_upstream_policy_allows ((BktUpstreamPolicy) p, a, b, size & 1, (size >> 1) & 1);
  return 0;
}
