/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-containerfile.h"
#include "bkt-error.h"
#include "bkt-test.h"

/* Managed sections of a Containerfile: only the section bodies change, the
 * rest of a real-world file (comments, continuation lines, other RUN blocks,
 * banner comments in the same style, blanks around markers) stays byte for
 * byte; broken markers are refused with their line. */

static char *
read_data (const char *name, gsize *length)
{
  g_autofree char *path = bkt_test_data_path ("containerfile", name, NULL);
  g_autoptr(GError) error = NULL;
  char *data = NULL;

  g_file_get_contents (path, &data, length, &error);
  g_assert_no_error (error);
  return data;
}

static void
test_parse_real_world (void)
{
  gsize len;
  g_autofree char *data = read_data ("Containerfile.in", &len);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sections = bkt_containerfile_parse ("Containerfile", data, len, &error);
  BktContainerfileSection *s;

  g_assert_no_error (error);
  g_assert_cmpuint (sections->len, ==, 4);
  s = g_ptr_array_index (sections, 0);
  g_assert_cmpstr (s->name, ==, "COPR_REPOS");
  g_assert_cmpuint (s->begin_line, ==, 14);
  g_assert_cmpuint (s->end_line, ==, 16);
  g_assert_cmpstr (s->body, ==, "RUN dnf copr enable -y old/stale\n");
  s = g_ptr_array_index (sections, 1);
  g_assert_cmpstr (s->name, ==, "SYSTEM_PACKAGES");
  g_assert_cmpuint (s->begin_line, ==, 19);
  s = g_ptr_array_index (sections, 2);
  g_assert_cmpstr (s->name, ==, "HOST_SHIMS");   /* indented, trailing blanks */
  g_assert_cmpstr (s->body, ==, "");
  s = g_ptr_array_index (sections, 3);
  g_assert_cmpstr (s->name, ==, "CUSTOM_THING");
}

static GHashTable *
bodies_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
}

static void
test_regenerate (void)
{
  gsize len, out_len;
  g_autofree char *data = read_data ("Containerfile.in", &len);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) bodies = bodies_new ();
  g_auto(GStrv) changed = NULL;
  g_autofree char *out = NULL;
  g_autofree char *again = NULL;
  g_auto(GStrv) changed_again = NULL;
  const char *packages[] = { "zsh", "htop", "fish", "htop", NULL };
  const char *coprs[] = { "atim/starship", NULL };
  const char *shim_names[] = { "podman", "code", NULL };
  const char *shim_hosts[] = { "", "/usr/bin/flatpak", NULL };
  g_autoptr(GPtrArray) sections = NULL;
  g_autofree char *expected = NULL;
  const char *pkgs_start, *pkgs_end;

  g_hash_table_insert (bodies, (char *) BKT_CONTAINERFILE_SYSTEM_PACKAGES,
                       bkt_containerfile_render_packages (packages, NULL));
  g_hash_table_insert (bodies, (char *) BKT_CONTAINERFILE_COPR_REPOS, bkt_containerfile_render_copr (coprs, NULL));
  g_hash_table_insert (bodies, (char *) BKT_CONTAINERFILE_HOST_SHIMS,
                       bkt_containerfile_render_shims (shim_names, shim_hosts));
  /* A section the file does not have is not added. */
  g_hash_table_insert (bodies, (char *) "NOT_IN_FILE", g_strdup ("RUN false\n"));

  out = bkt_containerfile_regenerate ("Containerfile", data, len, bodies, &changed, &out_len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (out_len, ==, strlen (out));
  g_assert_cmpuint (g_strv_length (changed), ==, 3);
  g_assert_cmpstr (changed[0], ==, "COPR_REPOS");
  g_assert_cmpstr (changed[1], ==, "SYSTEM_PACKAGES");
  g_assert_cmpstr (changed[2], ==, "HOST_SHIMS");
  g_assert_null (strstr (out, "NOT_IN_FILE"));
  g_assert_null (strstr (out, "<<"));   /* no heredocs */

  /* Sorted, deduplicated, one per line, clean at the end. */
  g_assert_nonnull (strstr (out,
    "# === SYSTEM_PACKAGES (managed by bkt) ===\n"
    "RUN dnf install -y \\\n"
    "        fish \\\n"
    "        htop \\\n"
    "        zsh \\\n"
    "    && dnf clean all\n"
    "# === END SYSTEM_PACKAGES ===\n"));
  g_assert_nonnull (strstr (out,
    "# === COPR_REPOS (managed by bkt) ===\n"
    "RUN dnf install -y 'dnf-command(copr)' \\\n"
    "    && dnf copr enable -y atim/starship \\\n"
    "    && dnf clean all\n"
    "# === END COPR_REPOS ===\n"));
  g_assert_nonnull (strstr (out,
    "  # === HOST_SHIMS (managed by bkt) ===   \n"
    "RUN mkdir -p /usr/local/bin \\\n"
    "    && printf '#!/bin/sh\\nexec flatpak-spawn --host %s \"$@\"\\n' '/usr/bin/flatpak' > /usr/local/bin/code \\\n"
    "    && chmod 0755 /usr/local/bin/code \\\n"
    "    && printf '#!/bin/sh\\nexec flatpak-spawn --host %s \"$@\"\\n' 'podman' > /usr/local/bin/podman \\\n"
    "    && chmod 0755 /usr/local/bin/podman\n"
    "  # === END HOST_SHIMS ===\n"));

  /* Everything outside the managed bodies is byte for byte the input:
   * put the old bodies back and we have the input again. */
  sections = bkt_containerfile_parse ("Containerfile", data, len, &error);
  g_assert_no_error (error);
  {
    g_autoptr(GHashTable) old = bodies_new ();
    for (guint i = 0; i < sections->len; i++)
      {
        BktContainerfileSection *s = g_ptr_array_index (sections, i);
        g_hash_table_insert (old, s->name, g_strdup (s->body));
      }
    expected = bkt_containerfile_regenerate ("Containerfile", out, out_len, old, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (expected, ==, data);
  }
  /* Text outside sections, spot checks. */
  pkgs_start = strstr (out, "RUN dnf install -y \\\n        some-hand-maintained-thing");
  g_assert_nonnull (pkgs_start);
  pkgs_end = strstr (out, "# === CUSTOM_THING (managed by bkt) ===\nkeep me\n# === END CUSTOM_THING ===\n"
                          "RUN ostree container commit\n");
  g_assert_nonnull (pkgs_end);

  /* Idempotent: a second run changes nothing and reports nothing. */
  again = bkt_containerfile_regenerate ("Containerfile", out, out_len, bodies, &changed_again, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, out);
  g_assert_cmpuint (g_strv_length (changed_again), ==, 0);
}

static void
test_no_eol_crlf (void)
{
  gsize len;
  g_autofree char *data = read_data ("crlf-noeol.Containerfile", &len);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) bodies = bodies_new ();
  g_autofree char *out = NULL;

  g_hash_table_insert (bodies, (char *) "SYSTEM_PACKAGES", g_strdup ("RUN true\n"));
  out = bkt_containerfile_regenerate (NULL, data, len, bodies, NULL, NULL, &error);
  g_assert_no_error (error);
  /* Same body in the file's CRLF: the output is the input, last line
   * without newline too. */
  g_assert_cmpmem (out, strlen (out), data, len);
  g_clear_pointer (&out, g_free);

  g_hash_table_insert (bodies, (char *) "SYSTEM_PACKAGES", g_strdup ("RUN a \\\n    && b\n"));
  out = bkt_containerfile_regenerate (NULL, data, len, bodies, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "FROM x\r\n# === SYSTEM_PACKAGES (managed by bkt) ===\r\nRUN a \\\r\n    && b\r\n"
                            "# === END SYSTEM_PACKAGES ===\r\nRUN echo done");
}

typedef struct {
  const char *text;
  const char *message;
} BadCase;

static void
test_malformed (void)
{
  static const BadCase cases[] = {
    { "FROM x\n# === SYSTEM_PACKAGES (managed by bkt) ===\nRUN true\n",
      "Containerfile:2: section SYSTEM_PACKAGES is never closed" },
    { "FROM x\n# === A (managed by bkt) ===\n# === END A ===\n\n# === A (managed by bkt) ===\n# === END A ===\n",
      "Containerfile:5: section A appears a second time (first on line 2)" },
    { "# === A (managed by bkt) ===\n# === B (managed by bkt) ===\n# === END B ===\n# === END A ===\n",
      "Containerfile:2: section B begins inside section A (opened on line 1)" },
    { "FROM x\nRUN true\n# === END A ===\n",
      "Containerfile:3: END A without its begin marker" },
    { "# === A (managed by bkt) ===\n# === END B ===\n",
      "Containerfile:2: END B inside section A (opened on line 1)" },
    { "FROM x\n# === system packages (managed by bkt) ===\n",
      "Containerfile:2: malformed bkt marker" },
    { "# === A (managed by bkt) ===\n# === END A===\n",
      "Containerfile:2: malformed bkt marker" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) s = bkt_containerfile_parse ("Containerfile", cases[i].text,
                                                        strlen (cases[i].text), &error);
      g_autoptr(GHashTable) bodies = bodies_new ();
      g_autofree char *out = NULL;

      g_assert_null (s);
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
      if (!g_str_has_prefix (error->message, cases[i].message))
        g_error ("case %" G_GSIZE_FORMAT ": \"%s\" does not start with \"%s\"", i, error->message,
                 cases[i].message);
      g_clear_error (&error);
      /* Regeneration refuses the same files: nothing is rewritten. */
      out = bkt_containerfile_regenerate ("Containerfile", cases[i].text, strlen (cases[i].text),
                                          bodies, NULL, NULL, &error);
      g_assert_null (out);
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
    }
}

static void
test_render_empty (void)
{
  g_autofree char *p = bkt_containerfile_render_packages (NULL, NULL);
  g_autofree char *c = bkt_containerfile_render_copr (NULL, NULL);
  g_autofree char *s = bkt_containerfile_render_shims (NULL, NULL);
  const char *groups[] = { "development-tools", NULL };
  g_autofree char *g = bkt_containerfile_render_packages (NULL, groups);

  g_assert_cmpstr (p, ==, "# No packages in manifests/system-packages.json.\n");
  g_assert_cmpstr (c, ==, "# No COPR repositories in manifests/system-packages.json.\n");
  g_assert_cmpstr (s, ==, "# No shims in manifests/host-shims.json.\n");
  g_assert_cmpstr (g, ==, "RUN dnf group install -y \\\n        development-tools \\\n    && dnf clean all\n");
}

/* The PR of a dnf change: SYSTEM_PACKAGES from the edited manifest text
 * only; the COPR section (stale in the fixture) is left for
 * `bkt containerfile sync`. */
static void
test_regenerate_packages (void)
{
  gsize len = 0, out_len = 0;
  g_autofree char *data = read_data ("Containerfile.in", &len);
  g_autofree char *out = NULL;
  g_autofree char *same = NULL;
  g_autoptr(GError) error = NULL;
  const char *manifest = "{\"packages\": [\"zsh\", \"fish\"], \"groups\": [], \"copr_repos\": []}";
  const char *unchanged = "{\"packages\": [\"htop\", \"zsh\"]}";
  gboolean changed = FALSE;

  out = bkt_containerfile_regenerate_packages ("Containerfile", data, len, manifest, strlen (manifest), TRUE, FALSE,
                                               &changed, &out_len, &error);
  g_assert_no_error (error);
  g_assert_true (changed);
  g_assert_nonnull (strstr (out, "# === SYSTEM_PACKAGES (managed by bkt) ===\n"
                                 "RUN dnf install -y \\\n        fish \\\n        zsh \\\n    && dnf clean all\n"
                                 "# === END SYSTEM_PACKAGES ===\n"));
  g_assert_nonnull (strstr (out, "RUN dnf copr enable -y old/stale\n"));

  /* The fixture's body is not in bkt's layout: "unchanged" packages still
   * rewrite it once; a second pass changes nothing. */
  same = bkt_containerfile_regenerate_packages ("Containerfile", out, out_len, manifest, strlen (manifest), TRUE, FALSE,
                                                &changed, &len, &error);
  g_assert_no_error (error);
  g_assert_false (changed);
  g_assert_cmpstr (same, ==, out);

  /* A COPR change regenerates COPR_REPOS only. */
  g_clear_pointer (&out, g_free);
  {
    const char *coprs = "{\"packages\": [\"fish\"], \"copr_repos\": [{\"name\": \"b/two\"}, "
                        "{\"name\": \"@a/one\", \"enabled\": true, \"gpg_check\": false}, "
                        "{\"name\": \"c/off\", \"enabled\": false}]}";
    out = bkt_containerfile_regenerate_packages ("Containerfile", data, strlen (data), coprs, strlen (coprs), FALSE,
                                                 TRUE, &changed, &out_len, &error);
    g_assert_no_error (error);
    g_assert_true (changed);
    g_assert_nonnull (strstr (out, "# === COPR_REPOS (managed by bkt) ===\n"
                                   "RUN dnf install -y 'dnf-command(copr)' \\\n"
                                   "    && dnf copr enable -y @a/one \\\n"
                                   "    && dnf copr enable -y b/two \\\n"
                                   "    && sed -i 's/^gpgcheck=1$/gpgcheck=0/' "
                                   "'/etc/yum.repos.d/_copr:copr.fedorainfracloud.org:group_a:one.repo' \\\n"
                                   "    && dnf clean all\n"
                                   "# === END COPR_REPOS ===\n"));
    /* SYSTEM_PACKAGES as it was */
    g_assert_nonnull (strstr (out, "        zsh \\\n        htop \\\n"));
  }
  g_clear_pointer (&out, g_free);
  out = bkt_containerfile_regenerate_packages ("Containerfile", "RUN x\n# === SYSTEM_PACKAGES (managed by bkt) ===\n",
                                               strlen ("RUN x\n# === SYSTEM_PACKAGES (managed by bkt) ===\n"),
                                               unchanged, strlen (unchanged), TRUE, FALSE, &changed, &out_len, &error);
  g_assert_null (out);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  out = bkt_containerfile_regenerate_packages ("Containerfile", data, strlen (data), "{\"packages\": [\"-rf\"]}",
                                               strlen ("{\"packages\": [\"-rf\"]}"), TRUE, FALSE, &changed, &out_len, &error);
  g_assert_null (out);
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_MANIFEST);
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/containerfile/parse-real-world", test_parse_real_world);
  g_test_add_func ("/containerfile/regenerate", test_regenerate);
  g_test_add_func ("/containerfile/no-eol-crlf", test_no_eol_crlf);
  g_test_add_func ("/containerfile/malformed", test_malformed);
  g_test_add_func ("/containerfile/render-empty", test_render_empty);
  g_test_add_func ("/containerfile/regenerate-packages", test_regenerate_packages);
  return g_test_run ();
}
