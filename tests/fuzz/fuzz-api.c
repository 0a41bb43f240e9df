/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Answers of the servers bkt talks to, which a network attacker or a
 * malicious mirror controls: extensions.gnome.org's extension-info,
 * the forge's (GitHub's) error and pull-request answers, and GitHub's
 * releases and tags lists, then fed on as bkt does (policy decisions,
 * asset choice).  The first byte picks the reader. */
#include "config.h"

#include "bkt-ego.h"
#include "bkt-forge.h"
#include "bkt-upstream.h"
#include "fuzz-common.h"

#define BASE "https://extensions.gnome.org"
#define UUID "dash-to-dock@micxgx.gmail.com"

static JsonObject *
upstream (const char *type, const char *pattern)
{
  JsonObject *u = json_object_new ();
  JsonObject *source = json_object_new ();
  JsonObject *pinned = json_object_new ();

  json_object_set_string_member (u, "name", "tool");
  json_object_set_string_member (source, "type", type);
  json_object_set_string_member (source, "repo", "acme/tool");
  if (pattern != NULL)
    json_object_set_string_member (source, "asset_pattern", pattern);
  json_object_set_object_member (u, "source", source);
  json_object_set_string_member (pinned, "version", "v1.2.3");
  json_object_set_object_member (u, "pinned", pinned);
  json_object_set_string_member (u, "policy", "minor");
  return u;
}

static void
github (GBytes *body, guint8 pick)
{
  gboolean tags = pick & 1, single = (pick >> 1) & 1;
  g_autoptr(JsonObject) fetched = bkt_upstream_parse_versions (body, tags, single, NULL);
  g_autoptr(JsonObject) up = upstream (tags ? "github-tags" : "github-release", "tool-*-linux.tar.gz");
  JsonArray *versions;

  if (fetched == NULL)
    return;
  json_object_unref (bkt_upstream_evaluate (up, fetched, (pick >> 2) & 1));
  versions = json_object_get_array_member (fetched, "versions");
  for (guint i = 0; i < json_array_get_length (versions); i++)
    {
      g_autoptr(GError) error = NULL;
      g_free (bkt_upstream_asset_url (up, json_array_get_object_element (versions, i), &error));
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GBytes) body = NULL;
  guint8 pick;

  fuzz_init ();
  if (size < 1)
    return 0;
  pick = data[0];
  body = g_bytes_new (data + 1, size - 1);
  switch (pick % 4)
    {
    case 0:
      {
        g_autoptr(BktEgoInfo) info = bkt_ego_parse_info (BASE, BASE "/extension-info/?uuid=" UUID, UUID,
                                                         (pick & 4) ? "45" : NULL, body, NULL);
        (void) info;
      }
      break;
    case 1:
      g_free (bkt_forge_reason (body));
      g_free (bkt_upstream_api_reason (body));
      break;
    case 2:
      {
        g_autoptr(JsonObject) o = bkt_forge_answer_object (body);
        (void) o;
      }
      break;
    default:
      github (body, pick >> 2);
      break;
    }
  return 0;
}
