/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-semver.h"

static const char *const policy_names[] = { "pin", "patch", "minor", "major" };

gboolean
bkt_upstream_policy_from_string (const char *text, BktUpstreamPolicy *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (policy_names); i++)
    if (text != NULL && g_str_equal (text, policy_names[i]))
      {
        *out = (BktUpstreamPolicy) i;
        return TRUE;
      }
  return FALSE;
}

const char *
bkt_upstream_policy_to_string (BktUpstreamPolicy policy)
{
  g_return_val_if_fail (policy < G_N_ELEMENTS (policy_names), NULL);
  return policy_names[policy];
}

static const char *
skip_v (const char *text)
{
  return (text[0] == 'v' || text[0] == 'V') && g_ascii_isdigit (text[1]) ? text + 1 : text;
}

/* A semver numeric part: digits, no leading zero, fits in 64 bits. */
static gboolean
parse_number (const char **p, guint64 *out)
{
  const char *s = *p;
  guint64 v = 0;

  if (!g_ascii_isdigit (*s) || (s[0] == '0' && g_ascii_isdigit (s[1])))
    return FALSE;
  for (; g_ascii_isdigit (*s); s++)
    {
      if (v > (G_MAXUINT64 - 9) / 10)
        return FALSE;
      v = v * 10 + (guint64) (*s - '0');
    }
  *out = v;
  *p = s;
  return TRUE;
}

/* Dot-separated non-empty identifiers of [0-9A-Za-z-]. */
static gboolean
identifiers_ok (const char *s, gsize len)
{
  gboolean empty = TRUE;

  if (len == 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (s[i] == '.')
        {
          if (empty)
            return FALSE;
          empty = TRUE;
        }
      else if (g_ascii_isalnum (s[i]) || s[i] == '-')
        empty = FALSE;
      else
        return FALSE;
    }
  return !empty;
}

void
bkt_semver_clear (BktSemver *v)
{
  g_clear_pointer (&v->pre, g_free);
  g_clear_pointer (&v->build, g_free);
  v->semver = FALSE;
}

gboolean
bkt_semver_parse (const char *text, BktSemver *out)
{
  const char *p = skip_v (text);
  const char *plus;
  const char *pre_end;

  memset (out, 0, sizeof *out);
  if (!parse_number (&p, &out->major) || *p++ != '.' || !parse_number (&p, &out->minor) || *p++ != '.'
      || !parse_number (&p, &out->patch))
    return FALSE;
  plus = strchr (p, '+');
  pre_end = plus != NULL ? plus : p + strlen (p);
  if (*p == '-')
    {
      if (!identifiers_ok (p + 1, (gsize) (pre_end - p - 1)))
        return FALSE;
      out->pre = g_strndup (p + 1, (gsize) (pre_end - p - 1));
    }
  else if (p != pre_end)
    return FALSE;
  if (plus != NULL)
    {
      if (!identifiers_ok (plus + 1, strlen (plus + 1)))
        {
          bkt_semver_clear (out);
          return FALSE;
        }
      out->build = g_strdup (plus + 1);
    }
  out->semver = TRUE;
  return TRUE;
}

static gboolean
all_digits (const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  return len > 0;
}

/* Two runs of digits as numbers of any length: no overflow, leading
 * zeros ignored (so 01 == 1, as dates compare). */
static int
compare_digits (const char *a, gsize alen, const char *b, gsize blen)
{
  int c;

  while (alen > 1 && *a == '0')
    a++, alen--;
  while (blen > 1 && *b == '0')
    b++, blen--;
  if (alen != blen)
    return alen < blen ? -1 : 1;
  c = memcmp (a, b, alen);
  return c < 0 ? -1 : c > 0;
}

static int
compare_text (const char *a, gsize alen, const char *b, gsize blen)
{
  int c = memcmp (a, b, MIN (alen, blen));

  if (c != 0)
    return c < 0 ? -1 : 1;
  return alen < blen ? -1 : alen > blen;
}

/* semver.org §11: pre-release identifiers one by one, numbers below text,
 * fewer identifiers lower when all before are equal. */
static int
compare_pre (const char *a, const char *b)
{
  g_auto(GStrv) ia = g_strsplit (a, ".", -1);
  g_auto(GStrv) ib = g_strsplit (b, ".", -1);
  guint i;

  for (i = 0; ia[i] != NULL && ib[i] != NULL; i++)
    {
      gsize la = strlen (ia[i]), lb = strlen (ib[i]);
      gboolean na = all_digits (ia[i], la), nb = all_digits (ib[i], lb);
      int c;

      if (na && nb)
        c = compare_digits (ia[i], la, ib[i], lb);
      else if (na != nb)
        c = na ? -1 : 1;
      else
        c = compare_text (ia[i], la, ib[i], lb);
      if (c != 0)
        return c;
    }
  return ia[i] == NULL ? (ib[i] == NULL ? 0 : -1) : 1;
}

/* The next segment of @s: a run of digits or of other non-separators. */
static gboolean
next_segment (const char **s, const char **start, gsize *len, gboolean *digits)
{
  const char *p = *s;

  while (*p != '\0' && strchr (".-_+~", *p) != NULL)
    p++;
  if (*p == '\0')
    {
      *s = p;
      return FALSE;
    }
  *start = p;
  *digits = g_ascii_isdigit (*p);
  while (*p != '\0' && strchr (".-_+~", *p) == NULL && (g_ascii_isdigit (*p) != 0) == *digits)
    p++;
  *len = (gsize) (p - *start);
  *s = p;
  return TRUE;
}

static int
compare_segments (const char *a, const char *b)
{
  for (;;)
    {
      const char *sa = NULL, *sb = NULL;
      gsize la = 0, lb = 0;
      gboolean da = FALSE, db = FALSE;
      gboolean ha = next_segment (&a, &sa, &la, &da);
      gboolean hb = next_segment (&b, &sb, &lb, &db);
      int c;

      if (!ha || !hb)
        return ha ? 1 : hb ? -1 : 0;
      if (da && db)
        c = compare_digits (sa, la, sb, lb);
      else if (da != db)
        c = da ? 1 : -1;
      else
        c = compare_text (sa, la, sb, lb);
      if (c != 0)
        return c;
    }
}

int
bkt_version_compare (const char *a, const char *b)
{
  BktSemver va, vb;
  int c = 0;
  gboolean both = bkt_semver_parse (a, &va) & bkt_semver_parse (b, &vb);

  if (both)
    {
      if (va.major != vb.major)
        c = va.major < vb.major ? -1 : 1;
      else if (va.minor != vb.minor)
        c = va.minor < vb.minor ? -1 : 1;
      else if (va.patch != vb.patch)
        c = va.patch < vb.patch ? -1 : 1;
      else if ((va.pre == NULL) != (vb.pre == NULL))
        c = va.pre == NULL ? 1 : -1;
      else if (va.pre != NULL)
        c = compare_pre (va.pre, vb.pre);
    }
  else
    c = compare_segments (skip_v (a), skip_v (b));
  bkt_semver_clear (&va);
  bkt_semver_clear (&vb);
  return c;
}

gboolean
bkt_version_is_prerelease (const char *version)
{
  BktSemver v;
  gboolean pre = bkt_semver_parse (version, &v) && v.pre != NULL;

  bkt_semver_clear (&v);
  return pre;
}

gboolean
bkt_upstream_policy_allows (BktUpstreamPolicy policy, const char *pinned, const char *candidate,
                            gboolean candidate_prerelease, gboolean allow_pre)
{
  BktSemver p, c;
  gboolean ok;

  if (policy == BKT_UPSTREAM_POLICY_PIN || bkt_version_compare (candidate, pinned) <= 0)
    return FALSE;
  if ((candidate_prerelease || bkt_version_is_prerelease (candidate)) && !allow_pre
      && !bkt_version_is_prerelease (pinned))
    return FALSE;
  if (policy == BKT_UPSTREAM_POLICY_MAJOR)
    return TRUE;
  if (!(bkt_semver_parse (pinned, &p) & bkt_semver_parse (candidate, &c)))
    ok = FALSE;
  else if (policy == BKT_UPSTREAM_POLICY_MINOR)
    ok = p.major == c.major;
  else
    ok = p.major == c.major && p.minor == c.minor;
  bkt_semver_clear (&p);
  bkt_semver_clear (&c);
  return ok;
}
