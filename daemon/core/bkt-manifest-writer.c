/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-manifest-private.h"

/* ------------------------------------------------------------------ */
/* Writing                                                              */

/* A file we loaded is written back as its own bytes with only the
 * changed entries' bytes replaced, so that an add or a remove in a
 * distribution's repository is a diff of that entry's lines and nothing
 * else, whatever tool formatted the file.  Changes are found by comparing
 * the manifest with the file as loaded (re-parsed: the manifest's tree is
 * edited in place), so edits through get_entries() and lookup() count as
 * much as those through upsert() and remove(). */

typedef enum
{
  ITEM_UNCHANGED,  /* an entry of the file, as it was: its bytes are copied */
  ITEM_REPLACED,   /* an entry of the file with new contents, in its place */
  ITEM_ADDED,      /* an entry the file does not have */
} ItemKind;

typedef struct
{
  ItemKind kind;
  guint orig;          /* index in the file's list (not for ITEM_ADDED) */
  JsonNode *node;      /* the entry now */
  const char *key;
} Item;

typedef struct
{
  const char *data;
  gsize length;
  BktJsonDoc *doc;     /* the file as loaded */
  JsonArray *list;     /* its list member; NULL if it has none */
  const BktJsonSpan *list_span;
  guint n;             /* entries in the file */
  GPtrArray *keys;     /* their keys */
  const char *eol;     /* "\n" or, for a CRLF file, "\r\n" */
  char *unit;          /* one level of indentation */
  char *sep;           /* what goes between two entries */
} Source;

static void
source_clear (Source *src)
{
  g_clear_object (&src->doc);
  g_clear_pointer (&src->keys, g_ptr_array_unref);
  g_clear_pointer (&src->unit, g_free);
  g_clear_pointer (&src->sep, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Source, source_clear)

static gsize
line_start (const char *data, gsize offset)
{
  while (offset > 0 && data[offset - 1] != '\n')
    offset--;
  return offset;
}

/* The blanks starting the line that holds @offset. */
static char *
line_indent (const char *data, gsize offset)
{
  gsize start = line_start (data, offset);
  gsize end = start;

  while (end < offset && (data[end] == ' ' || data[end] == '\t'))
    end++;
  return g_strndup (data + start, end - start);
}

static gboolean
starts_line (const char *data, gsize offset)
{
  for (gsize i = line_start (data, offset); i < offset; i++)
    if (data[i] != ' ' && data[i] != '\t')
      return FALSE;
  return TRUE;
}

static gsize
column_of (const char *data, gsize offset)
{
  gsize start = line_start (data, offset);
  return bkt_json_text_width (data + start, (gssize) (offset - start));
}

static const BktJsonSpan *
entry_span (Source *src, guint i)
{
  return bkt_json_doc_get_span (src->doc, json_array_get_element (src->list, i));
}

/* The key of an entry of the view's list: the kind's key for its own
 * list, "name" for a secondary list (copr_repos). */
static char *
view_key (const BktManifestView *view, JsonNode *node)
{
  JsonNode *name;

  if (g_str_equal (view->list, bkt_manifest_kind_list_member (view->kind)))
    return bkt_manifest_node_key (view->kind, node);
  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_OBJECT)
    return NULL;
  name = json_object_get_member (json_node_get_object (node), "name");
  if (name == NULL || JSON_NODE_TYPE (name) != JSON_NODE_VALUE || json_node_get_value_type (name) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (name));
}

static gboolean
object_members_equal_except (JsonObject *a, JsonObject *b, const char *except, const char *except2)
{
  g_autoptr(GList) names = json_object_get_members (a);
  guint n_a = 0;
  guint n_b = json_object_get_size (b) - (json_object_has_member (b, except) ? 1 : 0)
              - (except2 != NULL && json_object_has_member (b, except2) ? 1 : 0);

  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *other;

      if (g_str_equal (l->data, except) || g_strcmp0 (l->data, except2) == 0)
        continue;
      n_a++;
      other = json_object_get_member (b, l->data);
      if (other == NULL || !json_node_equal (json_object_get_member (a, l->data), other))
        return FALSE;
    }
  return n_a == n_b;
}

/* Sets up @src from the file @self was loaded from.  FALSE if there is
 * none or the edits are not confined to the list's entries. */
static gboolean
source_init (Source *src, const BktManifestView *self)
{
  const char *list_name = self->list;
  JsonNode *root;
  JsonNode *list_node;
  JsonNode *now_list;
  const BktJsonSpan *first;

  if (self->data == NULL || self->root == NULL)
    return FALSE;
  now_list = json_object_get_member (json_node_get_object (self->root), list_name);
  if (now_list == NULL || JSON_NODE_TYPE (now_list) != JSON_NODE_ARRAY ||
      json_node_get_array (now_list) != self->entries)
    return FALSE;

  src->data = self->data;
  src->length = self->length;
  src->doc = bkt_json_doc_parse (self->filename, src->data, (gssize) src->length, NULL);
  if (src->doc == NULL)
    return FALSE;
  root = bkt_json_doc_get_root (src->doc);
  if (JSON_NODE_TYPE (root) != JSON_NODE_OBJECT ||
      !object_members_equal_except (json_node_get_object (self->root), json_node_get_object (root), list_name,
                                    self->other))
    return FALSE;
  /* A file without the list member has no layout for entries; the
   * caller copies it if no entries were added. */
  list_node = json_object_get_member (json_node_get_object (root), list_name);
  if (list_node == NULL)
    return TRUE;
  if (JSON_NODE_TYPE (list_node) != JSON_NODE_ARRAY)
    return FALSE;

  src->list = json_node_get_array (list_node);
  src->list_span = bkt_json_doc_get_span (src->doc, list_node);
  src->n = json_array_get_length (src->list);
  src->keys = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < src->n; i++)
    {
      JsonNode *entry = json_array_get_element (src->list, i);
      char *key = view_key (self, entry);

      if (key == NULL)
        return FALSE;
      g_ptr_array_add (src->keys, key);
    }
  {
    const char *nl = memchr (src->data, '\n', src->length);
    src->eol = nl != NULL && nl > src->data && nl[-1] == '\r' ? "\r\n" : "\n";
  }

  /* Top-level members are one level in: the indentation of the list
   * member's line is the file's unit, unless it is not on a line of its
   * own. */
  {
    g_autofree char *indent = line_indent (src->data, src->list_span->offset);
    gsize after = line_start (src->data, src->list_span->offset) + strlen (indent);

    src->unit = indent[0] != '\0' && src->data[after] == '"' ? g_steal_pointer (&indent) : g_strdup ("  ");
  }

  /* The file's own separator, else one entry a line if its only entry
   * has a line of its own. */
  first = src->n > 0 ? entry_span (src, 0) : NULL;
  if (src->n >= 2)
    {
      const BktJsonSpan *second = entry_span (src, 1);
      src->sep = g_strndup (src->data + first->end, second->offset - first->end);
    }
  else if (first != NULL && starts_line (src->data, first->offset))
    {
      g_autofree char *indent = line_indent (src->data, first->offset);
      src->sep = g_strconcat (",", src->eol, indent, NULL);
    }
  else
    src->sep = g_strdup (", ");
  return TRUE;
}

static void
append_text (GString *out, const char *text, const char *eol)
{
  if (g_str_equal (eol, "\n"))
    {
      g_string_append (out, text);
      return;
    }
  for (const char *s = text; *s != '\0'; s++)
    if (*s == '\n')
      g_string_append (out, eol);
    else
      g_string_append_c (out, *s);
}

/* @node written where the file's entry @place is (or next to it), at its
 * indentation; a replaced entry that was expanded stays so. */
static void
append_entry (GString *out, Source *src, JsonNode *node, guint place, gboolean comma, gboolean replaced)
{
  const BktJsonSpan *span = entry_span (src, place);
  g_autofree char *indent = line_indent (src->data, span->offset);
  g_autoptr(GString) text = g_string_new (NULL);
  BktJsonLayout layout = { 0 };

  layout.indent = indent;
  layout.unit = src->unit;
  layout.column = column_of (src->data, span->offset);
  layout.trailing = comma ? 1 : 0;
  if (replaced)
    {
      layout.shape_doc = src->doc;
      layout.shape = json_array_get_element (src->list, place);
    }
  bkt_json_append_pretty (text, node, &layout);
  append_text (out, text->str, src->eol);
}

/* The whole list written anew, where the file's list was. */
static char *
replace_list (Source *src, GArray *items, gsize *length)
{
  g_autoptr(JsonArray) array = json_array_new ();
  g_autoptr(JsonNode) node = json_node_alloc ();
  g_autofree char *indent = line_indent (src->data, src->list_span->offset);
  g_autoptr(GString) text = g_string_new (NULL);
  GString *out = g_string_sized_new (src->length + 256);
  BktJsonLayout layout = { 0 };

  for (guint i = 0; i < items->len; i++)
    json_array_add_element (array, json_node_ref (g_array_index (items, Item, i).node));
  json_node_init_array (node, array);

  layout.indent = indent;
  layout.unit = src->unit;
  layout.column = column_of (src->data, src->list_span->offset);
  layout.expand = items->len > 0;
  bkt_json_append_pretty (text, node, &layout);

  g_string_append_len (out, src->data, (gssize) src->list_span->offset);
  append_text (out, text->str, src->eol);
  g_string_append_len (out, src->data + src->list_span->end,
                       (gssize) (src->length - src->list_span->end));
  *length = out->len;
  return g_string_free (out, FALSE);
}

typedef int (*KeyCompare) (const char *a, const char *b);

/* bkt_manifest_sort()'s order. */
static int
compare_bytes (const char *a, const char *b)
{
  return strcmp (a, b);
}

/* The original tool's order: letters compared without case. */
static int
compare_caseless (const char *a, const char *b)
{
  int r = g_ascii_strcasecmp (a, b);
  return r != 0 ? r : strcmp (a, b);
}

static gboolean
items_sorted (GArray *items, KeyCompare compare)
{
  for (guint i = 1; i < items->len; i++)
    if (compare (g_array_index (items, Item, i - 1).key, g_array_index (items, Item, i).key) > 0)
      return FALSE;
  return TRUE;
}

static gint
compare_item_keys (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const KeyCompare *compare = user_data;
  return (*compare) (((const Item *) a)->key, ((const Item *) b)->key);
}

/* NULL when the full serializer has to write the manifest. */
char *
bkt_manifest_view_to_data_preserving (const BktManifestView *self, gsize *length)
{
  g_auto(Source) src = { 0 };
  g_autoptr(GHashTable) now = NULL;        /* key → entry node */
  g_autoptr(GPtrArray) now_keys = NULL;
  g_autoptr(GHashTable) in_file = NULL;
  g_autoptr(GArray) kept = NULL;
  g_autoptr(GArray) added = NULL;
  g_autoptr(GArray) items = NULL;
  KeyCompare compare = NULL;
  gboolean changed = FALSE;
  GString *out;

  if (!source_init (&src, self))
    return NULL;
  if (src.list == NULL)
    {
      if (json_array_get_length (self->entries) > 0)
        return NULL;
      *length = src.length;
      return g_strndup (src.data, src.length);
    }

  now = g_hash_table_new (g_str_hash, g_str_equal);
  now_keys = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (self->entries); i++)
    {
      JsonNode *node = json_array_get_element (self->entries, i);
      char *key = view_key (self, node);

      if (key == NULL || g_hash_table_contains (now, key))
        {
          g_free (key);
          return NULL;
        }
      g_ptr_array_add (now_keys, key);
      g_hash_table_insert (now, key, node);
    }

  /* The file's entries in the file's order, whatever the order in
   * memory: the order of a file is its author's. */
  in_file = g_hash_table_new (g_str_hash, g_str_equal);
  kept = g_array_new (FALSE, TRUE, sizeof (Item));
  for (guint i = 0; i < src.n; i++)
    {
      const char *key = g_ptr_array_index (src.keys, i);
      JsonNode *node = g_hash_table_lookup (now, key);
      Item item = { ITEM_UNCHANGED, i, node, key };

      g_hash_table_add (in_file, (gpointer) key);
      if (node == NULL)
        {
          changed = TRUE;
          continue;
        }
      if (!json_node_equal (node, json_array_get_element (src.list, i)))
        {
          item.kind = ITEM_REPLACED;
          changed = TRUE;
        }
      g_array_append_val (kept, item);
    }

  added = g_array_new (FALSE, TRUE, sizeof (Item));
  for (guint i = 0; i < now_keys->len; i++)
    {
      const char *key = g_ptr_array_index (now_keys, i);
      Item item = { ITEM_ADDED, 0, g_hash_table_lookup (now, key), key };

      if (!g_hash_table_contains (in_file, key))
        {
          g_array_append_val (added, item);
          changed = TRUE;
        }
    }

  if (!changed)
    {
      *length = src.length;
      return g_strndup (src.data, src.length);
    }

  /* New entries go where they belong if the list is sorted, in our order
   * or the original tool's; after the last entry if not. */
  if (items_sorted (kept, compare_bytes))
    compare = compare_bytes;
  else if (items_sorted (kept, compare_caseless))
    compare = compare_caseless;
  items = g_array_sized_new (FALSE, TRUE, sizeof (Item), kept->len + added->len);
  if (compare != NULL)
    {
      guint j = 0;

      g_array_sort_with_data (added, compare_item_keys, &compare);
      for (guint i = 0; i < kept->len; i++)
        {
          Item *k = &g_array_index (kept, Item, i);

          while (j < added->len && compare (g_array_index (added, Item, j).key, k->key) < 0)
            g_array_append_val (items, g_array_index (added, Item, j++));
          g_array_append_val (items, *k);
        }
      g_array_append_vals (items, added->data + j * sizeof (Item), added->len - j);
    }
  else
    {
      g_array_append_vals (items, kept->data, kept->len);
      g_array_append_vals (items, added->data, added->len);
    }

  /* Nothing to lay out like the file's entries, or nothing left. */
  if (src.n == 0 || items->len == 0)
    return replace_list (&src, items, length);

  /* [ before_first ITEM sep ITEM sep ... ITEM after_last ]: what is
   * between "[" and the first entry of the file and between its last
   * entry and "]" frames the list, and each entry of the file brings the
   * separator that followed it.  So a removed entry goes with its comma
   * and its line, and removing the last one takes the comma of the one
   * before. */
  out = g_string_sized_new (src.length + 256);
  g_string_append_len (out, src.data, (gssize) entry_span (&src, 0)->offset);
  for (guint i = 0; i < items->len; i++)
    {
      Item *item = &g_array_index (items, Item, i);
      gboolean comma = i + 1 < items->len;

      if (item->kind == ITEM_UNCHANGED)
        {
          const BktJsonSpan *span = entry_span (&src, item->orig);
          g_string_append_len (out, src.data + span->offset, (gssize) (span->end - span->offset));
        }
      else if (item->kind == ITEM_REPLACED)
        append_entry (out, &src, item->node, item->orig, comma, TRUE);
      else
        {
          /* Laid out like the file's entry before it, or after it if
           * there is none before, or its first if all are gone. */
          guint place = G_MAXUINT;

          for (guint j = i; j-- > 0 && place == G_MAXUINT;)
            if (g_array_index (items, Item, j).kind != ITEM_ADDED)
              place = g_array_index (items, Item, j).orig;
          for (guint j = i + 1; j < items->len && place == G_MAXUINT; j++)
            if (g_array_index (items, Item, j).kind != ITEM_ADDED)
              place = g_array_index (items, Item, j).orig;
          append_entry (out, &src, item->node, place != G_MAXUINT ? place : 0, comma, FALSE);
        }

      if (!comma)
        continue;
      if (item->kind != ITEM_ADDED && item->orig + 1 < src.n)
        {
          gsize end = entry_span (&src, item->orig)->end;
          g_string_append_len (out, src.data + end, (gssize) (entry_span (&src, item->orig + 1)->offset - end));
        }
      else
        g_string_append (out, src.sep);
    }
  {
    gsize end = entry_span (&src, src.n - 1)->end;
    g_string_append_len (out, src.data + end, (gssize) (src.length - end));
  }

  *length = out->len;
  return g_string_free (out, FALSE);
}

