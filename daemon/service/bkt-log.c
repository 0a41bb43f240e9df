/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "bkt-log.h"

static char *log_instance;
static gboolean log_verbose;
static gboolean log_journald;
static gboolean log_quiet;

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR) return "error";
  if (level & G_LOG_LEVEL_CRITICAL) return "critical";
  if (level & G_LOG_LEVEL_WARNING) return "warning";
  if (level & G_LOG_LEVEL_MESSAGE) return "message";
  if (level & G_LOG_LEVEL_INFO) return "info";
  return "debug";
}

static GLogWriterOutput
writer (GLogLevelFlags   level,
        const GLogField *fields,
        gsize            n_fields,
        gpointer         user_data)
{
  const char *message = NULL;

  if (!log_verbose && (level & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG)))
    return G_LOG_WRITER_HANDLED;
  /* A private instance shares the client's terminal: the client reports
   * what matters, the daemon only its own warnings. */
  if (log_quiet && !log_verbose && (level & G_LOG_LEVEL_MESSAGE))
    return G_LOG_WRITER_HANDLED;

  if (log_journald)
    {
      /* The journal keeps our BKT_TRANSACTION / BKT_OPERATION fields, so
       * `journalctl BKT_TRANSACTION=/org/bkt/Daemon1/Transaction/3` works. */
      if (g_log_writer_journald (level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
        return G_LOG_WRITER_HANDLED;
    }

  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
  fprintf (stderr, "bktd[%s]: %s: %s\n", log_instance ? log_instance : "?",
           level_name (level), message ? message : "");
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
bkt_log_setup (const char *instance, gboolean verbose, gboolean quiet)
{
  log_quiet = quiet;
  g_free (log_instance);
  log_instance = g_strdup (instance);
  log_verbose = verbose || g_getenv ("G_MESSAGES_DEBUG") != NULL;
  log_journald = g_log_writer_is_journald (fileno (stderr));
  g_log_set_writer_func (writer, NULL, NULL);
}
