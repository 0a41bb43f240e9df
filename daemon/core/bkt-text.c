/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-text.h"

static inline gboolean
same (char x, char y, gboolean ignore_case)
{
  return ignore_case ? g_ascii_tolower (x) == g_ascii_tolower (y) : x == y;
}

guint
bkt_text_edit_distance (const char *a, const char *b, guint max, gboolean ignore_case)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *prev2 = NULL, *prev = NULL, *cur = NULL;

  g_return_val_if_fail (max < G_MAXUINT, G_MAXUINT);

  /* The length difference alone is a lower bound. */
  if ((la > lb ? la - lb : lb - la) > max)
    return max + 1;
  prev2 = g_new0 (guint, lb + 1);
  prev = g_new0 (guint, lb + 1);
  cur = g_new0 (guint, lb + 1);
  for (gsize j = 0; j <= lb; j++)
    prev[j] = (guint) j;
  for (gsize i = 1; i <= la; i++)
    {
      guint row_min;
      guint *tmp;

      cur[0] = row_min = (guint) i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint cost = same (a[i - 1], b[j - 1], ignore_case) ? 0 : 1;
          guint d = MIN (MIN (prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);

          if (i > 1 && j > 1 && same (a[i - 1], b[j - 2], ignore_case) &&
              same (a[i - 2], b[j - 1], ignore_case))
            d = MIN (d, prev2[j - 2] + 1);
          cur[j] = d;
          row_min = MIN (row_min, d);
        }
      /* Every later row is at least this row's minimum. */
      if (row_min > max)
        return max + 1;
      tmp = prev2, prev2 = prev, prev = cur, cur = tmp;
    }
  return MIN (prev[lb], max + 1);
}
