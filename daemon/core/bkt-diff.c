/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-diff.h"

typedef struct {
  const char *p;
  gsize       len;  /* with its '\n', if it has one */
} Line;

typedef enum { OP_EQUAL, OP_DELETE, OP_INSERT } OpType;

typedef struct {
  OpType type;
  guint  a;  /* index of the line of a (EQUAL, DELETE) */
  guint  b;  /* index of the line of b (EQUAL, INSERT) */
} Op;

static GArray *
split_lines (const char *text, gsize len)
{
  GArray *lines = g_array_new (FALSE, FALSE, sizeof (Line));
  gsize start = 0;

  for (gsize i = 0; i < len; i++)
    if (text[i] == '\n')
      {
        Line l = { text + start, i + 1 - start };
        g_array_append_val (lines, l);
        start = i + 1;
      }
  if (start < len)
    {
      Line l = { text + start, len - start };
      g_array_append_val (lines, l);
    }
  return lines;
}

static gboolean
line_eq (GArray *a, guint i, GArray *b, guint j)
{
  Line *x = &g_array_index (a, Line, i), *y = &g_array_index (b, Line, j);

  return x->len == y->len && memcmp (x->p, y->p, x->len) == 0;
}

static void
push (GArray *ops, OpType type, guint a, guint b)
{
  Op op = { type, a, b };
  g_array_append_val (ops, op);
}

/* Myers' greedy forward search over a[lo_a, lo_a+n) and b[lo_b, lo_b+m);
 * each round's V window (k = -d-1 … d+1) is kept for the backtrack.
 * FALSE when more than BKT_DIFF_MAX_EDITS edits would be needed. */
static gboolean
myers (GArray *a, guint lo_a, guint n, GArray *b, guint lo_b, guint m, GArray *ops)
{
  guint max = MIN (n + m, BKT_DIFF_MAX_EDITS);
  g_autofree int *v = g_new0 (int, 2 * max + 3);
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);
  int off = (int) max + 1, x = 0, y = 0, found = -1;
  g_autoptr(GArray) rev = g_array_new (FALSE, FALSE, sizeof (Op));

  for (int d = 0; d <= (int) max && found < 0; d++)
    {
      int *window = g_new (int, 2 * d + 3);

      memcpy (window, v + off - d - 1, sizeof (int) * (gsize) (2 * d + 3));
      g_ptr_array_add (trace, window);
      for (int k = -d; k <= d; k += 2)
        {
          x = (k == -d || (k != d && v[off + k - 1] < v[off + k + 1])) ? v[off + k + 1] : v[off + k - 1] + 1;
          y = x - k;
          while (x < (int) n && y < (int) m && line_eq (a, lo_a + (guint) x, b, lo_b + (guint) y))
            x++, y++;
          v[off + k] = x;
          if (x >= (int) n && y >= (int) m)
            {
              found = d;
              break;
            }
        }
    }
  if (found < 0)
    return FALSE;
  x = (int) n, y = (int) m;
  for (int d = found; d >= 0; d--)
    {
      int *w = g_ptr_array_index (trace, d);  /* w[k + d + 1] = V[k] before round d */
      int k = x - y;
      int prev_k = (k == -d || (k != d && w[k - 1 + d + 1] < w[k + 1 + d + 1])) ? k + 1 : k - 1;
      int prev_x = d > 0 ? w[prev_k + d + 1] : 0;
      int prev_y = d > 0 ? prev_x - prev_k : 0;

      while (x > prev_x && y > prev_y)
        push (rev, OP_EQUAL, lo_a + (guint) --x, lo_b + (guint) --y);
      if (d > 0)
        {
          if (x == prev_x)
            push (rev, OP_INSERT, lo_a + (guint) x, lo_b + (guint) --y);
          else
            push (rev, OP_DELETE, lo_a + (guint) --x, lo_b + (guint) y);
        }
    }
  for (guint i = rev->len; i > 0; i--)
    g_array_append_val (ops, g_array_index (rev, Op, i - 1));
  return TRUE;
}

static void
print_line (GString *out, char mark, Line *l)
{
  g_string_append_c (out, mark);
  g_string_append_len (out, l->p, (gssize) l->len);
  if (l->len == 0 || l->p[l->len - 1] != '\n')
    g_string_append (out, "\n\\ No newline at end of file\n");
}

/* "l,n" of a hunk side; an empty side names the line before it. */
static void
print_range (GString *out, guint start, guint count)
{
  if (count == 1)
    g_string_append_printf (out, "%u", start + 1);
  else
    g_string_append_printf (out, "%u,%u", count == 0 ? start : start + 1, count);
}

static void
print_hunks (GString *out, GArray *ops, GArray *a, GArray *b, guint context)
{
  guint i = 0;

  while (i < ops->len)
    {
      guint first, last, start, end, a_count = 0, b_count = 0;

      while (i < ops->len && g_array_index (ops, Op, i).type == OP_EQUAL)
        i++;
      if (i == ops->len)
        break;
      first = last = i;
      /* Changes closer than two contexts apart share a hunk. */
      for (guint j = i + 1; j < ops->len && j <= last + 2 * context + 1; j++)
        if (g_array_index (ops, Op, j).type != OP_EQUAL)
          last = j;
      start = first > context ? first - context : 0;
      end = MIN (last + context + 1, ops->len);
      for (guint j = start; j < end; j++)
        {
          OpType t = g_array_index (ops, Op, j).type;
          a_count += t != OP_INSERT;
          b_count += t != OP_DELETE;
        }
      g_string_append (out, "@@ -");
      print_range (out, g_array_index (ops, Op, start).a, a_count);
      g_string_append (out, " +");
      print_range (out, g_array_index (ops, Op, start).b, b_count);
      g_string_append (out, " @@\n");
      for (guint j = start; j < end; j++)
        {
          Op *op = &g_array_index (ops, Op, j);

          if (op->type == OP_EQUAL)
            print_line (out, ' ', &g_array_index (a, Line, op->a));
          else if (op->type == OP_DELETE)
            print_line (out, '-', &g_array_index (a, Line, op->a));
          else
            print_line (out, '+', &g_array_index (b, Line, op->b));
        }
      i = end;
    }
}

char *
bkt_diff_unified (const char *label_a, const char *a, gsize a_len, const char *label_b, const char *b,
                  gsize b_len, guint context)
{
  g_autoptr(GArray) la = split_lines (a != NULL ? a : "", a != NULL ? a_len : 0);
  g_autoptr(GArray) lb = split_lines (b != NULL ? b : "", b != NULL ? b_len : 0);
  g_autoptr(GArray) ops = g_array_new (FALSE, FALSE, sizeof (Op));
  g_autoptr(GString) out = g_string_new (NULL);
  guint pre = 0, suf = 0, n, m;

  if (a_len == b_len && (a_len == 0 || memcmp (a, b, a_len) == 0))
    return g_strdup ("");
  while (pre < la->len && pre < lb->len && line_eq (la, pre, lb, pre))
    push (ops, OP_EQUAL, pre, pre), pre++;
  while (suf < la->len - pre && suf < lb->len - pre && line_eq (la, la->len - 1 - suf, lb, lb->len - 1 - suf))
    suf++;
  n = la->len - pre - suf;
  m = lb->len - pre - suf;
  if (!myers (la, pre, n, lb, pre, m, ops))
    {
      /* Too different for a minimal script: all out, all in. */
      for (guint i = 0; i < n; i++)
        push (ops, OP_DELETE, pre + i, pre);
      for (guint j = 0; j < m; j++)
        push (ops, OP_INSERT, pre + n, pre + j);
    }
  for (guint i = 0; i < suf; i++)
    push (ops, OP_EQUAL, la->len - suf + i, lb->len - suf + i);
  g_string_append_printf (out, "--- %s\n+++ %s\n", label_a, label_b);
  print_hunks (out, ops, la, lb, context);
  return g_string_free (g_steal_pointer (&out), FALSE);
}
