/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-rpm-ostree-progress.h"

/* The phases of an rpm-ostree package transaction in the order it runs
 * them, with the share of the whole each one starts and ends at.  The
 * shares are rough weights (downloading and importing dominate), not
 * measurements; what matters is that the bar moves with the phases. */
static const struct {
  const char *prefix;
  double      start, end;
} phases[] = {
  { "Checking out tree", 0.02, 0.05 },
  { "Enabled rpm-md repositories", 0.05, 0.06 },
  { "Updating metadata for", 0.06, 0.14 },
  { "rpm-md repo", 0.14, 0.15 },
  { "Importing rpm-md", 0.15, 0.20 },
  { "Resolving dependencies", 0.20, 0.28 },
  { "Will download", 0.28, 0.30 },
  { "Downloading", 0.30, 0.58 },
  { "Importing packages", 0.58, 0.68 },
  { "Checking out packages", 0.68, 0.74 },
  { "Running pre scripts", 0.74, 0.77 },
  { "Running post scripts", 0.77, 0.81 },
  { "Running posttrans scripts", 0.81, 0.84 },
  { "Writing rpmdb", 0.84, 0.87 },
  { "Writing OSTree commit", 0.87, 0.92 },
  { "Staging deployment", 0.92, 0.99 },
};


/* "(3/10)" or "3/10" anywhere in @text: the share done within a phase. */
static gboolean
count_share (const char *text, double *share)
{
  for (const char *s = strchr (text, '/'); s != NULL; s = strchr (s + 1, '/'))
    {
      const char *a = s;
      char *end = NULL;
      guint64 n, m;

      while (a > text && g_ascii_isdigit (a[-1]))
        a--;
      if (a == s || !g_ascii_isdigit (s[1]))
        continue;
      n = g_ascii_strtoull (a, NULL, 10);
      m = g_ascii_strtoull (s + 1, &end, 10);
      if (m > 0 && n <= m)
        {
          *share = (double) n / (double) m;
          return TRUE;
        }
    }
  return FALSE;
}

/* One line (complete when @complete) of rpm-ostree's output. */
static gboolean
take_line (BktRpmOstreeProgress *p, const char *raw, gboolean complete)
{
  g_autofree char *text = g_strstrip (g_strdup (raw));
  g_autofree char *detail = NULL;
  double fraction = p->fraction;
  gboolean done;
  gsize len;

  /* Indented lines are lists (packages added or removed): not a phase. */
  if (*text == '\0' || g_ascii_isspace (raw[0]) || !g_utf8_validate (text, -1, NULL))
    return FALSE;
  done = g_str_has_suffix (text, "... done") || (complete && g_str_has_suffix (text, "done"));
  len = strlen (text);
  if (g_str_has_suffix (text, "... done"))
    text[len - strlen ("... done")] = '\0';
  else if (g_str_has_suffix (text, "..."))
    text[len - 3] = '\0';
  detail = g_strdup (text);

  for (guint i = 0; i < G_N_ELEMENTS (phases); i++)
    if (g_str_has_prefix (text, phases[i].prefix))
      {
        double share = 0;

        if (done)
          fraction = phases[i].end;
        else if (count_share (text, &share))
          fraction = phases[i].start + share * (phases[i].end - phases[i].start);
        else
          fraction = phases[i].start;
        break;
      }

  if (fraction < p->fraction)
    fraction = p->fraction;
  if (fraction == p->fraction && g_strcmp0 (detail, p->detail) == 0)
    return FALSE;
  p->fraction = fraction;
  g_free (p->detail);
  p->detail = g_steal_pointer (&detail);
  return TRUE;
}

static void
on_line (gpointer user_data, const char *line)
{
  BktRpmOstreeProgress *p = user_data;

  p->changed |= take_line (p, line, TRUE);
}

void
bkt_rpm_ostree_progress_init (BktRpmOstreeProgress *p)
{
  bkt_line_buffer_init (&p->lines, on_line, p);
  p->fraction = 0;
  p->detail = NULL;
}

void
bkt_rpm_ostree_progress_clear (BktRpmOstreeProgress *p)
{
  bkt_line_buffer_clear (&p->lines);
  g_clear_pointer (&p->detail, g_free);
}

gboolean
bkt_rpm_ostree_progress_feed (BktRpmOstreeProgress *p, const char *data, gsize len)
{
  p->changed = FALSE;
  bkt_line_buffer_feed (&p->lines, data, len);
  /* The phase being worked on is the unfinished line. */
  if (p->lines.partial->len > 0)
    p->changed |= take_line (p, p->lines.partial->str, FALSE);
  return p->changed;
}
