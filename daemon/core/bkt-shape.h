/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "bkt-json.h"

G_BEGIN_DECLS

/* What a manifest document looks like, as data: the loaders walk these
 * tables to check a document (bkt_shape_check()), and `bkt schema
 * generate` writes the same tables out as JSON Schemas
 * (bkt_shape_to_schema()), so the two cannot disagree.  A rule that JSON
 * Schema cannot state (GVariant text, unique keys) is still a field of
 * the table: the loader runs it, the schema names it ("x-bkt-check",
 * "x-bkt-unique") and says it in its description.
 *
 * Unknown members are allowed everywhere (bkt keeps them when it rewrites
 * a file), so no schema sets additionalProperties. */

/* A string's rule.  The verdict is the pattern's (and the bounds'): a
 * value is accepted by the loader exactly when the schema's "pattern",
 * "minLength", "maxLength" and "enum" accept it.  @explain only words
 * why a refused value is refused. */
typedef struct {
  /* Anchored; only syntax that ECMA 262 (JSON Schema), PCRE2 (GRegex,
   * compiled with DOLLAR_ENDONLY) and Python's re read alike: ASCII
   * classes, groups, | ? * + {m,n}, (?=...) and (?!...). */
  const char *pattern;
  guint       min_length;  /* characters; 0: no bound */
  guint       max_length;  /* characters; 0: no bound */
  const char *const *choices; /* NULL-terminated, or NULL */
  /* A check beyond the schema: @format is a JSON Schema format
   * ("date-time": annotation only for most validators), @check_name an
   * x-bkt-check name; @check the loader's check (NULL: fine, else why). */
  const char *format;
  const char *check_name;
  char     *(*check)   (const char *value);
  /* Why @value (refused by the bounds or pattern) is refused, or NULL to
   * say @description. */
  char     *(*explain) (const char *value);
  const char *description;
} BktStringRule;

/* NULL if @value passes @rule, else why not (newly allocated). */
char *bkt_string_rule_check (const BktStringRule *rule, const char *value);

typedef enum {
  BKT_SHAPE_STRING,
  BKT_SHAPE_BOOLEAN,
  BKT_SHAPE_OBJECT,
  BKT_SHAPE_ARRAY,
} BktShapeType;

typedef struct _BktShape BktShape;

typedef struct {
  const char     *name;
  const BktShape *shape;
  gboolean        required;
} BktShapeMember;

/* Objects: when member @member is @value, @required must be there too
 * (an upstream's source of type "github" needs "repo"). */
typedef struct {
  const char        *member;
  const char        *value;
  const char *const *required;
} BktShapeVariant;

struct _BktShape {
  BktShapeType          type;
  const char           *def_name;    /* emitted once under $defs, or NULL: inline */
  const char           *description;
  const char           *expected;    /* "a string (GVariant text)" in messages; NULL: by type */
  const char           *noun;        /* strings in lists: "package name" in messages */
  const BktStringRule  *rule;        /* strings */
  const BktShapeMember *members;     /* objects, { NULL } terminated */
  const BktShapeVariant *variants;   /* objects, { NULL } terminated, or NULL */
  const BktShape       *or_string;   /* objects that may be written as this string */
  const BktShape       *items;       /* arrays */
  const char           *unique;      /* arrays: what the loader keeps unique (x-bkt-unique) */
};

/* Check @node against @shape; errors are BKT_ERROR_INVALID_MANIFEST at
 * the offending node's FILE:LINE:COLUMN.  @what names the document in
 * "a WHAT manifest must be a JSON object". */
gboolean bkt_shape_check (const BktShape *shape, const char *what, BktJsonDoc *doc, JsonNode *node,
                          GError **error);
/* Check one member value / list element the way bkt_shape_check() does
 * inside a document (@name: the member, or the list's for elements). */
gboolean bkt_shape_check_member  (const BktShape *shape, const char *name, BktJsonDoc *doc, JsonNode *node,
                                  GError **error);
gboolean bkt_shape_check_element (const BktShape *shape, const char *list, BktJsonDoc *doc, JsonNode *node,
                                  GError **error);

/* The member @name of an object shape, or NULL. */
const BktShapeMember *bkt_shape_find_member (const BktShape *shape, const char *name);

/* @shape as a JSON Schema (draft 2020-12) document with @title, @id and
 * @description: named shapes go under "$defs". */
JsonNode *bkt_shape_to_schema (const BktShape *shape, const char *id, const char *title, const char *description);

G_END_DECLS
