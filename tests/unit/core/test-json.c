/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-error.h"
#include "bkt-json.h"
#include "bkt-test.h"

/* Parse @data (with an explicit length, so embedded NULs reach the parser)
 * and assert it fails with exactly @expected_message. */
static void
assert_parse_error_len (const char *data, gssize length, const char *expected_message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BktJsonDoc) doc = bkt_json_doc_parse ("t.json", data, length, &error);

  g_assert_null (doc);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_cmpstr (error->message, ==, expected_message);
}

static void
assert_parse_error (const char *data, const char *expected_message)
{
  assert_parse_error_len (data, -1, expected_message);
}

static BktJsonDoc *
parse_ok (const char *data)
{
  g_autoptr(GError) error = NULL;
  BktJsonDoc *doc = bkt_json_doc_parse ("t.json", data, -1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (doc);
  return doc;
}

static void
test_syntax_positions (void)
{
  assert_parse_error ("{\"a\": 1,}",
                      "t.json:1:8: trailing comma before '}' is not allowed");
  assert_parse_error ("[1, 2,\n]",
                      "t.json:1:6: trailing comma before ']' is not allowed");
  assert_parse_error ("{\"a\": \"x\\q\"}",
                      "t.json:1:9: invalid escape sequence '\\q' in string");
  assert_parse_error ("{\n  \"apps\": [\n    {\"id\": \"a.b\"\n     \"remote\": \"x\"}\n  ]\n}\n",
                      "t.json:4:6: expected ',' or '}' after object member, got '\"'");
  assert_parse_error ("{\"a\" 1}",
                      "t.json:1:6: expected ':' after member name, got '1'");
  assert_parse_error ("{1: 2}",
                      "t.json:1:2: expected a string (member name) or '}', got '1'");
  assert_parse_error ("[1 2]",
                      "t.json:1:4: expected ',' or ']' after array element, got '2'");
  assert_parse_error ("{} x",
                      "t.json:1:4: expected end of file after the JSON value, got 'x'");
  assert_parse_error ("// comment\n{}",
                      "t.json:1:1: expected a JSON value, got '/'");
  assert_parse_error ("{\"a\": /* c */ 1}",
                      "t.json:1:7: expected a JSON value, got '/'");
  assert_parse_error ("[tru]", "t.json:1:2: invalid literal (expected true, false or null)");
  assert_parse_error ("[truex]", "t.json:1:2: invalid literal (expected true, false or null)");
  assert_parse_error ("[NaN]", "t.json:1:2: expected a JSON value, got 'N'");
  assert_parse_error ("['a']", "t.json:1:2: expected a JSON value, got '''");
  /* CRLF line ends count as one line each; columns are in bytes. */
  assert_parse_error ("{\r\n  \"a\": 1,\r\n}", "t.json:2:9: trailing comma before '}' is not allowed");
  assert_parse_error ("{\n\t\"a\": [1,,2]}", "t.json:2:10: expected a JSON value, got ','");
}

static void
test_truncated (void)
{
  assert_parse_error ("", "t.json:1:1: unexpected end of file, expected a JSON value");
  assert_parse_error ("   \n  ", "t.json:2:3: unexpected end of file, expected a JSON value");
  assert_parse_error ("{\"a\": [1, 2",
                      "t.json:1:12: unexpected end of file, expected ',' or ']' after array element");
  assert_parse_error ("{\n  \"a\": 1\n",
                      "t.json:3:1: unexpected end of file, expected ',' or '}' after object member");
  assert_parse_error ("{\"a\":", "t.json:1:6: unexpected end of file, expected a JSON value");
  assert_parse_error ("{\"a\": \"abc", "t.json:1:7: unterminated string");
  assert_parse_error ("{\"a\": \"abc\\", "t.json:1:7: unterminated string");
  assert_parse_error ("{\"a", "t.json:1:2: unterminated string");
  assert_parse_error ("[-", "t.json:1:3: unexpected end of file, expected a digit after '-'");
  assert_parse_error ("[1.", "t.json:1:4: unexpected end of file, expected a digit after '.' in number");
  assert_parse_error ("[1e", "t.json:1:4: unexpected end of file, expected a digit in the number's exponent");
}

static void
test_strings (void)
{
  g_autoptr(BktJsonDoc) doc = NULL;
  JsonArray *array;

  doc = parse_ok ("[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\", \"\\ud83d\\ude00\", \"h\xc3\xa9 \xf0\x9f\x98\x80\"]");
  array = json_node_get_array (bkt_json_doc_get_root (doc));
  g_assert_cmpuint (json_array_get_length (array), ==, 4);
  g_assert_cmpstr (json_array_get_string_element (array, 0), ==, "a\"b\\c/d\b\f\n\r\t");
  g_assert_cmpstr (json_array_get_string_element (array, 1), ==, "\xc3\xa9\xe2\x82\xac");
  g_assert_cmpstr (json_array_get_string_element (array, 2), ==, "\xf0\x9f\x98\x80");
  g_assert_cmpstr (json_array_get_string_element (array, 3), ==, "h\xc3\xa9 \xf0\x9f\x98\x80");

  assert_parse_error ("[\"\\u12\"]",
                      "t.json:1:3: invalid \\u escape: expected four hexadecimal digits");
  assert_parse_error ("[\"\\uD800\"]", "t.json:1:3: unpaired surrogate \\uD800 in string");
  assert_parse_error ("[\"ab\\ud800\\u0041\"]", "t.json:1:5: unpaired surrogate \\uD800 in string");
  assert_parse_error ("[\"\\ud800\\uzzzz\"]",
                      "t.json:1:9: invalid \\u escape: expected four hexadecimal digits");
  assert_parse_error ("[\"\\udc00\"]", "t.json:1:3: unpaired surrogate \\uDC00 in string");
  assert_parse_error ("[\"\\u0000\"]", "t.json:1:3: \\u0000 is not supported in strings");
  assert_parse_error ("[\"a\tb\"]", "t.json:1:4: unescaped control character 0x09 in string");
  assert_parse_error ("{\"a\": \"abc\n}",
                      "t.json:1:11: unescaped line break in string (missing closing '\"'?)");
  assert_parse_error_len ("[\"a\0\"]", 5, "t.json:1:4: NUL byte in string");
  assert_parse_error_len ("[1]\0", 4, "t.json:1:4: expected end of file after the JSON value, got a NUL byte");
}

static void
test_invalid_utf8 (void)
{
  /* Inside strings: a stray continuation byte, a truncated sequence, an
   * overlong encoding and a UTF-8-encoded surrogate. */
  assert_parse_error ("{\"a\": \"\xff\"}", "t.json:1:8: invalid UTF-8 byte sequence");
  assert_parse_error ("{\n  \"a\": \"ok \xc3\"}", "t.json:2:12: invalid UTF-8 byte sequence");
  assert_parse_error ("[\"\xc0\xaf\"]", "t.json:1:3: invalid UTF-8 byte sequence");
  assert_parse_error ("[\"\xed\xa0\x80\"]", "t.json:1:3: invalid UTF-8 byte sequence");
  /* In a member name, and outside strings. */
  assert_parse_error ("{\"\x80\": 1}", "t.json:1:3: invalid UTF-8 byte sequence");
  assert_parse_error ("[1, \xfe]", "t.json:1:5: invalid UTF-8 byte sequence");
  /* Valid UTF-8 outside a string is named in the message. */
  assert_parse_error ("[\xc3\xa9]", "t.json:1:2: expected a JSON value, got '\xc3\xa9'");
}

static void
test_depth (void)
{
  g_autoptr(GString) ok = g_string_new (NULL);
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GString) deep_objects = g_string_new (NULL);
  g_autoptr(BktJsonDoc) doc = NULL;
  g_autofree char *expected = NULL;

  for (int i = 0; i < BKT_JSON_MAX_DEPTH; i++)
    g_string_append_c (ok, '[');
  for (int i = 0; i < BKT_JSON_MAX_DEPTH; i++)
    g_string_append_c (ok, ']');
  doc = parse_ok (ok->str);

  for (int i = 0; i < BKT_JSON_MAX_DEPTH + 1; i++)
    g_string_append_c (deep, '[');
  for (int i = 0; i < BKT_JSON_MAX_DEPTH + 1; i++)
    g_string_append_c (deep, ']');
  expected = g_strdup_printf ("t.json:1:%d: nesting is too deep (at most %d levels of objects and arrays)",
                              BKT_JSON_MAX_DEPTH + 1, BKT_JSON_MAX_DEPTH);
  assert_parse_error (deep->str, expected);
  g_clear_pointer (&expected, g_free);

  /* Objects count too; the error points at the first '{' too many, on
   * its own line. */
  for (int i = 0; i < 100; i++)
    g_string_append (deep_objects, "{\"a\":\n");
  expected = g_strdup_printf ("t.json:%d:1: nesting is too deep (at most %d levels of objects and arrays)",
                              BKT_JSON_MAX_DEPTH + 1, BKT_JSON_MAX_DEPTH);
  assert_parse_error (deep_objects->str, expected);
}

static void
test_numbers (void)
{
  g_autoptr(BktJsonDoc) doc = NULL;
  JsonArray *array;
  JsonNode *n;

  doc = parse_ok ("[0, -0, 42, -17, 9223372036854775807, -9223372036854775808, "
                  "9223372036854775808, 1.5, 1e2, -2.5E-3, 1.0, 0.0]");
  array = json_node_get_array (bkt_json_doc_get_root (doc));

  n = json_array_get_element (array, 0);
  g_assert_cmpint (json_node_get_value_type (n), ==, G_TYPE_INT64);
  g_assert_cmpint (json_node_get_int (n), ==, 0);
  g_assert_cmpint (json_node_get_int (json_array_get_element (array, 1)), ==, 0);
  g_assert_cmpint (json_node_get_int (json_array_get_element (array, 2)), ==, 42);
  g_assert_cmpint (json_node_get_int (json_array_get_element (array, 3)), ==, -17);
  g_assert_cmpint (json_node_get_int (json_array_get_element (array, 4)), ==, G_MAXINT64);
  g_assert_cmpint (json_node_get_int (json_array_get_element (array, 5)), ==, G_MININT64);

  /* One past int64: still a number, as a double. */
  n = json_array_get_element (array, 6);
  g_assert_cmpint (json_node_get_value_type (n), ==, G_TYPE_DOUBLE);
  g_assert_cmpfloat (json_node_get_double (n), ==, 9223372036854775808.0);

  n = json_array_get_element (array, 7);
  g_assert_cmpint (json_node_get_value_type (n), ==, G_TYPE_DOUBLE);
  g_assert_cmpfloat (json_node_get_double (n), ==, 1.5);
  g_assert_cmpfloat (json_node_get_double (json_array_get_element (array, 8)), ==, 100.0);
  g_assert_cmpfloat_with_epsilon (json_node_get_double (json_array_get_element (array, 9)), -0.0025, 1e-12);
  /* Spelled with a fraction: a double even though the value is integral. */
  g_assert_cmpint (json_node_get_value_type (json_array_get_element (array, 10)), ==, G_TYPE_DOUBLE);
  g_assert_cmpint (json_node_get_value_type (json_array_get_element (array, 11)), ==, G_TYPE_DOUBLE);

  assert_parse_error ("[01]", "t.json:1:2: invalid number: leading zeros are not allowed");
  assert_parse_error ("[-01]", "t.json:1:2: invalid number: leading zeros are not allowed");
  assert_parse_error ("[+1]", "t.json:1:2: expected a JSON value, got '+'");
  assert_parse_error ("[.5]", "t.json:1:2: expected a JSON value, got '.'");
  assert_parse_error ("[1.e5]", "t.json:1:4: expected a digit after '.' in number, got 'e'");
  assert_parse_error ("[-x]", "t.json:1:3: expected a digit after '-', got 'x'");
  assert_parse_error ("[1e+]", "t.json:1:5: expected a digit in the number's exponent, got ']'");
  assert_parse_error ("[1e400]", "t.json:1:2: number 1e400 is out of range");
  assert_parse_error ("[0x10]", "t.json:1:3: expected ',' or ']' after array element, got 'x'");
}

static void
test_duplicate_members (void)
{
  g_autoptr(BktJsonDoc) doc = NULL;

  assert_parse_error ("{\"a\": 1, \"a\": 2}", "t.json:1:10: duplicate member \"a\" in object");
  assert_parse_error ("{\"x\": {\"b\": 1,\n\"b\": [1]}}", "t.json:2:1: duplicate member \"b\" in object");
  /* Same name in different objects is fine; escapes are compared after
   * decoding. */
  doc = parse_ok ("[{\"a\": 1}, {\"a\": 2}]");
  assert_parse_error ("{\"a\": 1, \"\\u0061\": 2}", "t.json:1:10: duplicate member \"a\" in object");
}

static void
test_spans (void)
{
  const char *text = "{\n  \"a\": [1, {\"b\": true}],\n  \"c\": null\n}\n";
  g_autoptr(BktJsonDoc) doc = parse_ok (text);
  JsonNode *root = bkt_json_doc_get_root (doc);
  JsonObject *object = json_node_get_object (root);
  JsonNode *a = json_object_get_member (object, "a");
  JsonArray *array = json_node_get_array (a);
  JsonNode *one = json_array_get_element (array, 0);
  JsonNode *inner = json_array_get_element (array, 1);
  JsonNode *b = json_object_get_member (json_node_get_object (inner), "b");
  JsonNode *c = json_object_get_member (object, "c");
  const BktJsonSpan *span;
  gsize length;

  g_assert_cmpstr (bkt_json_doc_get_filename (doc), ==, "t.json");
  g_assert_cmpstr (bkt_json_doc_get_data (doc, &length), ==, text);
  g_assert_cmpuint (length, ==, strlen (text));

  span = bkt_json_doc_get_span (doc, root);
  g_assert_nonnull (span);
  g_assert_cmpuint (span->line, ==, 1);
  g_assert_cmpuint (span->column, ==, 1);
  g_assert_cmpuint (span->offset, ==, 0);
  g_assert_cmpuint (span->end, ==, strlen (text) - 1);

  span = bkt_json_doc_get_span (doc, a);
  g_assert_nonnull (span);
  g_assert_cmpuint (span->line, ==, 2);
  g_assert_cmpuint (span->column, ==, 8);
  g_assert_cmpint (strncmp (text + span->offset, "[1, {\"b\": true}]", span->end - span->offset), ==, 0);
  g_assert_cmpuint (span->end - span->offset, ==, strlen ("[1, {\"b\": true}]"));

  span = bkt_json_doc_get_span (doc, one);
  g_assert_cmpuint (span->line, ==, 2);
  g_assert_cmpuint (span->column, ==, 9);
  g_assert_cmpuint (span->end - span->offset, ==, 1);

  span = bkt_json_doc_get_span (doc, inner);
  g_assert_cmpuint (span->column, ==, 12);
  g_assert_cmpuint (span->end - span->offset, ==, strlen ("{\"b\": true}"));

  span = bkt_json_doc_get_span (doc, b);
  g_assert_cmpuint (span->column, ==, 18);
  g_assert_cmpuint (span->end - span->offset, ==, 4);

  span = bkt_json_doc_get_span (doc, c);
  g_assert_cmpuint (span->line, ==, 3);
  g_assert_cmpuint (span->column, ==, 8);
  g_assert_cmpuint (span->end - span->offset, ==, 4);
}

static void
test_string_span (void)
{
  /* A string's span covers its quotes and escapes as written. */
  const char *text = "[\"a\\u00e9\"]";
  g_autoptr(BktJsonDoc) doc = parse_ok (text);
  JsonNode *s = json_array_get_element (json_node_get_array (bkt_json_doc_get_root (doc)), 0);
  const BktJsonSpan *span = bkt_json_doc_get_span (doc, s);

  g_assert_cmpuint (span->offset, ==, 1);
  g_assert_cmpuint (span->end, ==, strlen (text) - 1);
}

static void
test_error_at (void)
{
  g_autoptr(BktJsonDoc) doc = parse_ok ("{\n  \"value\": 12\n}");
  JsonNode *value = json_object_get_member (json_node_get_object (bkt_json_doc_get_root (doc)), "value");
  g_autoptr(JsonNode) foreign = json_node_new (JSON_NODE_NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (bkt_json_doc_error_at (doc, value, &error, "\"%s\" must be %s", "value", "a string"));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
  g_assert_cmpstr (error->message, ==, "t.json:2:12: \"value\" must be a string");
  g_clear_error (&error);

  /* Nodes that are not from this document: the start of the file. */
  g_assert_false (bkt_json_doc_error_at (doc, foreign, &error, "nope"));
  g_assert_cmpstr (error->message, ==, "t.json:1:1: nope");
  g_clear_error (&error);
  g_assert_null (bkt_json_doc_get_span (doc, foreign));
  g_assert_null (bkt_json_doc_get_span (doc, NULL));

  g_assert_false (bkt_json_doc_error_at (doc, NULL, NULL, "ignored"));
}

static void
test_scalars_and_bom (void)
{
  g_autoptr(BktJsonDoc) doc1 = parse_ok ("  \"top\"  ");
  g_autoptr(BktJsonDoc) doc2 = parse_ok ("\xef\xbb\xbf{\"a\": false}");
  g_autoptr(BktJsonDoc) doc3 = parse_ok ("null");
  g_autoptr(BktJsonDoc) doc4 = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  g_assert_cmpstr (json_node_get_string (bkt_json_doc_get_root (doc1)), ==, "top");
  g_assert_cmpuint (bkt_json_doc_get_span (doc1, bkt_json_doc_get_root (doc1))->column, ==, 3);

  object = json_node_get_object (bkt_json_doc_get_root (doc2));
  g_assert_false (json_object_get_boolean_member (object, "a"));
  g_assert_cmpuint (json_object_get_size (object), ==, 1);

  g_assert_cmpint (JSON_NODE_TYPE (bkt_json_doc_get_root (doc3)), ==, JSON_NODE_NULL);

  /* Explicit length: parsing stops there even without a NUL. */
  doc4 = bkt_json_doc_parse (NULL, "[1]garbage", 3, &error);
  g_assert_no_error (error);
  g_assert_nonnull (doc4);
  g_assert_cmpstr (bkt_json_doc_get_filename (doc4), ==, "<input>");
}

static void
test_member_order (void)
{
  /* Manifests are written back in the order they were read. */
  g_autoptr(BktJsonDoc) doc = parse_ok ("{\"z\": 1, \"a\": 2, \"m\": {\"y\": 1, \"b\": 2}}");
  JsonObject *object = json_node_get_object (bkt_json_doc_get_root (doc));
  g_autoptr(GList) names = json_object_get_members (object);

  g_assert_cmpuint (g_list_length (names), ==, 3);
  g_assert_cmpstr (g_list_nth_data (names, 0), ==, "z");
  g_assert_cmpstr (g_list_nth_data (names, 1), ==, "a");
  g_assert_cmpstr (g_list_nth_data (names, 2), ==, "m");
}

int
main (int argc, char *argv[])
{
  bkt_test_init (&argc, &argv);

  g_test_add_func ("/json/syntax-positions", test_syntax_positions);
  g_test_add_func ("/json/truncated", test_truncated);
  g_test_add_func ("/json/strings", test_strings);
  g_test_add_func ("/json/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/json/depth", test_depth);
  g_test_add_func ("/json/numbers", test_numbers);
  g_test_add_func ("/json/duplicate-members", test_duplicate_members);
  g_test_add_func ("/json/spans", test_spans);
  g_test_add_func ("/json/string-span", test_string_span);
  g_test_add_func ("/json/error-at", test_error_at);
  g_test_add_func ("/json/scalars-and-bom", test_scalars_and_bom);
  g_test_add_func ("/json/member-order", test_member_order);

  return g_test_run ();
}
