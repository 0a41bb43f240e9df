/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* bootc, the image-based OS updater, driven as a subprocess by the system
 * instance.  bootc has no library API and no D-Bus interface: fork/exec is
 * the only way.  The argument vector is built here from validated values
 * only and executed directly (never through a shell).
 *
 * The binary is fixed at build time (meson option "bootc", default
 * /usr/bin/bootc); $BKT_BOOTC overrides it for tests (docs/environment.md). */

/* Longest image reference accepted (bytes).  Real references (registry
 * host, repository path, tag and a sha256 digest) stay far below; the bound
 * only stops abuse before polkit or bootc ever see the value. */
#define BKT_BOOTC_MAX_IMAGE_LEN 1024

const char *bkt_bootc_path (void);

/* An image reference as bootc's `switch` takes it: 1..BKT_BOOTC_MAX_IMAGE_LEN
 * printable ASCII characters from [A-Za-z0-9._:/@+-], not starting with '-'
 * (no whitespace, control or shell characters). */
gboolean bkt_bootc_check_image     (const char *image, GError **error);
/* One of registry, oci, oci-archive, containers-storage, dir. */
gboolean bkt_bootc_check_transport (const char *transport, GError **error);

/* The compact status of a `bootc status --json --format-version 1`
 * document (host-v1 schema):
 *   {"type": s|null, "booted": E|null, "staged": E|null, "rollback": E|null,
 *    "rollback_queued": b, "reboot_required": b, "cached_update": U|null}
 * where E = {"image","transport","version","digest","timestamp",
 * "architecture","pinned","ostree": {"stateroot","checksum","deploy_serial"}|null} and U = {"image","version","digest","timestamp"}
 * (absent values are null).  NULL with BKT_ERROR_FAILED when @host is not a
 * bootc host document. */
JsonObject *bkt_bootc_status_from_json (const char *text, GError **error);

/* Runs `bootc status --json --format-version 1` and returns the compact
 * status.  BKT_ERROR_NOT_SUPPORTED when bootc is not installed. */
JsonObject *bkt_bootc_status (GCancellable *cancellable, GError **error);

/* One line of bootc's --progress-fd stream (progress-v0 schema) as a
 * fraction (0..1, or -1 when the event carries none, e.g. "Start") and a
 * human detail ("pulling: 12.0 MB / 40.0 MB, layer 3/7").  FALSE when the
 * line is not a progress event (it is then ignored). */
gboolean bkt_bootc_parse_progress (const char *line, double *fraction, char **detail);

typedef void (*BktBootcProgressFunc) (gpointer user_data, double fraction, const char *detail);

/* Runs bootc with @args (after the binary name), with --progress-fd when
 * @progress_fd is TRUE (upgrade and switch accept it).  Progress events
 * reach @progress from this thread.  On failure, the error carries the exit
 * status and the tail of bootc's stderr.  @output receives bootc's stdout
 * (with @progress_fd in a unit: stdout and stderr together, see below).
 *
 * @systemd: NULL, or the system bus.  When systemd runs the system, bootc
 * runs in a transient service of its own (bkt_systemd_run_transient())
 * instead of as our child: bktd --system is sandboxed (bktd.service:
 * read-only /, few capabilities), and bootc needs the whole system (it
 * writes /sysroot, /boot and /etc and mounts).  The unit also outlives us:
 * an upgrade goes on if bktd exits or crashes.  Without systemd bootc is a
 * child process.  Cancelling @cancellable stops bootc with SIGTERM either
 * way (bootc stages atomically). */
gboolean bkt_bootc_run (GDBusConnection      *systemd,
                        const char * const   *args,
                        gboolean              progress_fd,
                        BktBootcProgressFunc  progress,
                        gpointer              user_data,
                        char                **output,
                        GCancellable         *cancellable,
                        GError              **error);

G_END_DECLS
