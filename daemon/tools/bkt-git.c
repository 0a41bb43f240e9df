/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <git2.h>

#include "bkt-error.h"
#include "bkt-git.h"

struct _BktGit
{
  GObject         parent_instance;
  BktRepo        *repo;
  char           *token;
  git_repository *git;
  git_remote     *origin;   /* looked up once: each lookup costs libgit2 a regex */
  git_remote     *push_remote;  /* a fork to push to instead of origin, or NULL */
};

G_DEFINE_TYPE (BktGit, bkt_git, G_TYPE_OBJECT)

/* libgit2 handles freed by the g_auto machinery. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (git_reference, git_reference_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (git_commit, git_commit_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (git_tree, git_tree_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (git_tree_entry, git_tree_entry_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (git_treebuilder, git_treebuilder_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (git_blob, git_blob_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (git_signature, git_signature_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (git_patch, git_patch_free)

static void
bkt_git_finalize (GObject *object)
{
  BktGit *self = BKT_GIT (object);

  g_clear_pointer (&self->push_remote, git_remote_free);
  g_clear_pointer (&self->origin, git_remote_free);
  g_clear_pointer (&self->git, git_repository_free);
  g_clear_object (&self->repo);
  if (self->token != NULL)
    {
      /* The token lives as briefly as we can make it. */
      explicit_bzero (self->token, strlen (self->token));
      g_free (self->token);
    }
  G_OBJECT_CLASS (bkt_git_parent_class)->finalize (object);
}

static void
bkt_git_class_init (BktGitClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bkt_git_finalize;
}

static void
bkt_git_init (BktGit *self)
{
}

static gboolean
git_fail (GError **error, BktError code, const char *what)
{
  const git_error *e = git_error_last ();

  g_set_error (error, BKT_ERROR, code, "%s: %s", what, e != NULL && e->message != NULL ? e->message : "unknown git error");
  return FALSE;
}

/* ---- credentials ----------------------------------------------------------- */

typedef struct {
  const char *token;
  const char *api_url;    /* the forge the token belongs to */
  guint       attempts;
  char       *rejected;   /* push: the first ref the remote refused */
} CredState;

/* Scheme, host and port of @url, the port made explicit; FALSE for what
 * is not a URL (scp-like "git@host:path" goes over SSH, never a token). */
static gboolean
url_origin (const char *url, char **scheme, char **host, int *port)
{
  g_autoptr(GUri) uri = url ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return FALSE;
  *scheme = g_ascii_strdown (g_uri_get_scheme (uri), -1);
  *host = g_ascii_strdown (g_uri_get_host (uri), -1);
  *port = g_uri_get_port (uri);
  if (*port < 0)
    *port = g_str_equal (*scheme, "https") ? 443 : g_str_equal (*scheme, "http") ? 80 : 0;
  return TRUE;
}

/* Whether the forge token for @api_url may go to the git server at @url:
 * the forge's own git host only (api.github.com's is github.com; an
 * Enterprise or Forgejo API serves git on its own host), same scheme and
 * port.  A clone's remote is whatever its author wrote; sending the token
 * to any host that asks would hand it to that host. */
gboolean
bkt_git_token_is_for (const char *url, const char *api_url)
{
  g_autofree char *scheme = NULL, *host = NULL, *api_scheme = NULL, *api_host = NULL;
  int port, api_port;

  if (!url_origin (url, &scheme, &host, &port) || !url_origin (api_url, &api_scheme, &api_host, &api_port))
    return FALSE;
  if (g_str_equal (api_host, "api.github.com"))
    {
      g_free (api_host);
      api_host = g_strdup ("github.com");
    }
  return g_str_equal (scheme, api_scheme) && g_str_equal (host, api_host) && port == api_port;
}

static int
credentials_cb (git_credential **out, const char *url, const char *username_from_url,
                unsigned int allowed_types, void *payload)
{
  CredState *st = payload;
  gboolean token_ok = st->token != NULL && bkt_git_token_is_for (url, st->api_url);

  /* libgit2 asks again after a refusal: a second refusal of the same
   * credentials is final, not a loop. */
  if (st->attempts++ > 0)
    {
      git_error_set_str (GIT_ERROR_NET, "the remote refused the credentials (token or ssh-agent key)");
      return GIT_EUSER;
    }
  if ((allowed_types & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && token_ok)
    return git_credential_userpass_plaintext_new (out, "x-access-token", st->token);
  if (allowed_types & GIT_CREDENTIAL_SSH_KEY)
    return git_credential_ssh_key_from_agent (out, username_from_url ? username_from_url : "git");
  if (allowed_types & GIT_CREDENTIAL_USERNAME)
    return git_credential_username_new (out, username_from_url ? username_from_url : "git");
  if (st->token != NULL && !token_ok)
    {
      g_autofree char *msg = g_strdup_printf ("%s wants credentials; bkt offers the forge token only to the "
                                              "forge's own git host (the one of %s)", url, st->api_url);
      git_error_set_str (GIT_ERROR_NET, msg);
      return GIT_EUSER;
    }
  git_error_set_str (GIT_ERROR_NET, st->token == NULL
                     ? "the remote wants credentials and no token is set (GITHUB_TOKEN, GH_TOKEN or gh auth login)"
                     : "the remote wants credentials bkt cannot offer");
  return GIT_EUSER;
}

static void
init_callbacks (git_remote_callbacks *cb, CredState *st)
{
  git_remote_init_callbacks (cb, GIT_REMOTE_CALLBACKS_VERSION);
  cb->credentials = credentials_cb;
  cb->payload = st;
}

/* ---- open -------------------------------------------------------------------- */

static char *
remote_head (git_repository *git)
{
  g_autoptr(git_reference) ref = NULL;
  const char *target;

  /* A checkout knows origin's default branch as origin/HEAD; a bare clone
   * as its own HEAD. */
  if (git_reference_lookup (&ref, git, "refs/remotes/origin/HEAD") == 0 &&
      (target = git_reference_symbolic_target (ref)) != NULL &&
      g_str_has_prefix (target, "refs/remotes/origin/"))
    return g_strdup (target + strlen ("refs/remotes/origin/"));
  if (git_repository_is_bare (git))
    {
      g_clear_pointer (&ref, git_reference_free);
      if (git_reference_lookup (&ref, git, "HEAD") == 0 &&
          (target = git_reference_symbolic_target (ref)) != NULL &&
          g_str_has_prefix (target, "refs/heads/"))
        return g_strdup (target + strlen ("refs/heads/"));
    }
  return NULL;
}

BktGit *
bkt_git_open (BktRepo *repo, const char *token, gboolean may_clone, GError **error)
{
  g_autoptr(BktGit) self = g_object_new (BKT_TYPE_GIT, NULL);
  g_autofree char *head = NULL;
  const char *path = bkt_repo_get_path (repo);

  /* Reference counted by libgit2: every open balances nothing on purpose,
   * the library stays initialised for the life of the daemon. */
  git_libgit2_init ();
  self->repo = g_object_ref (repo);
  self->token = g_strdup (token);

  if (bkt_repo_is_managed (repo) && !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      git_clone_options opts = GIT_CLONE_OPTIONS_INIT;
      CredState st = { self->token, bkt_repo_get_api_url (self->repo), 0, NULL };
      g_autofree char *parent = g_path_get_dirname (path);

      if (!may_clone)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                            "the managed clone %s does not exist yet", path), NULL;
      if (g_mkdir_with_parents (parent, 0700) != 0)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_FAILED, "cannot create %s: %s",
                            parent, g_strerror (errno)), NULL;
      /* Bare: nobody works in the managed clone, bkt only needs objects. */
      opts.bare = 1;
      init_callbacks (&opts.fetch_opts.callbacks, &st);
      if (git_clone (&self->git, bkt_repo_get_url (repo), path, &opts) != 0)
        {
          g_autofree char *what = g_strdup_printf ("cloning %s into %s", bkt_repo_get_url (repo), path);
          return git_fail (error, BKT_ERROR_FAILED, what), NULL;
        }
    }
  else if (git_repository_open (&self->git, path) != 0)
    {
      g_autofree char *what = g_strdup_printf ("opening the repo %s", path);
      return git_fail (error, BKT_ERROR_NOT_FOUND, what), NULL;
    }

  if (git_remote_lookup (&self->origin, self->git, "origin") != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                        "the repo %s has no remote “origin”.  Fix: git -C %s remote add origin URL",
                        path, path), NULL;
  head = remote_head (self->git);
  bkt_repo_complete (repo, git_remote_url (self->origin), head);
  return g_steal_pointer (&self);
}

/* ---- remote work --------------------------------------------------------------- */

static git_remote *
lookup_origin (BktGit *self, GError **error)
{
  return self->origin;
}

gboolean
bkt_git_fetch (BktGit *self, GError **error)
{
  git_remote *origin = lookup_origin (self, error);
  git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
  CredState st = { self->token, bkt_repo_get_api_url (self->repo), 0, NULL };
  const char *branch = bkt_repo_get_default_branch (self->repo);
  g_autofree char *spec = g_strdup_printf ("+refs/heads/%s:refs/remotes/origin/%s", branch, branch);
  char *specs[] = { spec };
  git_strarray refspecs = { specs, 1 };

  if (origin == NULL)
    return FALSE;
  init_callbacks (&opts.callbacks, &st);
  if (git_remote_fetch (origin, &refspecs, &opts, "bkt: fetch") != 0)
    {
      g_autofree char *what = g_strdup_printf ("fetching %s from %s", branch, git_remote_url (origin));
      return git_fail (error, BKT_ERROR_FAILED, what);
    }
  return TRUE;
}

gboolean
bkt_git_check_remote (BktGit *self, GError **error)
{
  git_remote *origin = lookup_origin (self, error);
  git_remote_callbacks cb;
  CredState st = { self->token, bkt_repo_get_api_url (self->repo), 0, NULL };
  const git_remote_head **heads = NULL;
  size_t n = 0;
  gboolean ok;

  if (origin == NULL)
    return FALSE;
  init_callbacks (&cb, &st);
  if (git_remote_connect (origin, GIT_DIRECTION_FETCH, &cb, NULL, NULL) != 0)
    {
      g_autofree char *what = g_strdup_printf ("cannot reach %s", git_remote_url (origin));
      return git_fail (error, BKT_ERROR_FAILED, what);
    }
  ok = git_remote_ls (&heads, &n, origin) == 0;
  git_remote_disconnect (origin);
  if (!ok)
    return git_fail (error, BKT_ERROR_FAILED, "listing the remote's branches");
  return TRUE;
}

static char *
identity_from_config (git_config *config, GError **error)
{
  g_autofree char *name = NULL, *email = NULL;
  git_buf buf = GIT_BUF_INIT;

  if (config != NULL && git_config_get_string_buf (&buf, config, "user.name") == 0)
    {
      name = g_strndup (buf.ptr, buf.size);
      git_buf_dispose (&buf);
    }
  if (config != NULL && git_config_get_string_buf (&buf, config, "user.email") == 0)
    {
      email = g_strndup (buf.ptr, buf.size);
      git_buf_dispose (&buf);
    }
  if (name == NULL || email == NULL || *name == '\0' || *email == '\0')
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                                "no git identity is configured.  Fix: git config --global user.name "
                                "\"Your Name\" && git config --global user.email you@example.com"), NULL;
  return g_strdup_printf ("%s <%s>", name, email);
}

char *
bkt_git_default_identity (GError **error)
{
  git_config *config = NULL;
  char *who;

  git_libgit2_init ();
  if (git_config_open_default (&config) != 0)
    config = NULL;
  who = identity_from_config (config, error);
  if (config != NULL)
    git_config_free (config);
  return who;
}

gboolean
bkt_git_check_url (const char *url, const char *token, const char *api_url, GError **error)
{
  git_remote *remote = NULL;
  git_remote_callbacks cb;
  CredState st = { token, api_url, 0, NULL };
  const git_remote_head **heads = NULL;
  size_t n = 0;
  gboolean ok;

  git_libgit2_init ();
  if (git_remote_create_detached (&remote, url) != 0)
    return git_fail (error, BKT_ERROR_INVALID_ARGUMENT, url);
  init_callbacks (&cb, &st);
  ok = git_remote_connect (remote, GIT_DIRECTION_FETCH, &cb, NULL, NULL) == 0 &&
       git_remote_ls (&heads, &n, remote) == 0;
  if (!ok)
    {
      g_autofree char *what = g_strdup_printf ("cannot reach %s", url);
      git_fail (error, BKT_ERROR_FAILED, what);
    }
  git_remote_disconnect (remote);
  git_remote_free (remote);
  return ok;
}

char *
bkt_git_get_identity (BktGit *self, GError **error)
{
  g_autoptr(git_signature) sig = NULL;

  if (git_signature_default (&sig, self->git) != 0)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                                "no git identity is configured.  Fix: git config --global user.name "
                                "\"Your Name\" && git config --global user.email you@example.com"), NULL;
  return g_strdup_printf ("%s <%s>", sig->name, sig->email);
}

/* ---- reading and building trees ------------------------------------------------ */

static git_commit *
base_commit (BktGit *self, GError **error)
{
  const char *branch = bkt_repo_get_default_branch (self->repo);
  g_autofree char *remote_ref = g_strdup_printf ("refs/remotes/origin/%s", branch);
  g_autofree char *local_ref = g_strdup_printf ("refs/heads/%s", branch);
  git_commit *commit = NULL;
  git_oid oid;

  if (git_reference_name_to_id (&oid, self->git, remote_ref) != 0 &&
      git_reference_name_to_id (&oid, self->git, local_ref) != 0)
    return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                        "the repo %s has no branch “%s” (nor origin/%s).  Fix: set \"default_branch\" "
                        "in repo.json, or git fetch origin",
                        bkt_repo_get_path (self->repo), branch, branch), NULL;
  if (git_commit_lookup (&commit, self->git, &oid) != 0)
    return git_fail (error, BKT_ERROR_FAILED, "reading the default branch"), NULL;
  return commit;
}

GBytes *
bkt_git_read_file (BktGit *self, const char *path, gboolean *exists, GError **error)
{
  g_autoptr(git_commit) commit = base_commit (self, error);
  g_autoptr(git_tree) tree = NULL;
  g_autoptr(git_tree_entry) entry = NULL;
  g_autoptr(git_blob) blob = NULL;
  int rc;

  *exists = FALSE;
  if (commit == NULL)
    return NULL;
  if (git_commit_tree (&tree, commit) != 0)
    return git_fail (error, BKT_ERROR_FAILED, "reading the default branch's tree"), NULL;
  rc = git_tree_entry_bypath (&entry, tree, path);
  if (rc == GIT_ENOTFOUND)
    return g_bytes_new (NULL, 0);
  if (rc != 0 || git_blob_lookup (&blob, self->git, git_tree_entry_id (entry)) != 0)
    return git_fail (error, BKT_ERROR_FAILED, path), NULL;
  *exists = TRUE;
  return g_bytes_new (git_blob_rawcontent (blob), git_blob_rawsize (blob));
}

/* A copy of @base (NULL: empty) with @path set to @blob, written to the
 * object store: the tree-level equivalent of editing one file. */
static gboolean
tree_with_file (git_repository *git, const git_tree *base, const char *path,
                const git_oid *blob, git_oid *out, GError **error)
{
  g_autoptr(git_treebuilder) tb = NULL;
  const char *slash = strchr (path, '/');
  g_autofree char *head = slash ? g_strndup (path, slash - path) : g_strdup (path);
  const git_tree_entry *existing = base ? git_tree_entry_byname (base, head) : NULL;

  if (git_treebuilder_new (&tb, git, base) != 0)
    return git_fail (error, BKT_ERROR_FAILED, "building a tree");
  if (slash == NULL)
    {
      git_filemode_t mode = existing && git_tree_entry_filemode (existing) == GIT_FILEMODE_BLOB_EXECUTABLE
                            ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
      if (git_treebuilder_insert (NULL, tb, head, blob, mode) != 0)
        return git_fail (error, BKT_ERROR_FAILED, "building a tree");
    }
  else
    {
      g_autoptr(git_tree) sub = NULL;
      git_oid sub_oid;

      if (existing != NULL && git_tree_entry_type (existing) == GIT_OBJECT_TREE &&
          git_tree_lookup (&sub, git, git_tree_entry_id (existing)) != 0)
        return git_fail (error, BKT_ERROR_FAILED, "reading a tree");
      if (!tree_with_file (git, sub, slash + 1, blob, &sub_oid, error))
        return FALSE;
      if (git_treebuilder_insert (NULL, tb, head, &sub_oid, GIT_FILEMODE_TREE) != 0)
        return git_fail (error, BKT_ERROR_FAILED, "building a tree");
    }
  if (git_treebuilder_write (out, tb) != 0)
    return git_fail (error, BKT_ERROR_FAILED, "writing a tree");
  return TRUE;
}

static int
push_update_cb (const char *refname, const char *status, void *data)
{
  CredState *st = data;

  if (status != NULL && st->rejected == NULL)
    st->rejected = g_strdup_printf ("%s: %s", refname, status);
  return 0;
}

/* Does @refs (the remote's advertisement) or the local repo have
 * refs/heads/@branch? */
static gboolean
branch_taken (git_repository *git, const git_remote_head **refs, size_t n, const char *refname)
{
  g_autoptr(git_reference) existing = NULL;

  if (git_reference_lookup (&existing, git, refname) == 0)
    return TRUE;
  for (size_t i = 0; i < n; i++)
    if (g_strcmp0 (refs[i]->name, refname) == 0)
      return TRUE;
  return FALSE;
}

/* How many times a push that lost a race for its branch name is tried
 * again under the next free name. */
#define PUSH_ATTEMPTS 5

/* Push @commit as a new branch named @branch_in, or @branch_in-N when
 * that name is taken locally or on the remote: two clones making the same
 * change within the same second must not collide.  The remote's refs are
 * listed on the push connection itself (no extra round trip), and a push
 * refused because someone else took the name meanwhile (a race between
 * the listing and the push) is tried again under the next name. */
static char *
push_new_branch (BktGit *self, const char *branch_in, const git_oid *commit, GError **error)
{
  g_autoptr(GError) last = NULL;
  git_remote *remote = self->push_remote ? self->push_remote : self->origin;
  guint n = 1;

  for (guint attempt = 0; attempt < PUSH_ATTEMPTS; attempt++)
    {
      g_autoptr(git_reference) ref = NULL;
      g_autofree char *branch = NULL;
      g_autofree char *refname = NULL;
      g_autofree char *spec = NULL;
      char *specs[1];
      git_strarray refspecs = { specs, 1 };
      git_push_options opts = GIT_PUSH_OPTIONS_INIT;
      git_remote_callbacks cb;
      CredState st = { self->token, bkt_repo_get_api_url (self->repo), 0, NULL };
      CredState ls_st = { self->token, bkt_repo_get_api_url (self->repo), 0, NULL };
      const git_remote_head **heads = NULL;
      size_t n_heads = 0;
      int rc;

      init_callbacks (&cb, &ls_st);
      if (git_remote_connect (remote, GIT_DIRECTION_PUSH, &cb, NULL, NULL) != 0 ||
          git_remote_ls (&heads, &n_heads, remote) != 0)
        {
          g_autofree char *what = g_strdup_printf ("cannot reach %s", git_remote_url (remote));
          git_remote_disconnect (remote);
          return git_fail (error, BKT_ERROR_FAILED, what), NULL;
        }
      for (;; n++)
        {
          g_free (branch);
          g_free (refname);
          branch = n == 1 ? g_strdup (branch_in) : g_strdup_printf ("%s-%u", branch_in, n);
          refname = g_strdup_printf ("refs/heads/%s", branch);
          if (!branch_taken (self->git, heads, n_heads, refname))
            break;
        }
      git_remote_disconnect (remote);

      /* Only a branch ref: HEAD, the index and the working tree stay as
       * the user left them. */
      if (git_reference_create (&ref, self->git, refname, commit, 0, "bkt: proposed change") != 0)
        return git_fail (error, BKT_ERROR_FAILED, "creating the branch"), NULL;
      spec = g_strdup_printf ("%s:%s", refname, refname);
      specs[0] = spec;
      init_callbacks (&opts.callbacks, &st);
      opts.callbacks.push_update_reference = push_update_cb;
      rc = git_remote_push (remote, &refspecs, &opts);
      if (rc != 0 && rc != GIT_ENONFASTFORWARD)
        {
          g_autofree char *what = g_strdup_printf ("pushing %s to %s", branch, git_remote_url (remote));
          g_free (st.rejected);
          git_reference_delete (ref);
          return git_fail (error, BKT_ERROR_FAILED, what), NULL;
        }
      if (rc == 0 && st.rejected == NULL)
        return g_steal_pointer (&branch);
      if (st.rejected == NULL)
        {
          /* libgit2 itself refuses to replace a remote ref whose commit
           * it does not have: the same race, seen before the upload. */
          const git_error *e = git_error_last ();
          st.rejected = g_strdup_printf ("%s: %s", refname, e && e->message ? e->message : "not a fast-forward");
        }
      /* Refused: most likely the name was taken since the listing.  The
       * local ref goes too, so that the next name is computed afresh. */
      g_clear_error (&last);
      g_set_error (&last, BKT_ERROR, BKT_ERROR_FAILED, "the remote %s rejected %s",
                   git_remote_url (remote), st.rejected);
      g_free (st.rejected);
      git_reference_delete (ref);
      n++;
    }
  g_propagate_error (error, g_steal_pointer (&last));
  return NULL;
}

/* One commit of @files onto @parent (the tree of @parent with each file
 * replaced or added). */
static gboolean
commit_onto (BktGit *self, const git_commit *parent, const git_signature *sig, GHashTable *files,
             const char *message, git_oid *out, GError **error)
{
  g_autoptr(git_tree) tree = NULL;
  GHashTableIter iter;
  gpointer key, value;
  git_oid tree_oid;
  const git_commit *parents[1] = { parent };

  if (git_commit_tree (&tree, parent) != 0)
    return git_fail (error, BKT_ERROR_FAILED, "reading the parent commit's tree");
  g_hash_table_iter_init (&iter, files);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gsize len;
      const void *data = g_bytes_get_data (value, &len);
      g_autoptr(git_tree) next = NULL;
      git_oid blob;

      if (git_blob_create_from_buffer (&blob, self->git, data, len) != 0)
        return git_fail (error, BKT_ERROR_FAILED, "writing a blob");
      if (!tree_with_file (self->git, tree, key, &blob, &tree_oid, error))
        return FALSE;
      if (git_tree_lookup (&next, self->git, &tree_oid) != 0)
        return git_fail (error, BKT_ERROR_FAILED, "reading a tree");
      g_clear_pointer (&tree, git_tree_free);
      tree = g_steal_pointer (&next);
    }
  if (git_commit_create (out, self->git, NULL, sig, sig, "UTF-8", message, tree, 1, parents) != 0)
    return git_fail (error, BKT_ERROR_FAILED, "committing");
  return TRUE;
}

char *
bkt_git_commit_series_and_push (BktGit *self, const char *branch_in, GHashTable *const *files,
                                const char *const *messages, guint n, char **branch_out, GError **error)
{
  g_autoptr(git_commit) parent = base_commit (self, error);
  g_autoptr(git_signature) sig = NULL;
  g_autofree char *branch = NULL;
  git_oid commit_oid;
  char hex[GIT_OID_HEXSZ + 1];

  if (parent == NULL)
    return NULL;
  g_return_val_if_fail (n > 0, NULL);
  if (git_signature_default (&sig, self->git) != 0)
    return g_set_error_literal (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                                "no git identity is configured.  Fix: git config --global user.name "
                                "\"Your Name\" && git config --global user.email you@example.com"), NULL;
  /* Each commit on the one before: the branch reads as the series. */
  for (guint i = 0; i < n; i++)
    {
      if (!commit_onto (self, parent, sig, files[i], messages[i], &commit_oid, error))
        return NULL;
      g_clear_pointer (&parent, git_commit_free);
      if (git_commit_lookup (&parent, self->git, &commit_oid) != 0)
        return git_fail (error, BKT_ERROR_FAILED, "reading the new commit"), NULL;
    }
  branch = push_new_branch (self, branch_in, &commit_oid, error);
  if (branch == NULL)
    return NULL;
  git_oid_tostr (hex, sizeof hex, &commit_oid);
  if (branch_out != NULL)
    *branch_out = g_steal_pointer (&branch);
  return g_strdup (hex);
}

char *
bkt_git_commit_and_push (BktGit *self, const char *branch_in, GHashTable *files,
                         const char *message, char **branch_out, GError **error)
{
  return bkt_git_commit_series_and_push (self, branch_in, &files, &message, 1, branch_out, error);
}

gboolean
bkt_git_set_push_url (BktGit *self, const char *url, GError **error)
{
  g_clear_pointer (&self->push_remote, git_remote_free);
  if (url == NULL)
    return TRUE;
  if (git_remote_create_anonymous (&self->push_remote, self->git, url) != 0)
    return git_fail (error, BKT_ERROR_INVALID_ARGUMENT, url);
  return TRUE;
}

/* ---- text ------------------------------------------------------------------------ */

char *
bkt_git_unified_diff (const char *path, GBytes *before, GBytes *after)
{
  g_autoptr(git_patch) patch = NULL;
  git_buf buf = GIT_BUF_INIT;
  gsize blen = 0, alen = 0;
  const char *b = before ? g_bytes_get_data (before, &blen) : NULL;
  const char *a = after ? g_bytes_get_data (after, &alen) : NULL;
  char *out;

  git_libgit2_init ();
  if (blen == alen && (blen == 0 || memcmp (a, b, blen) == 0))
    return g_strdup ("");
  if (git_patch_from_buffers (&patch, b, blen, path, a, alen, path, NULL) != 0 ||
      git_patch_to_buf (&buf, patch) != 0)
    return g_strdup ("");
  out = g_strndup (buf.ptr, buf.size);
  git_buf_dispose (&buf);
  return out;
}

char *
bkt_git_branch_name (const char *subsystem, const char *action, const char *name, gint64 unix_time)
{
  g_autofree char *prefix = g_strdup_printf ("bkt/%s-%s-", subsystem, action);
  g_autofree char *suffix = g_strdup_printf ("-%" G_GINT64_FORMAT, unix_time);
  g_autofree char *clean = g_strdup (name);
  gsize room;

  /* git refuses "..", "@{", control characters, a leading "." and more:
   * keeping only a safe alphabet avoids knowing every rule. */
  g_strcanon (clean, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", '-');
  while (strstr (clean, "..") != NULL)
    *strstr (clean, "..") = '-';
  room = 100 - MIN (100, strlen (prefix) + strlen (suffix));
  if (strlen (clean) > room)
    clean[room] = '\0';
  g_strcanon (prefix + 4, "abcdefghijklmnopqrstuvwxyz0123456789-", '-');
  return g_strconcat (prefix, *clean == '.' ? "-" : "", clean, suffix, NULL);
}

/* ---- reading a checkout's history (bkt changelog generate) ------------------------- */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (git_repository, git_repository_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (git_object, git_object_free)

/* The default branch as this checkout knows it, newest knowledge first:
 * what origin says its HEAD is, origin's main/master, then local ones. */
static gboolean
default_branch_oid (git_repository *git, git_oid *oid, char **name)
{
  static const char *const candidates[] = {
    "refs/remotes/origin/main", "refs/remotes/origin/master", "refs/heads/main", "refs/heads/master", NULL
  };
  g_autoptr(git_reference) head = NULL;

  if (git_reference_lookup (&head, git, "refs/remotes/origin/HEAD") == 0 &&
      git_reference_symbolic_target (head) != NULL &&
      git_reference_name_to_id (oid, git, git_reference_symbolic_target (head)) == 0)
    {
      *name = g_strdup (git_reference_symbolic_target (head) + strlen ("refs/remotes/"));
      return TRUE;
    }
  for (guint i = 0; candidates[i] != NULL; i++)
    if (git_reference_name_to_id (oid, git, candidates[i]) == 0)
      {
        *name = g_strdup (candidates[i] + (g_str_has_prefix (candidates[i], "refs/heads/")
                                           ? strlen ("refs/heads/") : strlen ("refs/remotes/")));
        return TRUE;
      }
  return FALSE;
}

GHashTable *
bkt_git_read_files_at (const char *repo_path, const char *ref, const char *const *paths,
                       char **described, GError **error)
{
  g_autoptr(git_repository) git = NULL;
  g_autoptr(git_commit) commit = NULL;
  g_autoptr(git_tree) tree = NULL;
  g_autoptr(GHashTable) files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  g_autofree char *what = NULL;
  char hex[GIT_OID_HEXSZ + 1];
  git_oid oid;

  git_libgit2_init ();
  /* A revision is never read as an option, here or by anything after us. */
  if (ref != NULL && (ref[0] == '-' || ref[0] == '\0'))
    return g_set_error (error, BKT_ERROR, BKT_ERROR_INVALID_ARGUMENT, "not a git revision: “%s”", ref), NULL;
  if (git_repository_open (&git, repo_path) != 0)
    {
      g_autofree char *w = g_strdup_printf ("opening the repo %s", repo_path);
      return git_fail (error, BKT_ERROR_NOT_FOUND, w), NULL;
    }
  if (ref != NULL)
    {
      g_autoptr(git_object) obj = NULL;
      if (git_revparse_single (&obj, git, ref) != 0)
        {
          g_autofree char *w = g_strdup_printf ("no revision “%s” in %s", ref, repo_path);
          return git_fail (error, BKT_ERROR_NOT_FOUND, w), NULL;
        }
      if (git_object_peel ((git_object **) &commit, obj, GIT_OBJECT_COMMIT) != 0)
        {
          g_autofree char *w = g_strdup_printf ("“%s” is not a commit", ref);
          return git_fail (error, BKT_ERROR_INVALID_ARGUMENT, w), NULL;
        }
      what = g_strdup (ref);
    }
  else
    {
      g_autofree char *branch = NULL;
      git_oid head, base;

      if (git_reference_name_to_id (&head, git, "HEAD") != 0)
        return g_set_error (error, BKT_ERROR, BKT_ERROR_NOT_FOUND,
                            "the repo %s has no commit yet: nothing to compare with (--base REF)", repo_path), NULL;
      /* What this branch changes: everything since it left the default
       * branch, committed or not.  On the default branch itself (or with
       * none known) that is the working tree's changes against HEAD. */
      if (default_branch_oid (git, &base, &branch) && git_merge_base (&oid, git, &head, &base) == 0)
        what = g_strdup_printf ("merge-base with %s", branch);
      else
        {
          oid = head;
          what = g_strdup ("HEAD");
        }
      if (git_commit_lookup (&commit, git, &oid) != 0)
        return git_fail (error, BKT_ERROR_FAILED, "reading the base commit"), NULL;
    }
  if (git_commit_tree (&tree, commit) != 0)
    return git_fail (error, BKT_ERROR_FAILED, "reading the base commit's tree"), NULL;
  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_autoptr(git_tree_entry) entry = NULL;
      g_autoptr(git_blob) blob = NULL;
      int rc = git_tree_entry_bypath (&entry, tree, paths[i]);

      if (rc == GIT_ENOTFOUND)
        continue;
      if (rc != 0 || git_tree_entry_type (entry) != GIT_OBJECT_BLOB
          || git_blob_lookup (&blob, git, git_tree_entry_id (entry)) != 0)
        return git_fail (error, BKT_ERROR_FAILED, paths[i]), NULL;
      g_hash_table_insert (files, g_strdup (paths[i]),
                           g_bytes_new (git_blob_rawcontent (blob), git_blob_rawsize (blob)));
    }
  git_oid_tostr (hex, sizeof hex, git_commit_id (commit));
  if (described != NULL)
    *described = g_strdup_printf ("%s (%.12s)", what, hex);
  return g_steal_pointer (&files);
}
