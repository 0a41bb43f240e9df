/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Running a helper program (bootc, rpm-ostree) as a child: an argument
 * vector, never a shell; its output read while it runs on a private main
 * context of the calling thread, so that progress is relayed as it
 * happens; stopped when the request is cancelled; reaped before return. */

typedef void (*BktSpawnChunkFunc) (gpointer user_data, const char *data, gsize len);

typedef struct {
  const char * const *argv;          /* argv[0]: an absolute path */
  const char * const *setenv;        /* "NAME=VALUE" added to our environment, or NULL */
  const char * const *unsetenv;      /* names removed from it, or NULL */
  int                 progress_fd;   /* -1, or the descriptor number the child gets for a progress pipe */
  BktSpawnChunkFunc   on_progress;   /* what arrives on that pipe, chunk by chunk */
  BktSpawnChunkFunc   on_stdout;     /* stdout chunk by chunk as it arrives (it is also collected) */
  gpointer            user_data;
  int                 cancel_signal; /* sent when cancelled: SIGTERM (let it clean up) or SIGKILL */
} BktSpawnSpec;

typedef struct {
  int   code;    /* CLD_EXITED or CLD_KILLED */
  int   status;  /* exit status or signal number */
  char *out;     /* all of stdout (valid UTF-8) */
  char *err;     /* all of stderr (valid UTF-8) */
} BktSpawnResult;

void bkt_spawn_result_clear (BktSpawnResult *result);

/* TRUE when the program ran (whatever its exit status: see @result);
 * FALSE when it could not be started.  Cancelling @cancellable sends
 * @spec->cancel_signal; the call still waits for the program to end. */
gboolean bkt_spawn_run (const BktSpawnSpec *spec,
                        GCancellable       *cancellable,
                        BktSpawnResult     *result,
                        GError            **error);

/* After bkt_spawn_run(): BKT_ERROR_CANCELLED when @cancellable was
 * cancelled, BKT_ERROR_FAILED "“CMD” exited with status N: TAIL" (or "was
 * killed by signal N") when the program did not succeed; TRUE otherwise. */
gboolean bkt_spawn_check (const char * const *argv, const BktSpawnResult *result, GCancellable *cancellable,
                          GError **error);

/* Runs @argv (stdin inherited, SIGTERM when cancelled) and returns its
 * stdout; any failure is an error as bkt_spawn_check() words it. */
char *bkt_spawn_capture (const char * const *argv, GCancellable *cancellable, GError **error);

/* "exited with status 2" / "was killed by signal 9", for messages. */
char *bkt_spawn_describe_exit (int code, int status);

/* The last @max_lines lines of @text (at most @max_bytes), stripped and
 * joined with "; ": enough of a program's stderr to say why it failed
 * (error chains come last), not a whole log. */
char *bkt_spawn_tail (const char *text, guint max_lines, gsize max_bytes);

/* Splits a byte stream into lines: chunks in, each complete line out
 * (without its newline); bkt_line_buffer_flush() hands over an unfinished
 * last line. */
typedef void (*BktLineFunc) (gpointer user_data, const char *line);

typedef struct {
  GString     *partial;
  BktLineFunc  func;
  gpointer     user_data;
} BktLineBuffer;

void bkt_line_buffer_init  (BktLineBuffer *lb, BktLineFunc func, gpointer user_data);
void bkt_line_buffer_feed  (BktLineBuffer *lb, const char *data, gsize len);
void bkt_line_buffer_flush (BktLineBuffer *lb);
void bkt_line_buffer_clear (BktLineBuffer *lb);

G_END_DECLS
