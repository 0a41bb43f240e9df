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

/* ---- grouping repeated warnings ---------------------------------------------------- */

#define ITEM_MARK "<name>"

/* The characters around an item in a sentence ("`bkt shim sync`,"). */
static gboolean
is_wrapper (char c)
{
  return strchr ("`'\"“”‘’(),;.:[]", c) != NULL && c != '\0';
}

/* The first word where @a and @b differ, as the item it names: without
 * the quotes and punctuation around it and a "kind:" prefix
 * ("flatpak:org.x.Y," → "org.x.Y").  NULL when they do not differ in
 * exactly that way (no word differs, or a different number of words). */
static char *
differing_item (char **wa, char **wb)
{
  guint na = g_strv_length (wa), nb = g_strv_length (wb);

  if (na != nb)
    return NULL;
  for (guint i = 0; i < na; i++)
    if (strcmp (wa[i], wb[i]) != 0)
      {
        const char *s = wa[i];
        const char *e = s + strlen (s);
        const char *colon;

        while (s < e && is_wrapper (*s))
          s++;
        while (e > s && is_wrapper (e[-1]))
          e--;
        colon = g_strrstr_len (s, e - s, ":");
        if (colon != NULL && colon + 1 < e)
          s = colon + 1;
        return e > s ? g_strndup (s, e - s) : NULL;
      }
  return NULL;
}

/* Could @item be a name in @line rather than a word of the sentence?  A
 * name has a character words do not (org.x.Y, uuid@host, rpm-ostree,
 * 2024.01.05), or comes back in the line, as in its fix ("shim podman …
 * `bkt shim remove podman`").  "installed" vs "enabled" is neither. */
static gboolean
looks_like_item (const char *line, const char *item)
{
  const char *first = strstr (line, item);

  return strpbrk (item, ".@-_/0123456789") != NULL
         || (first != NULL && strstr (first + strlen (item), item) != NULL);
}

static char *
template_of (const char *line, const char *item)
{
  g_auto(GStrv) parts = g_strsplit (line, item, -1);

  return g_strjoinv (ITEM_MARK, parts);
}

typedef struct {
  char      *first;     /* the first line of the group, as it was */
  char      *template;  /* with its item replaced, once a second line matched */
  GPtrArray *items;
} Group;

static void
group_free (gpointer p)
{
  Group *g = p;

  g_free (g->first);
  g_free (g->template);
  g_ptr_array_unref (g->items);
  g_free (g);
}

/* Does @line belong to @g (the same sentence about another item)? */
static gboolean
group_take (Group *g, const char *line)
{
  g_auto(GStrv) wl = g_strsplit (line, " ", -1);
  g_auto(GStrv) wf = g_strsplit (g->first, " ", -1);
  g_autofree char *item = differing_item (wl, wf);
  g_autofree char *first_item = differing_item (wf, wl);
  g_autofree char *t = NULL;

  if (item == NULL || first_item == NULL || !looks_like_item (line, item) || !looks_like_item (g->first, first_item))
    return FALSE;
  t = template_of (line, item);
  if (g->template == NULL)
    {
      g_autofree char *ft = template_of (g->first, first_item);
      if (!g_str_equal (t, ft))
        return FALSE;
      g->template = g_steal_pointer (&ft);
      g_ptr_array_add (g->items, g_steal_pointer (&first_item));
    }
  else if (!g_str_equal (t, g->template))
    return FALSE;
  g_ptr_array_add (g->items, g_steal_pointer (&item));
  return TRUE;
}

GPtrArray *
bkt_text_group_lines (const char * const *lines, guint max_names)
{
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func (group_free);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; lines != NULL && lines[i] != NULL; i++)
    {
      gboolean taken = FALSE;

      for (guint k = 0; k < groups->len && !taken; k++)
        taken = group_take (groups->pdata[k], lines[i]);
      if (!taken)
        {
          Group *g = g_new0 (Group, 1);
          g->first = g_strdup (lines[i]);
          g->items = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (groups, g);
        }
    }
  for (guint k = 0; k < groups->len; k++)
    {
      Group *g = groups->pdata[k];
      g_autoptr(GString) names = g_string_new (NULL);

      if (g->template == NULL)
        {
          g_ptr_array_add (out, g_strdup (g->first));
          continue;
        }
      for (guint i = 0; i < g->items->len && i < max_names; i++)
        g_string_append_printf (names, "%s%s", i > 0 ? ", " : "", (char *) g->items->pdata[i]);
      if (g->items->len > max_names)
        g_string_append_printf (names, " and %u more", g->items->len - max_names);
      g_ptr_array_add (out, g_strdup_printf ("%u× %s — %s: %s", g->items->len, g->template, ITEM_MARK, names->str));
    }
  return out;
}

int
bkt_text_natural_compare (const char *a, const char *b)
{
  const char *p = a, *q = b;

  if (a == NULL || b == NULL)
    return a == b ? 0 : a == NULL ? -1 : 1;
  while (*p != '\0' && *q != '\0')
    {
      if (g_ascii_isdigit (*p) && g_ascii_isdigit (*q))
        {
          const char *p0, *q0;
          gsize lp, lq;
          int c;

          while (*p == '0' && g_ascii_isdigit (p[1]))
            p++;
          while (*q == '0' && g_ascii_isdigit (q[1]))
            q++;
          for (p0 = p; g_ascii_isdigit (*p); p++)
            ;
          for (q0 = q; g_ascii_isdigit (*q); q++)
            ;
          lp = p - p0;
          lq = q - q0;
          if (lp != lq)
            return lp < lq ? -1 : 1;      /* more digits: a larger number */
          c = strncmp (p0, q0, lp);
          if (c != 0)
            return c;
          continue;
        }
      if (*p != *q)
        return (guchar) *p < (guchar) *q ? -1 : 1;
      p++, q++;
    }
  if (*p != *q)
    return *p == '\0' ? -1 : 1;
  return strcmp (a, b);
}
