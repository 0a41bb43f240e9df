/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bkt-error.h"
#include "bkt-remote.h"
#include "bkt-test.h"

/* bkt -H HOST (client/bkt-remote.c): what may reach ssh as its
 * destination, and where -H is taken from the command line. */

static void
test_host_valid (void)
{
  const char *good[] = { "laptop", "ada@laptop", "ssh://ada@10.0.0.2:2222", "[::1]", "my-box.lan", NULL };
  const char *bad[] = { "", "-oProxyCommand=touch /tmp/x", "-F/dev/null", "a b", "a\tb", "a\nb", "-", NULL };
  g_autofree char *long_host = g_strnfill (256, 'a');
  g_autoptr(GError) error = NULL;

  for (guint i = 0; good[i] != NULL; i++)
    {
      g_assert_true (bkt_remote_host_valid (good[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_assert_false (bkt_remote_host_valid (bad[i], &error));
      g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_false (bkt_remote_host_valid (long_host, &error));
  g_assert_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT);
}

/* Takes -H from before the command name and leaves the rest as typed. */
static void
check_take (const char *line, gboolean ok, const char *want_host, const char *want_rest)
{
  /* argv is main()'s in bkt: the function drops the words it takes
   * without freeing them, so the test frees the words itself. */
  g_auto(GStrv) words = g_strsplit (line, " ", -1);
  int argc = g_strv_length (words);
  g_autofree char **argv = g_new0 (char *, argc + 1);
  g_autofree char *host = NULL;
  g_autofree char *rest = NULL;

  memcpy (argv, words, sizeof (char *) * argc);

  g_assert_cmpint (bkt_remote_take_host_option (&argc, argv, &host), ==, ok);
  if (!ok)
    return;
  g_assert_cmpstr (host, ==, want_host);
  g_assert_cmpint (argc, ==, (int) g_strv_length (argv));
  rest = g_strjoinv (" ", argv);
  g_assert_cmpstr (rest, ==, want_rest);
}

static void
test_take_host_option (void)
{
  check_take ("bkt -H laptop status", TRUE, "laptop", "bkt status");
  check_take ("bkt --host laptop status --json", TRUE, "laptop", "bkt status --json");
  check_take ("bkt --host=ada@laptop status", TRUE, "ada@laptop", "bkt status");
  check_take ("bkt -Hlaptop status", TRUE, "laptop", "bkt status");
  /* another global option with a value first: its value is not a command */
  check_take ("bkt -m /tmp/m -H laptop status", TRUE, "laptop", "bkt -m /tmp/m status");
  /* after the command name --host is the command's own (bkt shim add NAME --host CMD) */
  check_take ("bkt shim add podman --host podman-remote", TRUE, NULL, "bkt shim add podman --host podman-remote");
  check_take ("bkt -- -H x", TRUE, NULL, "bkt -- -H x");
  check_take ("bkt -H", FALSE, NULL, NULL);
  /* the value is taken as given; bkt_remote_host_valid() refuses it later */
  check_take ("bkt -H -oProxyCommand=x status", TRUE, "-oProxyCommand=x", "bkt status");
}

int
main (int argc, char **argv)
{
  bkt_test_init (&argc, &argv);
  g_test_add_func ("/remote/host-valid", test_host_valid);
  g_test_add_func ("/remote/take-host-option", test_take_host_option);
  return g_test_run ();
}
