/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bkt-exec-context.h"
#include "bkt-extensions.h"

G_BEGIN_DECLS

/* What the extension subsystem's files share: bkt-extensions.c reads the
 * live state and plans, bkt-extensions-exec.c installs, removes, enables
 * and disables (through GNOME Shell when it runs, else the GSettings keys)
 * and reads back. */

#define SUBSYSTEM_NAME "extension"
#define SHELL_SCHEMA "org.gnome.shell"
#define KEY_ENABLED "enabled-extensions"
#define KEY_DISABLED "disabled-extensions"
#define SHELL_BUS_NAME "org.gnome.Shell"
#define SHELL_PATH "/org/gnome/Shell"
#define SHELL_EXT_IFACE "org.gnome.Shell.Extensions"
#define MAX_METADATA_SIZE (256 * 1024)
/* InstallRemoteExtension asks the user in a dialog. */
#define SHELL_INSTALL_TIMEOUT_MS (10 * 60 * 1000)
#define SHELL_CALL_TIMEOUT_MS (30 * 1000)

typedef struct
{
  char     *uuid;
  char     *path;
  gboolean  user;            /* under the user's directory (ours to remove) */
  GStrv     shell_versions;  /* metadata.json "shell-version" */
} Installed;

void bkt_extensions_installed_free (Installed *i);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Installed, bkt_extensions_installed_free)

struct _BktExtensions
{
  GObject     parent_instance;
  char       *user_dir;
  GHashTable *installed;      /* uuid → Installed */
  GStrv       enabled;        /* org.gnome.shell enabled-extensions */
  GStrv       disabled;
  gboolean    have_schema;
  gboolean    shell_running;
  char       *shell_version;  /* "46.2", or NULL when unknown */
  char       *shell_major;    /* "46" */
  char       *ego_url;        /* extensions.gnome.org or the configured mirror */
  gboolean    ego_custom;     /* not the real site: the shell cannot install from it */
};

/* The uuid and shell versions of the extension in @dir, or NULL. */
Installed *bkt_extensions_read_metadata (const char *dir, GError **error);

gboolean bkt_extensions_execute (BktSubsystem *subsystem, GPtrArray *ops, BktExecContext *ctx,
                                 GCancellable *cancellable, GError **error);

G_END_DECLS
